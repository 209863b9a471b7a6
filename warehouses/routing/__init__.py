"""Order fulfillment logic: choose the locations that fill an order, and explain why.

`route()` is pure (no database); `warehouses.routing.loading` turns rows into its inputs.
"""

from warehouses.routing.engine import route
from warehouses.routing.rules import STRATEGIES, rules_problems
from warehouses.routing.types import (
    Allocation,
    Candidate,
    CandidateReport,
    DemandLine,
    Destination,
    Outage,
    Plan,
    Rules,
    ServiceTerms,
)

__all__ = [
    "STRATEGIES",
    "Allocation",
    "Candidate",
    "CandidateReport",
    "DemandLine",
    "Destination",
    "Outage",
    "Plan",
    "Rules",
    "ServiceTerms",
    "route",
    "rules_problems",
]
