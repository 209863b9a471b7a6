"""The routing engine: a pure function from demand, destination, candidates and rules to a plan.

It never reads the database. Filters reject whole locations (outage, capacity, destination)
or single products at a location (freight class); survivors are ranked by the channel's
strategies in order. One location that fills the whole demand always wins over a split; a
split happens only when the rules allow it, up to their maximum number of shipments.

The decision reads each location's units of the order's products once and works out ranking
values only for the locations it compares. What each location held is kept with the plan, so
the explanation of every candidate (`plan.candidates`) is built from the same facts when it is
first asked for, however the stock changes afterwards.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from warehouses.routing.reports import candidate_reports
from warehouses.routing.terms import OrderTerms
from warehouses.routing.types import (
    Allocation,
    Candidate,
    DemandLine,
    Destination,
    Plan,
    Rules,
    ServiceTerms,
)


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
    terms = OrderTerms(
        demand=demand, destination=destination, rules=rules, now=now, service=service
    )
    holdings, survivors, fillers = _judge_all(terms, candidates, available)
    # A location that fills the whole order always beats a split.
    if fillers:
        candidate, stock, _covered = terms.best(fillers)
        taken = {candidate.id: _take(stock, dict(terms.needs))}
        reason = f"{candidate.code} can fill the whole order"
    else:
        taken, reason = _choose_partial(terms, survivors)
    allocations, short = _assign_to_lines(demand, taken)
    return Plan(
        allocations=allocations,
        short=short,
        strategies=tuple(rules.strategies),
        rules_version=rules.version,
        reason=reason,
        report_builder=partial(
            candidate_reports,
            terms=terms,
            holdings=holdings,
            chosen={allocation.location_id for allocation in allocations},
        ),
    )


def _judge_all(terms: OrderTerms, candidates, available):
    """Return (holdings, survivors, fillers).

    Holdings pair every candidate with the units it holds of the order's products (None when
    it holds none); survivors are (candidate, usable stock, units covered) for the locations
    no rule rejects and that cover something; fillers are those covering the whole order.
    """
    needs = list(terms.needs.items())
    total, restricted = terms.total, terms.restricted
    screened = terms.screened_rules
    get = available.get
    holdings, survivors, fillers = [], [], []
    for candidate in candidates:
        location_id = candidate.id
        held, covered = None, 0
        for product_id, quantity in needs:
            free = get((product_id, location_id), 0)
            if free > 0:
                if held is None:
                    held = {product_id: free}
                else:
                    held[product_id] = free
                covered += free if free < quantity else quantity
        holdings.append((candidate, held))
        if held is None:
            continue
        if (
            candidate.daily_capacity is not None
            or candidate.ships_to
            or candidate.outages
            or screened
        ) and terms.is_rejected(candidate):
            continue
        stock = held
        if restricted and not restricted.keys().isdisjoint(held):
            stock, _notes = terms.usable_stock(candidate, held)
            covered = terms.coverage(stock)
        if covered:
            entry = (candidate, stock, covered)
            survivors.append(entry)
            if covered == total:
                fillers.append(entry)
    return holdings, survivors, fillers


def _choose_partial(terms: OrderTerms, survivors):
    """No location fills the order: return ({location id: {product id: units}}, reason)."""
    rules = terms.rules
    if not survivors:
        return {}, "no location can take this order"
    if not rules.allow_split or rules.max_shipments <= 1:
        most = max(covered for _candidate, _stock, covered in survivors)
        best, stock, _covered = terms.best([entry for entry in survivors if entry[2] == most])
        taken = {best.id: _take(stock, dict(terms.needs))}
        reason = "no single location can fill the order and splits are off"
        return taken, f"{reason}; {best.code} fills the most"
    return _split(terms, survivors), "split: no single location can fill the order"


def _split(terms: OrderTerms, survivors):
    """Take from one location after another, best ranked first (or, with fewest_shipments,
    the one covering most of what is left, ties to the better ranked)."""
    rules = terms.rules
    remaining = {product: quantity for product, quantity in terms.needs.items() if quantity > 0}
    most_first = "fewest_shipments" in rules.strategies
    pool, taken = list(survivors), {}
    # Before anything is taken each location covers what it was judged to cover.
    coverages = [covered for _candidate, _stock, covered in pool]
    judged_on_remaining = len(remaining) == len(terms.needs)
    while remaining and pool and len(taken) < rules.max_shipments:
        if taken or not judged_on_remaining:
            coverages = [_coverage(stock, remaining) for _candidate, stock, _covered in pool]
        most = max(coverages)
        if most <= 0:
            break
        threshold = most if most_first else 1
        best = terms.best(
            [
                entry
                for entry, coverage in zip(pool, coverages, strict=True)
                if coverage >= threshold
            ]
        )
        pool = [entry for entry in pool if entry is not best]
        taken[best[0].id] = _take(best[1], remaining)
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
    pools: dict[int, list] = {}
    for location_id, products in taken.items():
        for product_id, units in products.items():
            pools.setdefault(product_id, []).append([location_id, units])
    for line in demand:
        missing = line.quantity
        for entry in pools.get(line.product_id, ()):
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
