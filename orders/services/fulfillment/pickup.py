"""Pickup in store: the shelf, the one-time pickup code, and handing the order over.

The code has eight digits, so guessing is limited: after `PICKUP_CODE_MAX_FAILURES` wrong
codes within `PICKUP_CODE_WINDOW` the fulfillment order accepts no code (not even the right
one) for `PICKUP_CODE_LOCKOUT`. The count lives on the fulfillment order's row and changes
only by conditional UPDATEs, so racing requests are each counted and none slips past the
limit. Each wrong code is logged as an order event. Staff who checked the customer's identity
hand over without the code (`fulfillment_hand_over`), lockout or not.
"""

import hashlib
import hmac
import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.services import reservation_consume, stock_levels_lock_for
from oms_project.changes import update_changed
from oms_project.errors import OmsError
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.fulfillment_errors import PickupCodeInvalid, PickupCodeLocked, PickupCodeUsed
from orders.fulfillment_states import ACTIVE_FULFILLMENT_STATUSES, FulfillmentStatus
from orders.models import (
    FulfillmentMethod,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Order,
    OrderLine,
)
from orders.services.fulfillment.lifecycle import fulfillment_transition, items_by_sku
from orders.services.fulfillment.locks import fulfillment_order_lock
from orders.services.fulfillment.work import order_not_held_check
from orders.states import OrderStatus, can_transition

PICKUP_CODE_DIGITS = 8
PICKUP_CODE_MAX_FAILURES = 5
PICKUP_CODE_WINDOW = timedelta(minutes=15)
PICKUP_CODE_LOCKOUT = timedelta(minutes=15)


def pickup_code_hash(fulfillment_order_id: int, code: str) -> str:
    key = f"{settings.SECRET_KEY}:pickup:{fulfillment_order_id}".encode()
    return hmac.new(key, code.strip().encode(), hashlib.sha256).hexdigest()


def fulfillment_ready_for_pickup(
    *, fulfillment_order: FulfillmentOrder, actor: str
) -> tuple[FulfillmentOrder, str]:
    """Put a packed pickup order on the shelf and e-mail the customer a one-time pickup code.

    The e-mail lists the units on the shelf and those still to come. When every active
    fulfillment order of the order is ready and no unit waits for stock, the order becomes
    ready_for_pickup. Returns the fulfillment order and the code (only its hash is stored).
    Raises `InvalidTransition` for an order that is not a pickup or is on hold, or a
    fulfillment order that is not packed; nothing changes then.
    """
    from orders.notifications import order_email
    from orders.services.lifecycle import order_transition

    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        order = current.order
        if order.fulfillment_method != FulfillmentMethod.PICKUP:
            raise InvalidTransition(f"Order {order.number} is not a pickup order.")
        order_not_held_check(order, doing="putting it ready for pickup")
        code = "".join(secrets.choice("0123456789") for _ in range(PICKUP_CODE_DIGITS))
        fulfillment_transition(
            fulfillment_order=current,
            to_status=FulfillmentStatus.READY_FOR_PICKUP,
            actor=actor,
            reason=f"Ready at {current.warehouse.name}",
        )
        FulfillmentOrder.objects.filter(pk=current.pk).update(
            pickup_code_hash=pickup_code_hash(current.pk, code),
            pickup_code_used_at=None,
            pickup_code_failures=0,
            pickup_code_failed_since=None,
            pickup_code_locked_until=None,
        )
        waiting = (
            order.fulfillment_orders.filter(status__in=ACTIVE_FULFILLMENT_STATUSES)
            .exclude(status=FulfillmentStatus.READY_FOR_PICKUP)
            .exists()
        )
        lines = list(order.lines.all().order_by("pk"))
        open_units = sum(line.quantity_open for line in lines)
        # An order with units already collected stays partially shipped until the last one.
        if not waiting and not open_units and can_transition(
            order.status, OrderStatus.READY_FOR_PICKUP
        ):
            order_transition(
                order=order,
                to_status=OrderStatus.READY_FOR_PICKUP,
                actor=actor,
                reason=f"Ready at {current.warehouse.name}",
            )
        order_email(
            order=order,
            template="ready_for_pickup",
            lines=lines,
            extra={"pickup_code": code, **shelf_email_context(current, lines)},
        )
    fulfillment_order.refresh_from_db()
    return fulfillment_order, code


