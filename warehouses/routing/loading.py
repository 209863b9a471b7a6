"""Turn warehouse rows into the engine's inputs: candidates, destinations, service terms.

Every function here reads a bounded set of rows (the given locations, one postal code) in a
constant number of queries.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from warehouses.models import LocationOutage, PostalCode, ServiceLevel, Warehouse
from warehouses.routing.promise import delivery_date, ship_date_past_closures
from warehouses.routing.types import Candidate, Destination, Outage, ServiceTerms


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return number


def candidates_load(
    *,
    warehouses: Iterable[Warehouse],
    now: datetime,
    routed_today: dict[int, int] | None = None,
    is_pickup: bool = False,
    outages: dict[int, list[Outage]] | None = None,
) -> list[Candidate]:
    """Build candidates for the given locations with their current and future outages (read
    here unless given, as `location_outages` gives them)."""
    warehouses = list(warehouses)
    if outages is None:
        outages = location_outages(
            warehouse_ids=[warehouse.pk for warehouse in warehouses], now=now
        )
    routed_today = routed_today or {}
    return [
        Candidate(
            id=warehouse.pk,
            code=warehouse.code,
            priority=warehouse.priority,
            latitude=_float(warehouse.latitude),
            longitude=_float(warehouse.longitude),
            timezone=warehouse.timezone or "UTC",
            cutoff_time=warehouse.order_cutoff_time,
            handling_days=warehouse.handling_days,
            accepted_freight_classes=frozenset(warehouse.accepted_freight_classes or ()),
            ships_to=frozenset(code.upper() for code in warehouse.ships_to_countries or ()),
            daily_capacity=warehouse.daily_order_capacity,
            routed_today=routed_today.get(warehouse.pk, 0),
            outages=tuple(outages.get(warehouse.pk, ())),
            is_pickup=is_pickup,
        )
        for warehouse in warehouses
    ]


def location_outages(*, warehouse_ids: list[int], now: datetime) -> dict[int, list[Outage]]:
    """Each location's outages not over at `now`, by start (one query)."""
    outages = defaultdict(list)
    for outage in LocationOutage.objects.filter(
        warehouse_id__in=warehouse_ids, ends_at__gt=now
    ).order_by("starts_at"):
        outages[outage.warehouse_id].append(
            Outage(starts_at=outage.starts_at, ends_at=outage.ends_at, reason=outage.reason)
        )
    return dict(outages)


def destination_resolve(address: dict | None) -> Destination:
    """The address's own coordinates when given, else its postal code's from the table."""
    address = address or {}
    country = str(address.get("country") or "").upper()[:2]
    postal_code = str(address.get("postal_code") or "").strip()
    latitude, longitude = _float(address.get("latitude")), _float(address.get("longitude"))
    if (latitude is None or longitude is None) and country and postal_code:
        row = (
            PostalCode.objects.filter(
                country=country, postal_code=postal_code_normalize(postal_code)
            )
            .values_list("latitude", "longitude")
            .first()
        )
        latitude, longitude = (float(row[0]), float(row[1])) if row else (None, None)
    if latitude is None or longitude is None:
        latitude = longitude = None
    return Destination(
        country=country,
        region=str(address.get("region") or address.get("state") or "").upper(),
        postal_code=postal_code,
        latitude=latitude,
        longitude=longitude,
    )


def postal_code_normalize(postal_code: str) -> str:
    """Postal codes are compared upper-case without inner spaces ("sw1a 1aa" = "SW1A1AA")."""
    return "".join(postal_code.split()).upper()


def service_terms(service_level: ServiceLevel | None) -> ServiceTerms | None:
    if service_level is None:
        return None
    return ServiceTerms(
        code=service_level.code,
        transit_days=service_level.transit_days_max,
        accepted_freight_classes=frozenset(service_level.accepted_freight_classes or ()),
    )


def location_promise(
    *,
    warehouse: Warehouse,
    service_level: ServiceLevel | None,
    now: datetime,
    is_pickup: bool,
    closures: Iterable[Outage] = (),
) -> tuple[date, date | None]:
    """(ship date, delivery date) for units leaving `warehouse` now, past its scheduled
    `closures` (`location_outages`); no delivery date for a shipment without a carrier
    service."""
    shipped_on, _held_up = ship_date_past_closures(
        now=now,
        timezone_name=warehouse.timezone or "UTC",
        cutoff_time=warehouse.order_cutoff_time,
        handling_days=warehouse.handling_days,
        closures=tuple(closures),
    )
    if is_pickup:
        return shipped_on, shipped_on
    if service_level is None:  # no carrier service: the transit time is unknown
        return shipped_on, None
    return shipped_on, delivery_date(
        shipped_on=shipped_on, transit_days=service_level.transit_days_max
    )
