"""The order state machine: one table of allowed transitions.

Only `orders.services.order_transition` changes `Order.status`, and only along this table.
"""

from django.db import models


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created (awaiting payment)"
    PROCESSING = "processing", "Processing"
    ON_HOLD = "on_hold", "On hold"
    BACKORDERED = "backordered", "Backordered"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    COMPLETE = "complete", "Complete"
    CANCELLED = "cancelled", "Cancelled"


S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.PROCESSING, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.PROCESSING: frozenset(
        {S.READY_FOR_PICKUP, S.PARTIALLY_SHIPPED, S.SHIPPED, S.ON_HOLD, S.BACKORDERED, S.CANCELLED}
    ),
    # A hold returns to where it interrupted the order: every status that can be held.
    # Shipped when the units left unshipped were cancelled while the order was held.
    S.ON_HOLD: frozenset(
        {S.CREATED, S.PROCESSING, S.BACKORDERED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}
    ),
    S.BACKORDERED: frozenset({S.PROCESSING, S.PARTIALLY_SHIPPED, S.ON_HOLD, S.CANCELLED}),
    S.READY_FOR_PICKUP: frozenset({S.COMPLETE, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.BACKORDERED, S.ON_HOLD}),
    S.SHIPPED: frozenset({S.COMPLETE}),
    S.COMPLETE: frozenset(),
    S.CANCELLED: frozenset(),
}

OPEN_STATUSES = frozenset(
    {S.CREATED, S.PROCESSING, S.ON_HOLD, S.BACKORDERED, S.READY_FOR_PICKUP, S.PARTIALLY_SHIPPED}
)


class HoldReason(models.TextChoices):
    FRAUD_REVIEW = "fraud_review", "Fraud review"
    PAYMENT_ISSUE = "payment_issue", "Payment issue"
    ADDRESS_ISSUE = "address_issue", "Address issue"
    CUSTOMER_REQUEST = "customer_request", "Customer request"


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
