"""The routing engine: a pure function from demand, destination, candidates and rules to a plan.

It never reads the database. Filters reject whole locations (outage, capacity, destination)
or single products at a location (freight class); survivors are ranked by the channel's
strategies in order. One location that fills the whole demand always wins over a split; a
split happens only when the rules allow it, up to their maximum number of shipments.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from warehouses.routing.distance import great_circle_km
from warehouses.routing.promise import delivery_date, ship_date
from warehouses.routing.types import (
    STANDARD_FREIGHT,
    Allocation,
    Candidate,
    CandidateReport,
    DemandLine,
    Destination,
    Plan,
    Rules,
    ServiceTerms,
)

FAR_AWAY_KM = float("inf")
NO_STOCK = "no usable stock for this order"


def route(
    *,
    demand: Sequence[DemandLine],
    destination: Destination,
    candidates: Sequence[Candidate],
    available: dict[tuple[int, int], int],
    rules: Rules,
    now: datetime,
    service: ServiceTerms | None = None,
) -> Plan:
    """Choose where every demanded unit comes from.

    `available` maps (product id, location id) to free units. The plan never takes more than
    is available, and `plan.short` holds exactly the units per line it could not place.
    """
    needs: dict[int, int] = defaultdict(int)
    for line in demand:
        needs[line.product_id] += line.quantity
    freight = {line.product_id: line.freight_class or STANDARD_FREIGHT for line in demand}
    total = sum(needs.values())
    reports, usable, fillers, survivors = [], {}, [], []
    for candidate in candidates:
        report, stock = _judge(candidate, needs, freight, destination, available, rules, now)
        reports.append(report)
        if stock is None:
            continue
        if service is not None and rules.check_freight:
            _judge_service(report, stock, freight, service)
        report.coverable_units = _coverage(stock, needs)
        if not report.rejected and report.coverable_units == 0:
            report.rejected.append(NO_STOCK)
        if not report.rejected:
            usable[candidate.id] = stock
            survivors.append(candidate)
            if report.coverable_units == total:
                fillers.append(candidate)
    report_by_id = {report.location_id: report for report in reports}
    # A location that fills the whole order always beats a split, so only those are ranked
    # when there are any; otherwise every survivor is.
    contenders = fillers or survivors
    for candidate in contenders:
        _score(candidate, report_by_id[candidate.id], destination, rules, now, service)
    ranked = sorted(
        contenders, key=lambda candidate: _rank_key(candidate, report_by_id[candidate.id], rules)
    )
    for position, candidate in enumerate(ranked, start=1):
        report_by_id[candidate.id].rank = position
    taken, reason = _choose(ranked, usable, needs, report_by_id, rules)
    allocations, short = _assign_to_lines(demand, taken)
    for location_id in {allocation.location_id for allocation in allocations}:
        report_by_id[location_id].chosen = True
    return Plan(
        allocations=allocations,
        short=short,
        candidates=reports,
        strategies=tuple(rules.strategies),
        rules_version=rules.version,
        reason=reason,
    )


def _judge(candidate, needs, freight, destination, available, rules, now):
    """Apply the filters to one location; return its report and the stock it may use (None
    when it holds none of the order's products)."""
    location_id = candidate.id
    stock, notes = {}, []
    for product_id in needs:
        free = available.get((product_id, location_id), 0)
        if free <= 0:
            continue
        freight_class = freight[product_id]
        if (
            rules.check_freight
            and freight_class != STANDARD_FREIGHT
            and freight_class not in candidate.accepted_freight_classes
        ):
            notes.append(f"does not accept {freight_class} (product {product_id})")
            continue
        stock[product_id] = free
    report = CandidateReport(location_id=location_id, code=candidate.code, notes=notes)
    if not stock and not notes:
        report.rejected.append(NO_STOCK)
        return report, None
    if candidate.code in rules.excluded_locations:
        report.rejected.append("excluded by the channel's rules")
    if rules.check_outages:
        for outage in candidate.outages:
            if outage.starts_at <= now < outage.ends_at:
                report.rejected.append(
                    f"paused until {outage.ends_at.isoformat()}"
                    + (f": {outage.reason}" if outage.reason else "")
                )
    if (
        rules.check_capacity
        and candidate.daily_capacity is not None
        and candidate.routed_today >= candidate.daily_capacity
    ):
        report.rejected.append(
            f"daily capacity reached ({candidate.routed_today}/{candidate.daily_capacity})"
        )
    if rules.check_destination and not candidate.is_pickup and candidate.ships_to:
        region_code = f"{destination.country}-{destination.region}".upper()
        if destination.country.upper() not in candidate.ships_to and (
            region_code not in candidate.ships_to
        ):
            report.rejected.append(f"does not ship to {destination.country or 'this address'}")
    return report, stock


def _judge_service(report, stock, freight, service):
    """A product the order's carrier service cannot carry cannot be sent from anywhere."""
    for product_id, freight_class in freight.items():
        if freight_class != STANDARD_FREIGHT and freight_class not in (
            service.accepted_freight_classes
        ):
            if stock.get(product_id):
                report.notes.append(f"service {service.code} does not carry {freight_class}")
            stock[product_id] = 0


def _score(candidate, report, destination, rules, now, service):
    if destination.latitude is not None and candidate.latitude is not None:
        report.distance_km = great_circle_km(
            destination.latitude, destination.longitude, candidate.latitude, candidate.longitude
        )
    report.ship_date = ship_date(
        now=now,
        timezone_name=candidate.timezone,
        cutoff_time=candidate.cutoff_time,
        handling_days=candidate.handling_days,
    )
    transit = 0 if candidate.is_pickup or service is None else service.transit_days
    report.delivery_date = delivery_date(shipped_on=report.ship_date, transit_days=transit)


def _rank_key(candidate: Candidate, report: CandidateReport, rules: Rules) -> tuple:
    key = []
    for strategy in rules.strategies:
        if strategy == "priority":
            if candidate.code in rules.preferred_locations:
                key.append((0, rules.preferred_locations.index(candidate.code)))
            else:
                key.append((1, candidate.priority))
        elif strategy == "nearest":
            key.append(report.distance_km if report.distance_km is not None else FAR_AWAY_KM)
        elif strategy == "most_stock":
            key.append(-report.coverable_units)
        elif strategy == "earliest_promise":
            key.append(report.delivery_date.toordinal())
    key.append(candidate.code)
    return tuple(key)


def _choose(ranked, usable, needs, report_by_id, rules):
    """Return ({location id: {product id: units}}, reason) for the ranked survivors."""
    total = sum(needs.values())
    for candidate in ranked:
        if report_by_id[candidate.id].coverable_units == total:
            taken = {candidate.id: _take(usable[candidate.id], dict(needs))}
            return taken, f"{candidate.code} can fill the whole order"
    if not ranked:
        return {}, "no location can take this order"
    if not rules.allow_split or rules.max_shipments <= 1:
        best = max(ranked, key=lambda candidate: report_by_id[candidate.id].coverable_units)
        taken = {best.id: _take(usable[best.id], dict(needs))}
        return taken, f"no single location can fill the order and splits are off; {best.code} " \
            "fills the most"
    return _split(ranked, usable, needs, rules), "split: no single location can fill the order"


def _split(ranked, usable, needs, rules):
    remaining = {product: quantity for product, quantity in needs.items() if quantity > 0}
    taken = {}
    pool = [candidate for candidate in ranked if _coverage(usable[candidate.id], remaining)]
    while remaining and pool and len(taken) < rules.max_shipments:
        if "fewest_shipments" in rules.strategies:
            best = max(
                pool, key=lambda candidate: _coverage(usable[candidate.id], remaining)
            )  # max() keeps the first of equals, i.e. the better ranked
        else:
            best = next(
                (candidate for candidate in pool if _coverage(usable[candidate.id], remaining)),
                None,
            )
        if best is None or not _coverage(usable[best.id], remaining):
            break
        pool.remove(best)
        taken[best.id] = _take(usable[best.id], remaining)
    return taken


def _coverage(stock: dict[int, int], remaining: dict[int, int]) -> int:
    covered = 0
    for product, quantity in remaining.items():
        free = stock.get(product, 0)
        covered += free if free < quantity else quantity
    return covered


def _take(stock: dict[int, int], remaining: dict[int, int]) -> dict[int, int]:
    """Take what the location has of each remaining product; `remaining` shrinks in place."""
    taken = {}
    for product_id, quantity in list(remaining.items()):
        units = min(stock.get(product_id, 0), quantity)
        if units > 0:
            taken[product_id] = units
            remaining[product_id] = quantity - units
            if remaining[product_id] == 0:
                del remaining[product_id]
    return taken


def _assign_to_lines(demand, taken):
    """Spread each location's units of a product over the lines that asked for it, in order."""
    allocations, short = [], {}
    pools = defaultdict(list)
    for location_id, products in taken.items():
        for product_id, units in products.items():
            pools[product_id].append([location_id, units])
    for line in demand:
        missing = line.quantity
        for entry in pools[line.product_id]:
            if missing <= 0:
                break
            units = min(entry[1], missing)
            if units > 0:
                allocations.append(Allocation(line.key, line.product_id, entry[0], units))
                entry[1] -= units
                missing -= units
        if missing > 0:
            short[line.key] = short.get(line.key, 0) + missing
    return allocations, short
