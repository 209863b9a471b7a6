"""The order's audit trail: one function writes every `OrderEvent`."""

from orders.models import Order, OrderEvent


def order_event_record(*, order: Order, **event) -> OrderEvent:
    """Append an event to the order's timeline (call inside the business transaction); `event` is
    `type`, `actor` and optionally `message`, `from_status`, `to_status`, `data`
    (`TimelineEvent.record`)."""
    return OrderEvent.record(order=order, **event)
