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
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from oms_project.errors import OmsError
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.fulfillment_errors import PickupCodeInvalid, PickupCodeLocked, PickupCodeUsed
from orders.fulfillment_states import ACTIVE_FULFILLMENT_STATUSES, FulfillmentStatus
from orders.models import FulfillmentMethod, FulfillmentOrder, Order
from orders.services.fulfillment.lifecycle import fulfillment_transition
from orders.services.fulfillment.locks import fulfillment_order_lock
from orders.states import OrderStatus

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

    When every active fulfillment order of the order is ready, the order becomes
    ready_for_pickup. Returns the fulfillment order and the code (only its hash is stored).
    """
    from orders.notifications import order_email
    from orders.services.lifecycle import order_transition

    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        order = current.order
        if order.fulfillment_method != FulfillmentMethod.PICKUP:
            raise InvalidTransition(f"Order {order.number} is not a pickup order.")
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
        open_units = sum(line.quantity_open for line in order.lines.all())
        if not waiting and not open_units and order.status != OrderStatus.READY_FOR_PICKUP:
            order_transition(
                order=order,
                to_status=OrderStatus.READY_FOR_PICKUP,
                actor=actor,
                reason=f"Ready at {current.warehouse.name}",
            )
        order_email(order=order, template="ready_for_pickup", extra={"pickup_code": code})
    fulfillment_order.refresh_from_db()
    return fulfillment_order, code


def fulfillment_collect(
    *, fulfillment_order: FulfillmentOrder, code: str, actor: str
) -> FulfillmentOrder:
    """Hand a ready pickup order over against its code; the order completes.

    Raises `PickupCodeUsed` for a code already used, `PickupCodeLocked` while too many wrong
    codes lock the fulfillment order out, and `PickupCodeInvalid` for a wrong code (counted
    and logged; its `extra["attempts_left"]` says how many more are allowed). Nothing else
    changes then. Call it outside a transaction, or a wrong code is not counted.
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
    """Hand a ready pickup order over without its code, as staff who checked the customer's
    identity (the code was lost, or wrong codes locked the counter out); the order completes.

    The reason is required and logged. Raises `OrderValidationError` without a reason,
    `PickupCodeUsed` when the order was already collected and `InvalidTransition` unless the
    fulfillment order is ready for pickup; nothing changes then.
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
    from orders.services.shipments import order_collect

    FulfillmentOrder.objects.filter(pk=current.pk).update(pickup_code_used_at=timezone.now())
    fulfillment_transition(
        fulfillment_order=current,
        to_status=FulfillmentStatus.CLOSED,
        actor=actor,
        reason=reason,
    )
    order = Order.objects.get(pk=current.order_id)
    if order.status == OrderStatus.READY_FOR_PICKUP:
        order_collect(order=order, actor=actor)


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
