"""The values the routing engine reads and returns: plain data, no database rows."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

STANDARD_FREIGHT = "standard"
# How a candidate's report begins when it does not ship to the order's destination.
SHIPS_ELSEWHERE = "does not ship to"


@dataclass(frozen=True)
class DemandLine:
    """Units of one product an order line still needs (`key` is the line id)."""

    key: int | str
    product_id: int
    sku: str
    quantity: int
    freight_class: str = STANDARD_FREIGHT


@dataclass(frozen=True)
class Destination:
    """Where the parcel goes; coordinates when the address or a postal-code table gave them."""

    country: str = ""
    region: str = ""
    postal_code: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Outage:
    """A location paused between two aware datetimes."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Candidate:
    """A location that could fill the order, with what the rules need to judge it."""

    id: int
    code: str
    priority: int = 100
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = "UTC"
    cutoff_time: time | None = None
    handling_days: int = 0
    accepted_freight_classes: frozenset[str] = frozenset()
    ships_to: frozenset[str] = frozenset()
    daily_capacity: int | None = None
    routed_today: int = 0
    outages: tuple[Outage, ...] = ()
    is_pickup: bool = False


@dataclass(frozen=True)
class ServiceTerms:
    """The carrier service the order ships with: its transit days and freight it carries."""

    code: str
    transit_days: int
    accepted_freight_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rules:
    """A channel's routing rules: ranking strategies in order, filters, split policy."""

    strategies: tuple[str, ...] = ("priority",)
    allow_split: bool = True
    max_shipments: int = 3
    check_freight: bool = True
    check_destination: bool = True
    check_capacity: bool = True
    check_outages: bool = True
    excluded_locations: frozenset[str] = frozenset()
    preferred_locations: tuple[str, ...] = ()
    version: int = 0


@dataclass(frozen=True)
class Allocation:
    """Take `quantity` units of a product at a location for one demand line."""

    line_key: int | str
    product_id: int
    location_id: int
    quantity: int


@dataclass(slots=True)
class CandidateReport:
    """Why a location was or was not used: rejection reasons, scores and its promise."""

    location_id: int
    code: str
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    coverable_units: int = 0
    distance_km: float | None = None
    ship_date: date | None = None
    delivery_date: date | None = None
    rank: int | None = None
    chosen: bool = False

    def as_dict(self) -> dict:
        return {
            "location": self.code,
            "rejected": list(self.rejected),
            "notes": list(self.notes),
            "coverable_units": self.coverable_units,
            "distance_km": round(self.distance_km, 1) if self.distance_km is not None else None,
            "ship_date": self.ship_date.isoformat() if self.ship_date else None,
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "rank": self.rank,
            "chosen": self.chosen,
        }


@dataclass
class Plan:
    """The engine's answer: allocations, what is short per line, and the explanation.

    `candidates` (a report per candidate location) is built by `report_builder` the first time
    it is read.
    """

    allocations: list[Allocation]
    short: dict[int | str, int]
    strategies: tuple[str, ...]
    rules_version: int
    reason: str = ""
    report_builder: Callable[[], list[CandidateReport]] = field(
        default=list, repr=False, compare=False
    )
    _reports: list[CandidateReport] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def candidates(self) -> list[CandidateReport]:
        """Every candidate location's report: why it was rejected, its scores and its rank."""
        if self._reports is None:
            self._reports = self.report_builder()
        return self._reports

    @property
    def destination_unserved(self) -> bool:
        """Whether no candidate location ships to the destination (so no stock ever could)."""
        return bool(self.candidates) and all(
            any(reason.startswith(SHIPS_ELSEWHERE) for reason in report.rejected)
            for report in self.candidates
        )

    @property
    def location_ids(self) -> list[int]:
        return list(dict.fromkeys(allocation.location_id for allocation in self.allocations))

    @property
    def is_complete(self) -> bool:
        return not self.short

    @property
    def is_split(self) -> bool:
        return len(self.location_ids) > 1

    def report_for(self, location_id: int) -> CandidateReport | None:
        return next(
            (report for report in self.candidates if report.location_id == location_id), None
        )

    def promise(self) -> tuple[date | None, date | None]:
        """The order's promise: the latest ship and delivery date over the chosen locations."""
        chosen = [self.report_for(location_id) for location_id in self.location_ids]
        ship_dates = [report.ship_date for report in chosen if report and report.ship_date]
        deliveries = [report.delivery_date for report in chosen if report and report.delivery_date]
        return (max(ship_dates, default=None), max(deliveries, default=None))

    def explain(self) -> dict:
        """A JSON-ready account of the decision (stored and shown in the admin and API)."""
        codes = {report.location_id: report.code for report in self.candidates}
        ship_date, delivery_date = self.promise()
        return {
            "strategies": list(self.strategies),
            "rules_version": self.rules_version,
            "reason": self.reason,
            "locations": [codes.get(location_id) for location_id in self.location_ids],
            "allocations": [
                {
                    "line": allocation.line_key,
                    "location": codes.get(allocation.location_id),
                    "quantity": allocation.quantity,
                }
                for allocation in self.allocations
            ],
            "short": {str(key): units for key, units in self.short.items()},
            "promised_ship_date": ship_date.isoformat() if ship_date else None,
            "promised_delivery_date": delivery_date.isoformat() if delivery_date else None,
            "candidates": [report.as_dict() for report in self.candidates],
        }
