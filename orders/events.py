"""The order's audit trail: one function writes every `OrderEvent`."""

from orders.models import Order, OrderEvent


def order_event_record(
    *,
    order: Order,
    type: str,
    actor: str,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
) -> OrderEvent:
    """Append an event to the order's timeline (call inside the business transaction)."""
    return OrderEvent.objects.create(
        order=order,
        type=type,
        actor=actor[:150],
        message=message,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
