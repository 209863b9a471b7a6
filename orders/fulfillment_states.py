"""The fulfillment-order state machine: one table of allowed transitions.

Only `orders.services.fulfillment.fulfillment_transition` changes `FulfillmentOrder.status`.
"""

from django.db import models


class FulfillmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    PICKING = "picking", "Picking"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    CLOSED = "closed", "Closed"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


F = FulfillmentStatus

FULFILLMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    F.OPEN: frozenset({F.PICKING, F.ON_HOLD, F.CANCELLED}),
    F.PICKING: frozenset({F.PACKED, F.ON_HOLD, F.CANCELLED}),
    # Back to picking when units leave a packed parcel: its pack check no longer holds.
    F.PACKED: frozenset({F.SHIPPED, F.READY_FOR_PICKUP, F.PICKING, F.ON_HOLD, F.CANCELLED}),
    F.SHIPPED: frozenset({F.CLOSED}),
    F.READY_FOR_PICKUP: frozenset({F.CLOSED, F.CANCELLED}),
    F.CLOSED: frozenset(),
    # Release returns to where the hold stopped work (`status_before_hold`); "start picking"
    # refuses a held one, so only a release drops a hold and its reason.
    F.ON_HOLD: frozenset({F.OPEN, F.PICKING, F.PACKED, F.CANCELLED}),
    F.CANCELLED: frozenset(),
}

# Fulfillment orders whose units are still reserved at their location (not shipped or handed
# over); their line quantities always equal those reservations.
ACTIVE_FULFILLMENT_STATUSES = frozenset(
    {F.OPEN, F.PICKING, F.PACKED, F.READY_FOR_PICKUP, F.ON_HOLD}
)
# Nothing has been taken off the shelf yet: these can be re-routed elsewhere.
UNPICKED_FULFILLMENT_STATUSES = frozenset({F.OPEN, F.ON_HOLD})


def can_fulfillment_transition(from_status: str, to_status: str) -> bool:
    return to_status in FULFILLMENT_TRANSITIONS.get(from_status, frozenset())
