"""What one order asks of every location: the rules' filters and ranking, worked out once.

Both the decision (`engine`) and its explanation (`reports`) judge locations through these
methods, so a report always states the reasons the decision acted on.

Outages: a location paused now is rejected. One closing before it can ship the order has its
ship date moved past the closure (`promise`); with the outage rule on, it then ranks after
every location a closure does not delay, and is rejected when it stays closed past
`CLOSURE_HORIZON`. The promise counts closures whether the rule is on or off: a date inside
a closure would be broken.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache

from warehouses.routing.distance import great_circle_km
from warehouses.routing.promise import delivery_date, ship_date, ship_date_past_closures
from warehouses.routing.types import (
    SHIPS_ELSEWHERE,
    STANDARD_FREIGHT,
    Candidate,
    DemandLine,
    Destination,
    Outage,
    Rules,
    ServiceTerms,
)

FAR_AWAY_KM = float("inf")
NO_STOCK = "no usable stock for this order"
# Ranking strategies that order locations by a value of their own ("fewest_shipments" acts
# only when the order is split); the location code breaks the remaining ties.
KEYED_STRATEGIES = frozenset({"priority", "nearest", "most_stock", "earliest_promise"})
# With the outage rule on, locations a scheduled closure delays rank after all others, before
# the channel's strategies apply (not a strategy a channel chooses).
ON_TIME_FIRST = "on_time_first"
# A location that stays closed past this long is rejected rather than promising that far out.
CLOSURE_HORIZON = timedelta(days=30)
_UNKNOWN = object()


@lru_cache(maxsize=64)
def _ranking(strategies: tuple[str, ...], check_outages: bool) -> tuple[str, ...]:
    keyed = tuple(name for name in strategies if name in KEYED_STRATEGIES)
    return (ON_TIME_FIRST, *keyed) if check_outages else keyed


class OrderTerms:
    """One order's demand, destination, rules and moment, with the per-location judgements."""

    def __init__(
        self,
        *,
        demand: Sequence[DemandLine],
        destination: Destination,
        rules: Rules,
        now: datetime,
        service: ServiceTerms | None,
    ):
        needs: dict[int, int] = {}
        freight: dict[int, str] = {}
        for line in demand:
            if line.quantity < 0:
                raise ValueError(f"Line {line.key} asks for a negative quantity.")
            needs[line.product_id] = needs.get(line.product_id, 0) + line.quantity
            freight[line.product_id] = line.freight_class
        self.needs = needs
        # The order's products and the units of each, in the order they were first asked for;
        # a location's stock is read as units per product in this order.
        self.products = tuple(needs)
        self.quantities = tuple(needs.values())
        self.total = sum(self.quantities)
        self.destination = destination
        self.rules = rules
        self.now = now
        self.service = service
        # Products a location may refuse by freight class, and those the carrier service
        # cannot take from anywhere (a subset of them).
        self.restricted: dict[int, str] = {}
        self.uncarried: list[tuple[int, str]] = []
        # (position in `products`, freight class, whether the service carries it) for each
        # product a location or the service may refuse.
        self.restricted_positions: tuple[tuple[int, str, bool], ...] = ()
        if rules.check_freight and any(
            freight_class and freight_class != STANDARD_FREIGHT
            for freight_class in freight.values()
        ):
            self._restrict(freight, service)
        self.country = destination.country.upper()
        self.region_code = f"{destination.country}-{destination.region}".upper()
        # Whether a location without capacity, destination or outage data can be rejected.
        self.screened_rules = bool(rules.excluded_locations)
        self.ranking = _ranking(tuple(rules.strategies), rules.check_outages)
        # (ship date, delivery date) and the closures that moved the ship date, per kind.
        self._promises: dict[tuple, tuple[tuple[date, date], tuple[Outage, ...]]] = {}
        self._distances: dict[int, float | None] = {}

    def _restrict(self, freight: dict[int, str], service: ServiceTerms | None) -> None:
        self.restricted = {
            product_id: freight_class
            for product_id, freight_class in freight.items()
            if freight_class and freight_class != STANDARD_FREIGHT
        }
        if service is not None:
            self.uncarried = [
                (product_id, freight_class)
                for product_id, freight_class in self.restricted.items()
                if freight_class not in service.accepted_freight_classes
            ]
        uncarried = dict(self.uncarried)
        self.restricted_positions = tuple(
            (position, self.restricted[product_id], product_id not in uncarried)
            for position, product_id in enumerate(self.products)
            if product_id in self.restricted
        )

    def usable_stock(self, candidate: Candidate, held: dict[int, int]):
        """Return (units the location may send per product, notes on what it may not) from
        `held`, the units it holds of the order's products."""
        stock, notes = {}, []
        restricted = self.restricted
        for product_id, free in held.items():
            freight_class = restricted.get(product_id)
            if freight_class is not None and (
                freight_class not in candidate.accepted_freight_classes
            ):
                notes.append(f"does not accept {freight_class} (product {product_id})")
                continue
            stock[product_id] = free
        for product_id, freight_class in self.uncarried:
            if stock.get(product_id):
                notes.append(f"service {self.service.code} does not carry {freight_class}")
            stock[product_id] = 0
        return stock, notes

    def held(self, frees: tuple[int, ...]) -> dict[int, int]:
        """{product id: units} for the products a location holds, from its units per product."""
        return {
            product_id: free
            for product_id, free in zip(self.products, frees, strict=True)
            if free > 0
        }

    def usable_columns(self, candidates: Sequence[Candidate], columns: list[list[int]]):
        """The units of each product each candidate may send (`usable_stock` for every
        candidate at once), from the units they hold (`columns`, one list per product)."""
        if not self.restricted_positions:
            return columns
        usable = list(columns)
        for position, freight_class, is_carried in self.restricted_positions:
            if not is_carried:
                usable[position] = [0] * len(candidates)
                continue
            usable[position] = [
                free if freight_class in candidate.accepted_freight_classes else 0
                for free, candidate in zip(columns[position], candidates, strict=True)
            ]
        return usable

    def coverage(self, stock: dict[int, int]) -> int:
        """Units of the order the stock covers."""
        covered, needs = 0, self.needs
        for product_id, free in stock.items():
            quantity = needs[product_id]
            covered += free if free < quantity else quantity
        return covered

    def is_rejected(self, candidate: Candidate) -> bool:
        """Whether a rule keeps the whole location out (`rejections` says why): its daily
        capacity, the destination, an outage under way or one lasting past the horizon, or
        the channel's exclusions."""
        rules = self.rules
        if (
            candidate.daily_capacity is not None
            and rules.check_capacity
            and (candidate.routed_today >= candidate.daily_capacity)
        ):
            return True
        if candidate.ships_to and self._ships_elsewhere(candidate):
            return True
        if (
            candidate.outages
            and rules.check_outages
            and (self._paused_by(candidate) or self._closed_past_horizon(candidate))
        ):
            return True
        return bool(rules.excluded_locations) and candidate.code in rules.excluded_locations

    def rejections(self, candidate: Candidate) -> list[str]:
        """Every reason a rule keeps the whole location out, in a stable order."""
        rules, rejected = self.rules, []
        if candidate.code in rules.excluded_locations:
            rejected.append("excluded by the channel's rules")
        if rules.check_outages and candidate.outages:
            paused = self._paused_by(candidate)
            for outage in paused:
                rejected.append(f"paused until {_until(outage)}")
            closed = None if paused else self._closed_past_horizon(candidate)
            if closed is not None:
                rejected.append(f"closed until {_until(closed)}")
        if (
            rules.check_capacity
            and candidate.daily_capacity is not None
            and candidate.routed_today >= candidate.daily_capacity
        ):
            rejected.append(
                f"daily capacity reached ({candidate.routed_today}/{candidate.daily_capacity})"
            )
        rejected.extend(self.destination_rejection(candidate))
        return rejected

    def destination_rejection(self, candidate: Candidate) -> list[str]:
        """The reason the location cannot serve the destination, if it cannot."""
        if self._ships_elsewhere(candidate):
            return [f"{SHIPS_ELSEWHERE} {self.destination.country or 'this address'}"]
        return []

    def _paused_by(self, candidate: Candidate) -> list:
        now = self.now
        return [outage for outage in candidate.outages if outage.starts_at <= now < outage.ends_at]

    def _closed_past_horizon(self, candidate: Candidate) -> Outage | None:
        """The closure the location reopens from, when that is past the horizon."""
        delay = self.closure_delay(candidate)
        if not delay:
            return None
        last = max(delay, key=lambda outage: outage.ends_at)
        return last if last.ends_at > self.now + CLOSURE_HORIZON else None

    def closure_delay(self, candidate: Candidate) -> tuple[Outage, ...]:
        """The scheduled closures that move the location's ship date (none for most)."""
        if not candidate.outages:
            return ()
        return self._promise(candidate)[1]

    def closure_notes(self, candidate: Candidate) -> list[str]:
        """Why the location ships later than it would without its closures."""
        return [
            f"closed until {_until(outage)}; ships after it"
            for outage in self.closure_delay(candidate)
        ]

    def _ships_elsewhere(self, candidate: Candidate) -> bool:
        ships_to = candidate.ships_to
        return (
            self.rules.check_destination
            and bool(ships_to)
            and not candidate.is_pickup
            and self.country not in ships_to
            and self.region_code not in ships_to
        )

    def distance_km(self, candidate: Candidate) -> float | None:
        """Great-circle distance from the location to the destination, when both are known."""
        distance = self._distances.get(candidate.id, _UNKNOWN)
        if distance is _UNKNOWN:
            distance = None
            destination = self.destination
            if destination.latitude is not None and candidate.latitude is not None:
                distance = great_circle_km(
                    destination.latitude,
                    destination.longitude,
                    candidate.latitude,
                    candidate.longitude,
                )
            self._distances[candidate.id] = distance
        return distance

    def promise(self, candidate: Candidate) -> tuple[date, date]:
        """(ship date, delivery date) for units leaving the location now, past its scheduled
        closures."""
        return self._promise(candidate)[0]

    def _promise(self, candidate: Candidate):
        # Locations share time zones, cutoffs and handling days: one answer per kind.
        kind = (
            candidate.timezone,
            candidate.cutoff_time,
            candidate.handling_days,
            candidate.is_pickup,
            candidate.outages,
        )
        known = self._promises.get(kind)
        if known is None:
            known = self._work_out_promise(candidate)
            self._promises[kind] = known
        return known

    def _work_out_promise(self, candidate: Candidate):
        shipped_on = ship_date(
            now=self.now,
            timezone_name=candidate.timezone,
            cutoff_time=candidate.cutoff_time,
            handling_days=candidate.handling_days,
        )
        delay = ()
        if candidate.outages:
            past_closures, held_up = ship_date_past_closures(
                now=self.now,
                timezone_name=candidate.timezone,
                cutoff_time=candidate.cutoff_time,
                handling_days=candidate.handling_days,
                closures=candidate.outages,
            )
            if past_closures != shipped_on:
                shipped_on, delay = past_closures, held_up
        service = self.service
        transit = 0 if candidate.is_pickup or service is None else service.transit_days
        return (shipped_on, delivery_date(shipped_on=shipped_on, transit_days=transit)), delay

    def rank_values(self, strategy: str, entries) -> list:
        """The values of (candidate, stock, units covered) entries under one ranking strategy
        (lower ranks first)."""
        if strategy == "priority":
            preferred = self.rules.preferred_locations
            if not preferred:
                return [(1, entry[0].priority) for entry in entries]
            return [
                (0, preferred.index(entry[0].code))
                if entry[0].code in preferred
                else (1, entry[0].priority)
                for entry in entries
            ]
        if strategy == "nearest":
            values, known = [], self._distances
            for entry in entries:
                distance = known.get(entry[0].id, _UNKNOWN)
                if distance is _UNKNOWN:
                    distance = self.distance_km(entry[0])
                values.append(FAR_AWAY_KM if distance is None else distance)
            return values
        if strategy == "most_stock":
            return [-entry[2] for entry in entries]
        if strategy == ON_TIME_FIRST:
            return [
                1 if entry[0].outages and self.closure_delay(entry[0]) else 0 for entry in entries
            ]
        return [self.promise(entry[0])[1].toordinal() for entry in entries]

    def rank_key(self, candidate: Candidate, covered: int) -> tuple:
        """The full ranking key: every strategy in order, then the location code."""
        entry = [(candidate, None, covered)]
        values = [self.rank_values(strategy, entry)[0] for strategy in self.ranking]
        return (*values, candidate.code)

    def best(self, contenders: list[tuple]) -> tuple:
        """The best ranked of (candidate, stock, covered) entries: the first whose rank key is
        lowest, found strategy by strategy so later values are worked out only for ties."""
        for strategy in self.ranking:
            if len(contenders) == 1:
                return contenders[0]
            values = self.rank_values(strategy, contenders)
            lowest = min(values)
            contenders = [
                entry for entry, value in zip(contenders, values, strict=True) if value == lowest
            ]
        if len(contenders) > 1:
            code = min(entry[0].code for entry in contenders)
            contenders = [entry for entry in contenders if entry[0].code == code]
        return contenders[0]


def _until(outage: Outage) -> str:
    return outage.ends_at.isoformat() + (f": {outage.reason}" if outage.reason else "")
