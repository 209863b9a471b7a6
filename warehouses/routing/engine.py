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
from itertools import compress, product, repeat
from operator import attrgetter

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
    candidates = tuple(candidates)
    held = _read_stock(terms, candidates, available)
    columns = terms.usable_columns(candidates, held)
    # A location that fills the whole order always beats a split, so the others are judged
    # only when no location can fill it.
    fillers = _judge_fillers(terms, candidates, columns)
    if fillers:
        candidate, stock, _covered = terms.best(fillers)
        taken = {candidate.id: _take(terms.products, stock, list(terms.quantities))}
        reason = f"{candidate.code} can fill the whole order"
    else:
        survivors = _judge_survivors(terms, candidates, columns)
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
            candidates=candidates,
            columns=held,
            chosen={allocation.location_id for allocation in allocations},
        ),
    )


_location_id = attrgetter("id")


def _read_stock(terms: OrderTerms, candidates: tuple[Candidate, ...], available):
    """Return the free units of each product of the order (in `terms.products` order) at each
    candidate (in the given order), none below zero."""
    count = len(candidates)
    if not count:
        return [[] for _product_id in terms.products]
    # One pass without a Python-level loop: (product, location) keys, product by product.
    keys = product(terms.products, map(_location_id, candidates))
    units = list(map(available.get, keys, repeat(0)))
    if units and min(units) < 0:
        units = [free if free > 0 else 0 for free in units]
    return [units[start : start + count] for start in range(0, len(units), count)]


def _judge_fillers(terms: OrderTerms, candidates, columns) -> list[tuple]:
    """(candidate, units per product, units covered) for every location no rule rejects that
    may send the whole order (`columns` holds the units each may send), in the given order."""
    if not terms.total:
        return []
    holds_enough = [
        map(quantity.__le__, column)
        for column, quantity in zip(columns, terms.quantities, strict=True)
    ]
    if len(holds_enough) == 1:
        fills = holds_enough[0]
    else:
        fills = map(all, zip(*holds_enough, strict=True))
    positions = compress(range(len(candidates)), fills)
    return _judge(terms, candidates, columns, positions, filling=True)


def _judge_survivors(terms: OrderTerms, candidates, columns) -> list[tuple]:
    """(candidate, units per product, units covered) for every location no rule rejects that
    may send part of the order (`columns` holds the units each may send), in the given order."""
    if not terms.total:
        return []
    covered_per_product = [
        map(min, column, repeat(quantity))
        for column, quantity in zip(columns, terms.quantities, strict=True)
    ]
    covers = list(map(sum, zip(*covered_per_product, strict=True)))
    positions = compress(range(len(candidates)), covers)
    return _judge(terms, candidates, columns, positions, covers=covers, filling=False)


def _judge(terms: OrderTerms, candidates, columns, positions, *, filling: bool, covers=None):
    total = terms.total
    rows = list(zip(*columns, strict=True))
    screened = terms.screened_rules
    entries = []
    for position in positions:
        candidate = candidates[position]
        if (
            candidate.daily_capacity is not None
            or candidate.ships_to
            or candidate.outages
            or screened
        ) and terms.is_rejected(candidate):
            continue
        entries.append((candidate, rows[position], total if filling else covers[position]))
    return entries


def _choose_partial(terms: OrderTerms, survivors):
    """No location fills the order: return ({location id: {product id: units}}, reason)."""
    rules = terms.rules
    if not survivors:
        return {}, "no location can take this order"
    if not rules.allow_split or rules.max_shipments <= 1:
        most = max(covered for _candidate, _stock, covered in survivors)
        best, stock, _covered = terms.best([entry for entry in survivors if entry[2] == most])
        taken = {best.id: _take(terms.products, stock, list(terms.quantities))}
        reason = "no single location can fill the order and splits are off"
        return taken, f"{reason}; {best.code} fills the most"
    return _split(terms, survivors), "split: no single location can fill the order"


def _split(terms: OrderTerms, survivors):
    """Take from one location after another, best ranked first (or, with fewest_shipments,
    the one covering most of what is left, ties to the better ranked)."""
    rules = terms.rules
    remaining = list(terms.quantities)
    most_first = "fewest_shipments" in rules.strategies
    pool, taken = list(survivors), {}
    # Before anything is taken each location covers what it was judged to cover.
    coverages = [covered for _candidate, _stock, covered in pool]
    while pool and len(taken) < rules.max_shipments and any(remaining):
        if taken:
            coverages = [sum(map(min, stock, remaining)) for _candidate, stock, _covered in pool]
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
        taken[best[0].id] = _take(terms.products, best[1], remaining)
    return taken


def _take(products, stock, remaining: list[int]) -> dict[int, int]:
    """Take what the location has of each remaining product (`stock` and `remaining` are
    units per product in `products` order); `remaining` shrinks in place."""
    taken = {}
    for position, product_id in enumerate(products):
        units = min(stock[position], remaining[position])
        if units > 0:
            taken[product_id] = units
            remaining[position] -= units
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
