"""Load postal-code centres (for distance-based routing) from a CSV file.

Columns: country, postal_code, latitude, longitude and optionally place_name. Every row is
checked first; one bad row stops the load with its row number and reason and nothing is
written. Existing codes are updated, new ones inserted, in batches.
"""

import csv
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from warehouses.models import PostalCode
from warehouses.routing.loading import postal_code_normalize

REQUIRED = ("country", "postal_code", "latitude", "longitude")
BATCH_SIZE = 5000
MAX_REPORTED_ERRORS = 50


def _parse(row: dict) -> tuple[PostalCode | None, str]:
    country = (row.get("country") or "").strip().upper()
    postal_code = postal_code_normalize(row.get("postal_code") or "")
    if len(country) != 2 or not country.isalpha():
        return None, f"country '{row.get('country')}' is not a two-letter ISO code"
    if not postal_code or len(postal_code) > 20:
        return None, "postal_code is empty or longer than 20 characters"
    try:
        latitude = Decimal((row.get("latitude") or "").strip())
        longitude = Decimal((row.get("longitude") or "").strip())
    except InvalidOperation:
        return None, "latitude and longitude must be numbers"
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, "latitude must be within -90..90 and longitude within -180..180"
    return PostalCode(
        country=country,
        postal_code=postal_code,
        latitude=latitude.quantize(Decimal("0.000001")),
        longitude=longitude.quantize(Decimal("0.000001")),
        place_name=(row.get("place_name") or "").strip()[:200],
    ), ""


class Command(BaseCommand):
    help = "Load postal-code coordinates from a CSV (country,postal_code,latitude,longitude)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header row).")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            errors, count = self._check(path)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from error
        if errors:
            raise CommandError(
                f"{len(errors)} bad row(s); nothing was loaded:\n" + "\n".join(errors)
            )
        with transaction.atomic():
            loaded = self._load(path)
        self.stdout.write(self.style.SUCCESS(f"Loaded {loaded} postal code(s) from {count} rows."))

    def _rows(self, path):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
            if missing:
                raise CommandError(f"Missing column(s): {', '.join(missing)}.")
            yield from enumerate(reader, start=2)

    def _check(self, path) -> tuple[list[str], int]:
        errors, count = [], 0
        try:
            for number, row in self._rows(path):
                count += 1
                _, problem = _parse(row)
                if problem and len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(f"row {number}: {problem}")
        except UnicodeDecodeError as error:
            raise CommandError("The file is not UTF-8 text.") from error
        if count == 0 and not errors:
            raise CommandError("The file has no data rows.")
        return errors, count

    def _load(self, path) -> int:
        batch: dict[tuple[str, str], PostalCode] = {}
        loaded = 0
        for _number, row in self._rows(path):
            postal_code, _ = _parse(row)
            batch[(postal_code.country, postal_code.postal_code)] = postal_code
            if len(batch) >= BATCH_SIZE:
                loaded += self._write(batch)
                batch = {}
        return loaded + (self._write(batch) if batch else 0)

    def _write(self, batch) -> int:
        PostalCode.objects.bulk_create(
            list(batch.values()),
            update_conflicts=True,
            unique_fields=["country", "postal_code"],
            update_fields=["latitude", "longitude", "place_name"],
        )
        return len(batch)
