"""What returns and refunds change on an order: returned quantities, money owed, timeline.

The returns app sits above orders and never writes order rows itself; it calls these
functions inside its own transactions. The order's status is left alone (a returned order
stays shipped or complete); how much of it came back is read from the line quantities.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from oms_project.changes import update_changed
from orders import pricing
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.models import Order, OrderEvent, OrderLine


def order_lines_record_returned(
    *, order: Order, quantities: dict[int, int], actor: str, reference: str = ""
) -> dict[int, int]:
    """Add {line id: units} to the lines' `quantity_returned` and log it on the order.

    Each line is updated with one conditional UPDATE, so concurrent returns can never count
    more units back than were shipped. Raises `OrderValidationError` for a line of another
    order or a non-positive quantity and `InvalidTransition` when a line would have more
    units returned than shipped; nothing changes then. Returns the quantities recorded.
    """
    wanted = {line_id: units for line_id, units in quantities.items() if units}
    if not wanted:
        return {}
    with transaction.atomic():
        known = set(
            OrderLine.objects.filter(order=order, pk__in=list(wanted)).values_list("pk", flat=True)
        )
        errors = {
            str(line_id): ["No such line on this order."]
            for line_id in wanted
            if line_id not in known
        }
        errors.update(
            {str(line_id): ["Quantity must be positive."] for line_id, units in wanted.items()
             if units < 0}
        )
        if errors:
            raise OrderValidationError("Some returned lines are invalid.", errors={"lines": errors})
        for line_id, units in sorted(wanted.items()):
            updated = OrderLine.objects.filter(
                pk=line_id, quantity_shipped__gte=F("quantity_returned") + units
            ).update(quantity_returned=F("quantity_returned") + units)
            if not updated:
                raise InvalidTransition(
                    f"Line {line_id} cannot have {units} more unit(s) returned than shipped.",
                    extra={"line_id": line_id},
                )
        update_changed(Order.objects.filter(pk=order.pk))
        order_event_record(
            order=order,
            type="lines_returned",
            actor=actor,
            message=f"Units returned ({reference})" if reference else "Units returned",
            data={
                "reference": reference,
                "lines": {str(line_id): units for line_id, units in sorted(wanted.items())},
            },
        )
    return wanted


def order_refund_due_settle(
    *, order: Order, amount: Decimal, actor: str, reference: str = ""
) -> Decimal:
    """Take a refund paid for cancelled units off the order's `refund_due`.

    Raises `InvalidTransition` when less than `amount` is due; nothing changes then.
    """
    with transaction.atomic():
        updated = update_changed(
            Order.objects.filter(pk=order.pk, refund_due__gte=amount),
            refund_due=pricing.money_expression(F("refund_due") - amount),
        )
        if not updated:
            due = Order.objects.values_list("refund_due", flat=True).get(pk=order.pk)
            raise InvalidTransition(
                f"Only {due} is due to the customer for cancelled units; cannot settle {amount}.",
                extra={"refund_due": str(due)},
            )
        order_event_record(
            order=order,
            type="refund_due_settled",
            actor=actor,
            message=f"{amount} {order.currency} refunded for cancelled units ({reference})",
            data={"amount": str(amount), "reference": reference},
        )
        order.refresh_from_db(fields=["refund_due"])
    return order.refund_due


def order_return_event_record(
    *, order: Order, type: str, actor: str, message: str = "", data: dict | None = None
) -> OrderEvent:
    """Show a return or refund milestone on the order's timeline (inside the transaction)."""
    return order_event_record(order=order, type=type, actor=actor, message=message, data=data)
