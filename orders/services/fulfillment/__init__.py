"""Fulfillment orders: one per location per order, their states, pick/pack/ship, pickup in
store (with reminders of pickups left on the shelf) and re-routing (re-exported from the
concern modules). Each service locks the order before the fulfillment order (`locks`); the
errors are in `orders.fulfillment_errors`."""

from orders.fulfillment_errors import PickupCodeLocked
from orders.services.fulfillment.lifecycle import (
    fulfillment_orders_sync,
    fulfillment_transition,
)
from orders.services.fulfillment.pickup import (
    PICKUP_CODE_LOCKOUT,
    PICKUP_CODE_MAX_FAILURES,
    PICKUP_CODE_WINDOW,
    fulfillment_collect,
    fulfillment_hand_over,
    fulfillment_ready_for_pickup,
)
from orders.services.fulfillment.pickup_reminders import pickup_reminders_send
from orders.services.fulfillment.reroute import fulfillment_reroute
from orders.services.fulfillment.work import (
    expected_items,
    fulfillment_close,
    fulfillment_hold,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_release,
    fulfillment_ship,
    scanned_items,
)

__all__ = [
    "PICKUP_CODE_LOCKOUT",
    "PICKUP_CODE_MAX_FAILURES",
    "PICKUP_CODE_WINDOW",
    "PickupCodeLocked",
    "expected_items",
    "fulfillment_close",
    "fulfillment_collect",
    "fulfillment_hand_over",
    "fulfillment_hold",
    "fulfillment_orders_sync",
    "fulfillment_pack",
    "fulfillment_pick_start",
    "fulfillment_ready_for_pickup",
    "fulfillment_release",
    "fulfillment_reroute",
    "fulfillment_ship",
    "fulfillment_transition",
    "pickup_reminders_send",
    "scanned_items",
]
