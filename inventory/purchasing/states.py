"""The purchase order state machine: one table of allowed transitions.

Only `inventory.purchasing.services.purchase_order_transition` changes `PurchaseOrder.status`,
and only along this table::

    draft -> sent -> partially_received -> received -> closed
      |        |            |
      +--------+-> cancelled +-> closed (the rest will not come)

Receiving moves a sent order to partially received or received by itself; a partially received
order can be closed when the supplier will not deliver the rest.
"""

from django.db import models


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


S = PurchaseOrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}),
    S.PARTIALLY_RECEIVED: frozenset({S.RECEIVED, S.CLOSED}),
    S.RECEIVED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Orders whose outstanding units count as stock on the way when planning what to reorder
# (projected stock): a draft counts, so the next suggestion does not order the same units.
OPEN_STATUSES = frozenset({S.DRAFT, S.SENT, S.PARTIALLY_RECEIVED})
# Orders the supplier has and may deliver against.
RECEIVABLE_STATUSES = frozenset({S.SENT, S.PARTIALLY_RECEIVED})
# Orders whose outstanding units may be promised to customers (backorder dates): sent to the
# supplier and not yet fully received. A draft is only a plan: nobody has agreed to deliver.
PROMISED_STATUSES = RECEIVABLE_STATUSES


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
