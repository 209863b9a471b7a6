"""Recording payments; a capture that completes payment moves the order on."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from oms_project.changes import update_changed
from oms_project.currencies import currency_amount_errors
from oms_project.outbox import outbox_emit
from orders import pricing
from orders.errors import PaymentError
from orders.events import order_event_record
from orders.models import Order, Payment
from orders.services.locks import order_lock
from orders.states import OrderStatus

PAYABLE_STATUSES = {OrderStatus.CREATED, OrderStatus.ON_HOLD}


def payment_apply(
    *,
    order: Order,
    method: str,
    amount: Decimal,
    status: str,
    reference: str = "",
    actor: str,
    allocate: bool = True,
) -> Payment:
    """Record a payment on the order.

    A captured payment adds to `paid_total`; once the order is fully paid it is allocated
    and moves to processing (or backordered), a receipt is e-mailed and `order.paid` emitted.
    The same processor reference and status twice is a no-op returning the first payment
    (with another amount or method it is a `PaymentError`). Raises `PaymentError` for a
    cancelled order, another currency, or a capture or authorization over the balance due (the
    total less what cancellations took off and what was paid).
    """
    from orders.notifications import order_email
    from orders.services.allocation import order_is_paid

    with transaction.atomic():
        order = order_lock(order.pk)
        if reference:
            previous = Payment.objects.filter(
                order=order, reference=reference, status=status
            ).first()
            if previous:
                if (previous.amount, previous.method) != (amount, method):
                    raise PaymentError(
                        f"Payment {reference} is already recorded as {previous.method} "
                        f"{previous.amount} {previous.currency} {status}.",
                        errors={"reference": ["Already used for another amount or method."]},
                    )
                return previous
        if order.status == OrderStatus.CANCELLED:
            raise PaymentError(f"Order {order.number} is cancelled.")
        if amount <= 0:
            raise PaymentError(
                "A payment amount must be positive.",
                errors={"amount": ["Must be greater than zero."]},
            )
        payment_amount_check(amount=amount, currency=order.currency)
        captured = status == Payment.Status.CAPTURED
        due = pricing.balance_due(
            total=order.total, cancelled_total=order.cancelled_total, paid_total=order.paid_total
        )
        if captured and amount > due:
            raise PaymentError(
                f"Capturing {amount} would exceed the {due} still due on order {order.number} "
                f"(total {order.total}, cancelled {order.cancelled_total}, "
                f"paid {order.paid_total}).",
                errors={"amount": [f"Over-payment: {due} is due."]},
            )
        if not captured and amount > due:
            raise PaymentError(
                f"Authorizing {amount} would exceed the {due} still due on order {order.number}.",
                errors={"amount": [f"More than the {due} still due."]},
            )
        was_paid = order_is_paid(order) and order.paid_total > 0
        payment = Payment.objects.create(
            order=order,
            method=method,
            amount=amount,
            currency=order.currency,
            status=status,
            reference=reference,
        )
        captured_changes = (
            {
                "paid_total": pricing.money_expression(F("paid_total") + amount),
                "payment_method": method,
            }
            if captured
            else {}
        )
        update_changed(Order.objects.filter(pk=order.pk), **captured_changes)
        if captured:
            order.refresh_from_db()
        order_event_record(
            order=order,
            type=f"payment_{status}",
            actor=actor,
            message=f"{method} {amount} {order.currency} {status}",
            data={"reference": reference, "amount": str(amount)},
        )
        if allocate and captured and order_is_paid(order) and not was_paid:
            order_paid_settle(order=order, actor=actor)
            order_email(order=order, template="payment_receipt", extra={"payment": payment})
    return payment


def payment_amount_check(*, amount: Decimal, currency: str) -> None:
    """Raise `PaymentError` unless `amount` is one `currency` can be paid in: whole cents, and
    whole units in a currency without a minor unit (JPY 1000, not 1000.50)."""
    if amount != pricing.money(amount):
        raise PaymentError(
            f"A payment of {amount} {currency} has more than two decimals.",
            errors={"amount": ["Send at most two decimals."]},
        )
    errors = currency_amount_errors(currency, {"amount": amount})
    if errors:
        raise PaymentError(
            f"A payment of {amount} {currency} has a fraction {currency} does not have.",
            errors=errors,
        )


def order_paid_settle(*, order: Order, actor: str) -> None:
    """The captured payments now cover the order: a created order is allocated and moves to
    processing (or backordered), and `order.paid` carries the sale to accounting."""
    from orders.payloads import order_paid_payload
    from orders.services.allocation import order_allocate
    from orders.services.lifecycle import order_transition

    if order.status == OrderStatus.CREATED:
        result = order_allocate(order=order, actor=actor)
        target = OrderStatus.BACKORDERED if result["short"] else OrderStatus.PROCESSING
        order_transition(order=order, to_status=target, actor=actor, reason="Paid")
    outbox_emit(topic="order.paid", payload=order_paid_payload(order), reference=order.number)
