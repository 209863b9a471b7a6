"""The routing engine: a pure function from demand, destination, candidates and rules to a plan.

It never reads the database. Filters reject whole locations (outage, capacity, destination)
or single products at a location (freight class); survivors are ranked by the channel's
strategies in order (with the outage rule on, those a scheduled closure delays come last).
One location that fills the whole demand always wins over a split; a split happens only when
the rules allow it, up to their maximum number of shipments.

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
    locations = _Locations(terms, candidates, terms.usable_columns(candidates, held))
    # A location that fills the whole order always beats a split.
    fillers = locations.fillers()
    if fillers:
        candidate, position, _covered = terms.best(fillers)
        taken = {candidate.id: locations.take(position, list(terms.quantities))}
        reason = f"{candidate.code} can fill the whole order"
    else:
        taken, reason = _choose_partial(terms, locations)
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


class _Locations:
    """The candidates with the units of each product each may send (`columns`, one list per
    product); the rules judge a location only when it is compared with others."""

    def __init__(self, terms: OrderTerms, candidates: tuple[Candidate, ...], columns):
        self.terms = terms
        self.candidates = candidates
        self.columns = columns
        self.verdicts: dict[int, bool] = {}
        self.covers: list[int] | None = None

    def fillers(self) -> list[tuple]:
        """(candidate, position, units covered) for every admitted location that may send the
        whole order, in the given order."""
        terms = self.terms
        if not terms.total or not self.candidates:
            return []
        positions = None
        for column, quantity in zip(self.columns, terms.quantities, strict=True):
            if quantity <= 0:
                continue
            if positions is None:
                positions = compress(range(len(column)), column)
            positions = [position for position in positions if column[position] >= quantity]
        return self.entries(positions, terms.total)

    def coverages(self, remaining) -> list[int]:
        """Units of `remaining` (units per product) each location may send."""
        coverages = [0] * len(self.candidates)
        for column, quantity in zip(self.columns, remaining, strict=True):
            if quantity <= 0:
                continue
            # Only the locations holding the product add to its coverage.
            for position in compress(range(len(column)), column):
                free = column[position]
                coverages[position] += free if free < quantity else quantity
        if self.covers is None and remaining == list(self.terms.quantities):
            self.covers = list(coverages)
        return coverages

    def entries(self, positions, covered=None) -> list[tuple]:
        """(candidate, position, units of the order covered) for the admitted positions."""
        if covered is None and self.covers is None:
            self.coverages(list(self.terms.quantities))
        candidates, verdicts, terms = self.candidates, self.verdicts, self.terms
        screened = terms.screened_rules
        entries = []
        for position in positions:
            candidate = candidates[position]
            admitted = verdicts.get(position)
            if admitted is None:
                admitted = not (
                    (
                        candidate.daily_capacity is not None
                        or candidate.ships_to
                        or candidate.outages
                        or screened
                    )
                    and terms.is_rejected(candidate)
                )
                verdicts[position] = admitted
            if admitted:
                entries.append(
                    (candidate, position, covered if covered is not None else self.covers[position])
                )
        return entries

    def most_covering(self, coverages: list[int]) -> list[tuple]:
        """Entries for the admitted locations covering the most (by `coverages`); empty when
        no admitted location covers anything. Positions found rejected are zeroed."""
        positions = range(len(coverages))
        while coverages:
            most = max(coverages)
            if most <= 0:
                break
            level = list(compress(positions, map(most.__eq__, coverages)))
            entries = self.entries(level)
            if entries:
                return entries
            for position in level:
                coverages[position] = 0
        return []

    def take(self, position: int, remaining: list[int]) -> dict[int, int]:
        """Take what the location has of each remaining product; `remaining` (units per
        product) shrinks in place."""
        taken = {}
        for index, product_id in enumerate(self.terms.products):
            units = min(self.columns[index][position], remaining[index])
            if units > 0:
                taken[product_id] = units
                remaining[index] -= units
        return taken


def _choose_partial(terms: OrderTerms, locations: _Locations):
    """No location fills the order: return ({location id: {product id: units}}, reason)."""
    rules = terms.rules
    if not rules.allow_split or rules.max_shipments <= 1:
        contenders = locations.most_covering(locations.coverages(list(terms.quantities)))
        if not contenders:
            return {}, "no location can take this order"
        best, position, _covered = terms.best(contenders)
        taken = {best.id: locations.take(position, list(terms.quantities))}
        reason = "no single location can fill the order and splits are off"
        return taken, f"{reason}; {best.code} fills the most"
    taken = _split(terms, locations)
    if not taken:
        return {}, "no location can take this order"
    return taken, "split: no single location can fill the order"


def _split(terms: OrderTerms, locations: _Locations):
    """Take from one location after another, best ranked first (or, with fewest_shipments,
    the one covering most of what is left, ties to the better ranked)."""
    rules = terms.rules
    remaining = list(terms.quantities)
    most_first = "fewest_shipments" in rules.strategies
    taken, used = {}, []
    while len(taken) < rules.max_shipments and any(remaining):
        coverages = locations.coverages(remaining)
        for position in used:
            coverages[position] = 0
        if most_first:
            contenders = locations.most_covering(coverages)
        else:
            contenders = locations.entries(compress(range(len(coverages)), coverages))
        if not contenders:
            break
        best, position, _covered = terms.best(contenders)
        used.append(position)
        taken[best.id] = locations.take(position, remaining)
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
