"""`manage.py load_postal_codes`: validate every row first, then upsert."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from warehouses.models import PostalCode
from warehouses.routing.loading import destination_resolve

pytestmark = pytest.mark.django_db


def write(tmp_path, text):
    path = tmp_path / "codes.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_inserts_and_updates(tmp_path):
    PostalCode.objects.create(country="US", postal_code="89501", latitude=1, longitude=1)
    path = write(tmp_path, "country,postal_code,latitude,longitude,place_name\n"
                           "us,89501,39.5296,-119.8138,Reno\n"
                           "GB,sw1a 1aa,51.501009,-0.141588,Westminster\n")
    call_command("load_postal_codes", path)
    rows = list(PostalCode.objects.order_by("country").values_list(
        "country", "postal_code", "latitude", "longitude", "place_name"))
    assert rows == [
        ("GB", "SW1A1AA", Decimal("51.501009"), Decimal("-0.141588"), "Westminster"),
        ("US", "89501", Decimal("39.529600"), Decimal("-119.813800"), "Reno"),
    ]
    destination = destination_resolve({"country": "GB", "postal_code": "SW1A 1AA"})
    assert (destination.latitude, destination.longitude) == (51.501009, -0.141588)
    own = destination_resolve({"country": "US", "postal_code": "89501", "latitude": "1.5",
                               "longitude": "2.5"})
    assert (own.latitude, own.longitude) == (1.5, 2.5)


def test_bad_rows_are_reported_and_nothing_is_loaded(tmp_path):
    path = write(tmp_path, "country,postal_code,latitude,longitude\n"
                           "US,89501,39.5,-119.8\n"
                           "USA,1,1,1\n"
                           "US,2,north,1\n"
                           "US,3,91,1\n")
    with pytest.raises(CommandError) as error:
        call_command("load_postal_codes", path)
    assert str(error.value) == (
        "3 bad row(s); nothing was loaded:\n"
        "row 3: country 'USA' is not a two-letter ISO code\n"
        "row 4: latitude and longitude must be numbers\n"
        "row 5: latitude must be within -90..90 and longitude within -180..180"
    )
    assert PostalCode.objects.count() == 0


def test_missing_columns_and_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"Missing column\(s\): latitude, longitude\."):
        call_command("load_postal_codes", write(tmp_path, "country,postal_code\nUS,1\n"))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_postal_codes", str(tmp_path / "absent.csv"))
    assert PostalCode.objects.count() == 0