def shelf_email_context(
    fulfillment_order: FulfillmentOrder, lines: list[OrderLine]
) -> dict:
    """What the ready-for-pickup e-mail lists: `ready_lines`, the (order line, units) on the
    shelf with this code, and `still_to_come`, the (order line, units) neither collected,
    cancelled nor on the shelf yet (waiting for stock, or still being picked). Call it once
    the fulfillment order is ready for pickup."""
    ready = dict(fulfillment_order.lines.values_list("order_line_id", "quantity"))
    on_shelf = defaultdict(int)
    for line_id, units in FulfillmentOrderLine.objects.filter(
        fulfillment_order__order_id=fulfillment_order.order_id,
        fulfillment_order__status=FulfillmentStatus.READY_FOR_PICKUP,
    ).values_list("order_line_id", "quantity"):
        on_shelf[line_id] += units
    to_come = [
        (line, line.quantity - line.quantity_shipped - line.quantity_cancelled - on_shelf[line.pk])
        for line in lines
    ]
    return {
        "ready_lines": [(line, ready[line.pk]) for line in lines if ready.get(line.pk)],
        "still_to_come": [(line, units) for line, units in to_come if units > 0],
    }


def fulfillment_collect(
    *, fulfillment_order: FulfillmentOrder, code: str, actor: str
) -> FulfillmentOrder:
    """Hand a ready pickup order over against its code (`_hand_over`).

    Raises `PickupCodeUsed` for a code already used, `InvalidTransition` unless the
    fulfillment order is ready for pickup and its order not on hold, `PickupCodeLocked` while
    too many wrong codes lock the fulfillment order out, and `PickupCodeInvalid` for a wrong
    code (counted and logged; its `extra["attempts_left"]` says how many more are allowed).
    Nothing else changes then. Call it outside a transaction, or a wrong code is not counted.
    """
    now = timezone.now()
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        _check_collectable(current)
        _check_not_locked_out(current, now)
        is_right = isinstance(code, str) and hmac.compare_digest(
            current.pickup_code_hash, pickup_code_hash(current.pk, code)
        )
        if is_right:
            _hand_over(current, actor=actor, reason="Collected by the customer")
            refusal = None
        else:
            refusal = _wrong_code_record(current, actor=actor, now=now)
    if refusal is not None:  # raised after the commit, so the wrong code stays counted
        raise refusal
    fulfillment_order.refresh_from_db()
    return fulfillment_order


