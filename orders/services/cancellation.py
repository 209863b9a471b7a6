"""Cancelling whole orders or some line quantities before they ship."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from customers.services import customer_lifetime_totals_reduce
from inventory.services import reservation_release
from oms_project.changes import update_changed
from oms_project.outbox import outbox_emit
from orders import pricing
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.models import Order, OrderLine
from orders.selectors import order_lifetime_value, order_refundable_now
from orders.services.locks import order_lock
from orders.states import OrderStatus

NOT_CANCELLABLE = {OrderStatus.SHIPPED, OrderStatus.COMPLETE, OrderStatus.CANCELLED}


def order_cancel(
    *, order: Order, actor: str, reason: str = "", lines: dict[int, int] | None = None
) -> dict:
    """Cancel the whole order (`lines` None) or the given {line id: quantity}.

    Only units not yet shipped can be cancelled; allocated units are released (ledger rows),
    unallocated ones first. The value of cancelled units is added to the order's
    `cancelled_total` (what is left to pay for drops by it), to `refund_due` for what was paid
    beyond what is left (at most what the order still holds after earlier refunds, goodwill
    included, and the refund due: `pricing.cancellation_refund`), and taken off the
    customer's lifetime value; payments that now cover the rest of an unpaid order move it on
    as a payment would; an order cancelled in full no longer counts among the customer's
    orders (it stays in their history).
    Raises `InvalidTransition` for shipped or already cancelled units and
    `OrderValidationError` for unknown lines or bad quantities; nothing changes then.
    Returns {"cancelled": {line id: units}, "released": units, "refund_due": Decimal}.
    """
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.allocation import line_reference, order_is_paid
    from orders.services.fulfillment import fulfillment_orders_sync
    from orders.services.lifecycle import order_transition
    from orders.services.payments import order_paid_settle

    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status in NOT_CANCELLABLE:
            raise InvalidTransition(
                f"Order {order.number} is {order.status}; nothing to cancel.",
                extra={"from_status": order.status},
            )
        order_lines = {
            line.pk: line
            for line in OrderLine.objects.select_for_update().filter(order=order).order_by("pk")
        }
        wanted = _cancellation_plan(order_lines, lines)
        remaining = {
            line_id: line.quantity - line.quantity_cancelled - wanted.get(line_id, 0)
            for line_id, line in order_lines.items()
        }
        fully_cancelled = not any(remaining.values())
        # Before the stock rows, as order creation takes the customer's row before its stock.
        _customer_lifetime_reduce(order, list(order_lines.values()), wanted, fully_cancelled)
        released = 0
        was_paid = order_is_paid(order) and order.paid_total > 0
        value = Decimal("0.00")
        for line_id, units in wanted.items():
            line = order_lines[line_id]
            from_allocated = max(units - line.quantity_open, 0)
            if from_allocated:
                released += reservation_release(
                    reference=line_reference(line),
                    quantity=from_allocated,
                    actor=actor,
                    note=f"cancelled: {reason}"[:255],
                )
            OrderLine.objects.filter(pk=line_id).update(
                quantity_cancelled=F("quantity_cancelled") + units,
                quantity_allocated=F("quantity_allocated") - from_allocated,
            )
            cancelled = line.quantity_cancelled
            value += pricing.line_units_value(
                order=order, line=line, units=cancelled + units
            ) - pricing.line_units_value(order=order, line=line, units=cancelled)
        fulfillment_orders_sync(order=order, actor=actor, reason=f"Cancelled: {reason}")
        if fully_cancelled:  # all that is left, shipping included, to the cent
            value = order.total - order.cancelled_total
        refund = pricing.cancellation_refund(
            total=order.total,
            cancelled_total=order.cancelled_total,
            paid_total=order.paid_total,
            cancelling=value,
            refundable=order_refundable_now(order),
        )
        update_changed(
            Order.objects.filter(pk=order.pk),
            cancelled_total=pricing.money_expression(F("cancelled_total") + value),
            refund_due=pricing.money_expression(F("refund_due") + refund),
        )
        summary = {str(line_id): units for line_id, units in wanted.items()}
        order_event_record(
            order=order,
            type="cancelled" if fully_cancelled else "lines_cancelled",
            actor=actor,
            message=reason,
            data={
                "lines": summary,
                "released": released,
                "refund_due": str(refund),
                "value": str(value),
            },
        )
        if fully_cancelled:
            order_transition(
                order=order,
                to_status=OrderStatus.CANCELLED,
                actor=actor,
                reason=reason or "Cancelled",
            )
        else:
            _settle_status(order, actor)
            order.refresh_from_db()
            if not was_paid and order.paid_total > 0 and order_is_paid(order):
                # The payments taken so far now cover what is left of the order.
                order_paid_settle(order=order, actor=actor)
        order.refresh_from_db()
        outbox_emit(
            topic="order.cancelled",
            payload={
                **order_payload(order),
                "cancelled_lines": summary,
                "full": fully_cancelled,
                "refund_due": str(refund),
            },
            reference=order.number,
        )
        order_email(
            order=order,
            template="order_cancelled",
            extra={
                "cancelled": [(order_lines[i], u) for i, u in wanted.items()],
                "full": fully_cancelled,
                "refund": refund,
            },
        )
    return {"cancelled": wanted, "released": released, "refund_due": refund}


def _customer_lifetime_reduce(
    order: Order, lines: list[OrderLine], wanted: dict[int, int], fully_cancelled: bool
) -> None:
    """Take what the cancellation removes from the order off its customer's lifetime totals.

    The value is what the order counted before less what it counts after, not the refund:
    the customer's totals counted the order when it arrived, paid or not.
    """
    before = order_lifetime_value(order=order, lines=lines)
    after = order_lifetime_value(order=order, lines=lines, cancelling=wanted)
    customer_lifetime_totals_reduce(
        customer_id=order.customer_id, value=before - after, orders=1 if fully_cancelled else 0
    )


def _cancellation_plan(
    order_lines: dict[int, OrderLine], lines: dict[int, int] | None
) -> dict[int, int]:
    if lines is None:
        plan = {
            line_id: line.quantity - line.quantity_shipped - line.quantity_cancelled
            for line_id, line in order_lines.items()
        }
        plan = {line_id: units for line_id, units in plan.items() if units > 0}
        if not plan:
            raise InvalidTransition("Every unit of this order is already shipped or cancelled.")
        return plan
    errors = {}
    for line_id, units in lines.items():
        line = order_lines.get(line_id)
        if line is None:
            errors[str(line_id)] = ["No such line on this order."]
        elif not isinstance(units, int) or units <= 0:
            errors[str(line_id)] = ["Quantity must be a positive whole number."]
    if errors:
        raise OrderValidationError("Some lines cannot be cancelled.", errors={"lines": errors})
    for line_id, units in lines.items():
        line = order_lines[line_id]
        cancellable = line.quantity - line.quantity_shipped - line.quantity_cancelled
        if units > cancellable:
            raise InvalidTransition(
                f"Line {line_id} ({line.sku}) has {cancellable} unit(s) that can still be "
                f"cancelled; {line.quantity_shipped} shipped, {line.quantity_cancelled} "
                f"already cancelled.",
                extra={"line_id": line_id, "cancellable": cancellable},
            )
    return dict(lines)


def _settle_status(order: Order, actor: str) -> None:
    """After a partial cancellation, move the order to where its remaining units put it (a
    held order stays held): shipped, and complete if every parcel is delivered, when nothing
    is left to ship; processing when a backorder no longer waits for anything."""
    from orders.services.lifecycle import order_transition
    from orders.services.shipments import order_complete_if_delivered

    order.refresh_from_db()
    lines = list(order.lines.all())
    open_units = sum(line.quantity_open for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    outstanding = sum(
        line.quantity - line.quantity_shipped - line.quantity_cancelled for line in lines
    )
    target = order.status
    if order.status == OrderStatus.ON_HOLD:
        pass  # the hold stays; its release moves the order to where its units put it
    elif shipped and not outstanding:
        target = OrderStatus.SHIPPED
    elif order.status == OrderStatus.BACKORDERED and not open_units:
        target = OrderStatus.PROCESSING
    if target != order.status:
        order_transition(
            order=order,
            to_status=target,
            actor=actor,
            reason="Remaining units settled after cancellation",
        )
        if target == OrderStatus.SHIPPED:  # what did ship may all be delivered already
            order_complete_if_delivered(order=order, actor=actor)
