"""The purchase order audit trail: one function writes every `PurchaseOrderEvent`."""

from inventory.models import PurchaseOrder, PurchaseOrderEvent


def purchase_order_event_record(
    *,
    purchase_order: PurchaseOrder,
    type: str,
    actor: str,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
) -> PurchaseOrderEvent:
    """Append an event to the purchase order's history (call inside the business transaction)."""
    return PurchaseOrderEvent.objects.create(
        purchase_order=purchase_order,
        type=type,
        actor=actor[:150],
        message=message,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