def fulfillment_hand_over(
    *, fulfillment_order: FulfillmentOrder, actor: str, reason: str
) -> FulfillmentOrder:
    """Hand a ready pickup order over without its code (`_hand_over`), as staff who checked
    the customer's identity (the code was lost, or wrong codes locked the counter out).

    The reason is required and logged. Raises `OrderValidationError` without a reason,
    `PickupCodeUsed` when the order was already collected and `InvalidTransition` unless the
    fulfillment order is ready for pickup and its order not on hold; nothing changes then.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise OrderValidationError(
            "Say how the customer was identified.",
            errors={"reason": ["This field is required."]},
        )
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        _check_collectable(current)
        _hand_over(
            current, actor=actor, reason=f"Handed over by staff without the code: {reason.strip()}"
        )
    fulfillment_order.refresh_from_db()
    return fulfillment_order


def _check_collectable(current: FulfillmentOrder) -> None:
    if current.pickup_code_used_at is not None:
        raise PickupCodeUsed(
            f"This order was already collected on {current.pickup_code_used_at:%Y-%m-%d %H:%M}."
        )
    if current.status != FulfillmentStatus.READY_FOR_PICKUP or not current.pickup_code_hash:
        raise InvalidTransition(
            f"Fulfillment order {current.pk} is {current.status}, not ready for pickup.",
            extra={"from_status": current.status},
        )
    order_not_held_check(current.order, doing="handing it over")


def _check_not_locked_out(current: FulfillmentOrder, now: datetime) -> None:
    locked_until = current.pickup_code_locked_until
    if locked_until is not None and locked_until > now:
        raise _lockout_error(locked_until, now)


def _lockout_error(locked_until: datetime, now: datetime) -> PickupCodeLocked:
    return PickupCodeLocked(
        f"Too many wrong pickup codes; try again after {locked_until:%H:%M} UTC, or ask "
        "staff to hand the order over after checking the customer's identity.",
        extra={
            "locked_until": locked_until,
            "retry_after": max(int((locked_until - now).total_seconds()) + 1, 1),
        },
    )


def _hand_over(current: FulfillmentOrder, *, actor: str, reason: str) -> None:
    """Close the fulfillment order and take exactly its units out of stock as collected.

    Its reservations at its location are consumed and its lines' units count as shipped,
    whatever the order's status (part of a backordered order may be collected), so the
    units are never offered to the location again. The order completes when nothing is left
    to hand over; otherwise it is partially shipped, or stays ready for pickup when the rest
    is on the shelf too.
    """
    from orders.services.allocation import line_reference

    FulfillmentOrder.objects.filter(pk=current.pk).update(pickup_code_used_at=timezone.now())
    fulfillment_transition(
        fulfillment_order=current,
        to_status=FulfillmentStatus.CLOSED,
        actor=actor,
        reason=reason,
    )
    units = dict(current.lines.values_list("order_line_id", "quantity"))
    stock_levels_lock_for(
        references=[line_reference(line_id) for line_id in units],
        warehouse_id=current.warehouse_id,
    )
    for line_id, quantity in sorted(units.items()):
        reservation_consume(
            reference=line_reference(line_id),
            quantity=quantity,
            warehouse_id=current.warehouse_id,
            actor=actor,
        )
        OrderLine.objects.filter(pk=line_id).update(
            quantity_allocated=F("quantity_allocated") - quantity,
            quantity_shipped=F("quantity_shipped") + quantity,
        )
    order = current.order
    items = items_by_sku(units)
    order_event_record(
        order=order,
        type="pickup_collected",
        actor=actor,
        message=f"FO-{current.pk} at {current.warehouse.code}: "
        + ", ".join(f"{count} x {sku}" for sku, count in sorted(items.items())),
        data={"fulfillment_order": current.pk, "warehouse": current.warehouse.code,
              "lines": {str(line_id): quantity for line_id, quantity in units.items()},
              "items": items},
    )
    _order_after_hand_over(order, actor=actor, reason=reason)


def _order_after_hand_over(order: Order, *, actor: str, reason: str) -> None:
    """Move the order on after units were handed over (its row is locked)."""
    from orders.services.lifecycle import order_transition

    outstanding = sum(
        line.quantity - line.quantity_shipped - line.quantity_cancelled
        for line in OrderLine.objects.filter(order=order)
    )
    if outstanding:
        # Ready for pickup means the rest is on the shelf too: it stays so until collected.
        steps = (
            [OrderStatus.PARTIALLY_SHIPPED]
            if order.status in (OrderStatus.PROCESSING, OrderStatus.BACKORDERED)
            else []
        )
    elif order.status == OrderStatus.READY_FOR_PICKUP:
        steps = [OrderStatus.COMPLETE]
    else:  # the last units of an order collected in parts
        steps = [OrderStatus.SHIPPED, OrderStatus.COMPLETE]
        if not can_transition(order.status, OrderStatus.SHIPPED):
            steps.insert(0, OrderStatus.PARTIALLY_SHIPPED)
    for to_status in steps:
        order_transition(order=order, to_status=to_status, actor=actor, reason=reason)
    if not steps:  # its lines' collected units changed all the same
        update_changed(Order.objects.filter(pk=order.pk))


def _wrong_code_record(current: FulfillmentOrder, *, actor: str, now: datetime) -> OmsError:
    """Count a wrong code (locking out at the limit), log it, and return the error to raise.

    Conditional UPDATEs: a window that ran out starts again, and the count only rises while
    the fulfillment order is not locked out, so no racing request is lost or slips past.
    """
    rows = FulfillmentOrder.objects.filter(pk=current.pk)
    open_rows = rows.filter(
        Q(pickup_code_locked_until__isnull=True) | Q(pickup_code_locked_until__lte=now)
    )
    open_rows.filter(
        Q(pickup_code_failed_since__isnull=True)
        | Q(pickup_code_failed_since__lte=now - PICKUP_CODE_WINDOW)
    ).update(pickup_code_failures=0, pickup_code_failed_since=now)
    counted = open_rows.update(pickup_code_failures=F("pickup_code_failures") + 1)
    if not counted:
        locked_until = rows.values_list("pickup_code_locked_until", flat=True).get()
        return _lockout_error(locked_until, now)
    failures = rows.values_list("pickup_code_failures", flat=True).get()
    locked_until = None
    if failures >= PICKUP_CODE_MAX_FAILURES:
        locked_until = now + PICKUP_CODE_LOCKOUT
        rows.update(
            pickup_code_locked_until=locked_until,
            pickup_code_failures=0,
            pickup_code_failed_since=None,
        )
    order_event_record(
        order=Order(pk=current.order_id),
        type="pickup_code_rejected",
        actor=actor,
        message=f"FO-{current.pk} at {current.warehouse.code}: wrong pickup code "
        f"({failures} of {PICKUP_CODE_MAX_FAILURES})"
        + (f"; locked until {locked_until:%Y-%m-%d %H:%M} UTC" if locked_until else ""),
        data={
            "fulfillment_order": current.pk,
            "warehouse": current.warehouse.code,
            "failures": failures,
            "locked_until": locked_until.isoformat() if locked_until else None,
        },
    )
    detail = "The pickup code does not match this order."
    if locked_until is not None:
        detail += (
            f" Too many wrong codes: no code is accepted before {locked_until:%H:%M} UTC."
        )
    return PickupCodeInvalid(
        detail, extra={"attempts_left": PICKUP_CODE_MAX_FAILURES - failures}
    )
