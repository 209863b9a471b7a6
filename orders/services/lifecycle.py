"""The one door through which `Order.status` changes."""

import logging

from django.db import transaction

from oms_project.changes import update_changed
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.models import Order
from orders.services.locks import order_lock
from orders.states import HoldReason, OrderStatus, can_transition

logger = logging.getLogger(__name__)


def order_transition(
    *,
    order: Order,
    to_status: str,
    actor: str,
    reason: str = "",
    data: dict | None = None,
    hold_reason: str = "",
) -> Order:
    """Move the order to `to_status` along `orders.states.TRANSITIONS` and log the event.

    Locks the order row, checks the table, updates `WHERE status = <from>` and writes an
    `OrderEvent` in the same transaction. Raises `InvalidTransition` for a move the table
    does not allow.
    """
    with transaction.atomic():
        current = Order.objects.select_for_update().only("status").get(pk=order.pk)
        from_status = current.status
        if not can_transition(from_status, to_status):
            raise InvalidTransition(
                f"Order {order.number} cannot go from {from_status} to {to_status}.",
                extra={"from_status": from_status, "to_status": to_status},
            )
        updated = update_changed(
            Order.objects.filter(pk=order.pk, status=from_status),
            status=to_status,
            hold_reason=hold_reason if to_status == OrderStatus.ON_HOLD else "",
        )
        if not updated:  # the row lock makes this unreachable unless the schema is bypassed
            raise InvalidTransition(f"Order {order.number} changed while being updated.")
        order_event_record(
            order=order,
            type="status_changed",
            actor=actor,
            message=reason,
            from_status=from_status,
            to_status=to_status,
            data=data,
        )
        order.status = to_status
        order.hold_reason = hold_reason if to_status == OrderStatus.ON_HOLD else ""
        if to_status == OrderStatus.BACKORDERED:
            product_ids = list(order.lines.values_list("product_id", flat=True))
            transaction.on_commit(lambda: _date_backorders(product_ids))
    return order


def _date_backorders(product_ids: list[int]) -> None:
    """After commit: tie the new backorder to a purchase order and tell the customer."""
    from orders.tasks import backorder_dates_refresh_task

    try:
        backorder_dates_refresh_task.delay(product_ids)
    except Exception:  # the broker is down: the periodic refresh dates it a little later
        logger.warning("Backorder dating for products %s deferred to the periodic run", product_ids)


def order_hold(*, order: Order, reason_code: str, actor: str, note: str = "") -> Order:
    """Put an order on hold for a reason from `HoldReason` (fraud, payment, address, customer).

    The status the hold interrupts is read from the locked row and kept in the event's
    `previous_status`. Raises `OrderValidationError` for an unknown reason and
    `InvalidTransition` when the order cannot be held now.
    """
    if reason_code not in HoldReason.values:
        choices = ", ".join(HoldReason.values)
        raise OrderValidationError(
            f"Unknown hold reason '{reason_code}'.",
            errors={"reason": [f"Use one of: {choices}."]},
        )
    with transaction.atomic():
        previous_status = Order.objects.select_for_update().values_list(
            "status", flat=True
        ).get(pk=order.pk)
        return order_transition(
            order=order,
            to_status=OrderStatus.ON_HOLD,
            actor=actor,
            reason=note or HoldReason(reason_code).label,
            data={"hold_reason": reason_code, "previous_status": previous_status},
            hold_reason=reason_code,
        )


def order_release_hold(*, order: Order, actor: str, note: str = "") -> Order:
    """Take an order off hold, to the status its lines and payments put it in now.

    The status is worked out afresh (`order_status_after_hold`), not copied from before the
    hold (which the event keeps as `previous_status`, for the record): a paid order first
    tries to allocate what still waits for stock, so a backorder filled while held goes on
    to processing; an order with shipped units returns to partially shipped, or to shipped
    (and complete once every parcel is delivered) when the rest was cancelled while held.
    Raises `InvalidTransition` when the order is not on hold.
    """
    from orders.services.allocation import order_allocate, order_is_paid
    from orders.services.shipments import order_complete_if_delivered

    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status != OrderStatus.ON_HOLD:
            raise InvalidTransition(
                f"Order {order.number} is not on hold.", extra={"from_status": order.status}
            )
        if order_is_paid(order):
            order_allocate(order=order, actor=actor)
        order_transition(
            order=order,
            to_status=order_status_after_hold(order),
            actor=actor,
            reason=note or "Hold released",
            data={"previous_status": _status_before_hold(order)},
        )
        if order.status == OrderStatus.SHIPPED:
            order_complete_if_delivered(order=order, actor=actor)
        return order


def order_status_after_hold(order: Order) -> str:
    """The status a held order returns to, derived from its lines and payments."""
    from orders.services.allocation import order_status_after_allocation

    lines = list(order.lines.all())
    if any(line.quantity_shipped for line in lines):
        outstanding = sum(
            line.quantity - line.quantity_shipped - line.quantity_cancelled for line in lines
        )
        return OrderStatus.PARTIALLY_SHIPPED if outstanding else OrderStatus.SHIPPED
    return order_status_after_allocation(order)


def _status_before_hold(order: Order) -> str:
    """The status the latest hold interrupted, as its event recorded it ("" if unknown)."""
    event = (
        order.events.filter(type="status_changed", to_status=OrderStatus.ON_HOLD)
        .order_by("-pk")
        .only("from_status")
        .first()
    )
    return event.from_status if event else ""
