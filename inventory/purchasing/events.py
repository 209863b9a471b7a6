"""The purchase order audit trail: one function writes every `PurchaseOrderEvent`."""

from inventory.models import PurchaseOrder, PurchaseOrderEvent


def purchase_order_event_record(*, purchase_order: PurchaseOrder, **event) -> PurchaseOrderEvent:
    """Append an event to the purchase order's history (call inside the business
    transaction); `event` is `type`, `actor` and optionally `message`, `from_status`,
    `to_status`, `data` (`TimelineEvent.record`)."""
    return PurchaseOrderEvent.record(purchase_order=purchase_order, **event)
