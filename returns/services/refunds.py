"""Refunds: for a received return, for units cancelled before shipment, and goodwill.

Every refund locks the order row first, so concurrent refunds of one order are checked one
after the other against what was paid (`Order.paid_total`) minus what was already refunded.
The arithmetic and its rounding are documented in `returns.refund_pricing`.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from customers.services import customer_lifetime_totals_reduce, customer_lifetime_value_add
from oms_project.outbox import outbox_emit
from orders import pricing
from orders.models import Order, Payment
from orders.refund_methods import EXCHANGE_CREDIT, refund_method_default
from orders.services.customer_notices import refund_notify
from orders.services.locks import order_lock
from orders.services.returns_bookkeeping import (
    order_refund_due_settle,
    order_return_event_record,
)
from returns import selectors
from returns.errors import (
    InvalidTransition,
    RefundConflict,
    RefundExceedsPaid,
    ReturnValidationError,
)
from returns.events import return_event_record
from returns.models import Refund, RefundLine, ReturnRequest
from returns.payloads import refund_created_payload
from returns.refund_pricing import RefundQuote, cancellation_refund_quote, line_refund
from returns.states import ReturnStatus

ZERO = Decimal("0.00")


def _amount(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ReturnValidationError(errors={field: ["Give an amount with at most two decimals."]})
    return amount


def refund_quote(
    *,
    return_request: ReturnRequest,
    refund_shipping: bool = False,
    restocking_fee: Decimal = ZERO,
    adjustment: Decimal = ZERO,
    adjustment_reason: str = "",
) -> RefundQuote:
    """Compute the refund of a received return without recording it.

    Units refunded are those that came back (resellable or damaged); missing units are not
    refunded unless staff add them as an adjustment. Raises `ReturnValidationError` for a
    negative or too large restocking fee, an adjustment without a reason, and a negative
    adjustment or a fee that takes the refund below zero, and `RefundExceedsPaid` for a
    refund over what may still be refunded, as the refund itself would.
    """
    order = return_request.order
    restocking_fee = _amount(restocking_fee, "restocking_fee")
    adjustment = _amount(adjustment, "adjustment")
    valued_before = selectors.units_valued_before(order=order)
    # Only the credit the replacement still keeps: a cancelled or returned replacement gave
    # the rest back, and it is this return's to refund.
    quote = RefundQuote(
        exchange_credit=selectors.return_exchange_credit_kept(return_request=return_request)
    )
    for line in return_request.lines.select_related("order_line").order_by("pk"):
        if line.quantity_received:
            quote.lines.append(
                line_refund(
                    order=order,
                    line=line.order_line,
                    units=line.quantity_received,
                    units_refunded_before=valued_before.get(line.order_line_id, 0),
                )
            )
    if refund_shipping:
        already = selectors.refunded_totals(order=order)["shipping_amount"]
        quote.shipping_amount = max(order.shipping_total - already, ZERO)
    errors = {}
    if restocking_fee < 0:
        errors["restocking_fee"] = ["The restocking fee cannot be negative."]
    elif restocking_fee > quote.goods_amount:
        errors["restocking_fee"] = [
            f"The restocking fee cannot exceed the value of the returned goods "
            f"({quote.goods_amount})."
        ]
    if adjustment and not (adjustment_reason or "").strip():
        errors["adjustment_reason"] = ["Say why the amount is adjusted."]
    if errors:
        raise ReturnValidationError("The refund cannot be computed.", errors=errors)
    quote.restocking_fee = restocking_fee
    quote.adjustment = adjustment
    quote.adjustment_reason = (adjustment_reason or "").strip() if adjustment else ""
    cause = "adjustment" if adjustment < 0 else "restocking_fee" if restocking_fee else None
    if quote.amount < 0 and cause:
        raise ReturnValidationError(
            f"The refund would come to {quote.amount}; a refund cannot be negative.",
            errors={cause: [f"Takes the refund below zero (to {quote.amount})."]},
        )
    _check_refundable(order, quote.amount)  # as the refund itself would
    return quote


def return_amount_to_refund(*, return_request: ReturnRequest) -> Decimal:
    """What refunding a received return would still pay with no shipping, fee or adjustment,
    at most what the order may still refund (zero when nothing can be paid)."""
    try:
        return max(refund_quote(return_request=return_request).amount, ZERO)
    except RefundExceedsPaid as error:
        return Decimal(error.extra["refundable"])


def return_refund(
    *,
    return_request: ReturnRequest,
    actor: str,
    method: str = "",
    processor_reference: str = "",
    refund_shipping: bool = False,
    restocking_fee: Decimal = ZERO,
    adjustment: Decimal = ZERO,
    adjustment_reason: str = "",
    note: str = "",
) -> Refund:
    """Refund a received return (once) and move it to refunded; return the refund (the one
    with the returned lines when it is paid back in two parts).

    The amount is `refund_quote`'s; `method` defaults to the order's payment method. A
    replacement order paid with exchange credit and another method is paid back the way it
    was paid when no method is named: one refund to that method (at most what it paid) and
    one of the rest to the exchange credit (`_return_refund_parts`).
    Emits `refund.created` and `refund.completed` and e-mails the customer, per refund.
    Raises `InvalidTransition` unless the return is received (a refunded return cannot be
    refunded again), `ReturnValidationError` for bad fees or a zero amount (close the return
    instead) and `RefundExceedsPaid` above what was paid and not yet refunded; nothing is
    written then.
    """
    from returns.services.requests import return_transition

    with transaction.atomic():
        order = order_lock(return_request.order_id)
        return_request = ReturnRequest.objects.select_for_update().get(pk=return_request.pk)
        return_request.order = order
        if return_request.status != ReturnStatus.RECEIVED:
            detail = (
                "it was already refunded"
                if return_request.status in {ReturnStatus.REFUNDED, ReturnStatus.CLOSED}
                else "receive it first"
            )
            raise InvalidTransition(
                f"Return {return_request.number} is {return_request.status}; {detail}.",
                extra={"from_status": return_request.status, "to_status": ReturnStatus.REFUNDED},
            )
        quote = refund_quote(
            return_request=return_request,
            refund_shipping=refund_shipping,
            restocking_fee=restocking_fee,
            adjustment=adjustment,
            adjustment_reason=adjustment_reason,
        )
        if quote.amount <= 0:
            raise ReturnValidationError(
                f"There is nothing to refund ({quote.amount} {order.currency}); close the "
                f"return instead.",
                errors={"amount": ["Must be greater than zero."]},
            )
        refunds = [
            _record(
                order=order,
                kind=Refund.Kind.RETURN,
                amount=part.amount,
                actor=actor,
                method=part_method,
                # The processor moved the money of the first part; credit moves none.
                processor_reference=processor_reference if index == 0 else "",
                reason=note or f"Return {return_request.number}",
                return_request=return_request,
                quote=part,
            )
            for index, (part_method, part) in enumerate(
                _return_refund_parts(order=order, quote=quote, method=method)
            )
        ]
        amount = pricing.money(sum(refund.amount for refund in refunds))
        numbers = ", ".join(
            f"{refund.number}: {refund.amount} by {refund.method}" for refund in refunds
        )
        return_transition(
            return_request=return_request,
            to_status=ReturnStatus.REFUNDED,
            actor=actor,
            reason=f"Refunded {amount} {order.currency} ({numbers})",
            data={
                "refund": refunds[0].number,
                "amount": str(amount),
                **({"refunds": [r.number for r in refunds]} if len(refunds) > 1 else {}),
            },
        )
    return refunds[0]


def _return_refund_parts(
    *, order: Order, quote: RefundQuote, method: str
) -> list[tuple[str, RefundQuote]]:
    """The refund of a return as (method, quote) parts, one refund each: one part by `method`
    (or the order's default, `_refund_method`), except for an order paid with a return's
    exchange credit and another method when no method is named and the refund is more than
    that method has left: then that method first, up to what it paid and was not refunded
    (with the returned lines), and the rest back to the exchange credit."""
    tenders = selectors.exchange_tenders(order=order)
    if method or tenders is None or not tenders.other_method:
        return [(method, quote)]
    if quote.amount <= tenders.other_left or tenders.other_left <= 0:
        return [("", quote)]
    credit = quote.split_off(quote.amount - tenders.other_left)
    return [(tenders.other_method, quote), (EXCHANGE_CREDIT, credit)]


def order_refund(
    *,
    order: Order,
    kind: str,
    actor: str,
    reason: str,
    amount: Decimal | None = None,
    method: str = "",
    processor_reference: str = "",
) -> Refund:
    """Refund money without a return: `cancellation` (units cancelled before shipment) or
    `goodwill`.

    A cancellation refund pays back `Order.refund_due` (all of it when `amount` is None) and
    reduces it; a goodwill refund needs an amount and a reason. Raises
    `ReturnValidationError` for an unknown kind, a missing reason or a bad amount,
    `RefundExceedsPaid` above what is due or was paid and not yet refunded; nothing is
    written then.
    """
    reason = (reason or "").strip()
    if kind not in {Refund.Kind.CANCELLATION, Refund.Kind.GOODWILL}:
        raise ReturnValidationError(
            errors={"kind": ["Use 'cancellation' or 'goodwill'; return refunds go through the "
                             "return."]}
        )
    if kind == Refund.Kind.GOODWILL and not reason:
        raise ReturnValidationError(
            "A goodwill refund needs a reason.", errors={"reason": ["This field is required."]}
        )
    if kind == Refund.Kind.GOODWILL and amount is None:
        raise ReturnValidationError(errors={"amount": ["This field is required."]})
    with transaction.atomic():
        order = order_lock(order.pk)
        if kind == Refund.Kind.CANCELLATION:
            amount = order.refund_due if amount is None else _amount(amount, "amount")
            if amount > order.refund_due:
                raise RefundExceedsPaid(
                    f"Only {order.refund_due} {order.currency} is due for cancelled units.",
                    errors={"amount": [f"At most {order.refund_due}."]},
                )
        amount = _amount(amount, "amount")
        if amount <= 0:
            raise ReturnValidationError(
                "Nothing to refund." if kind == Refund.Kind.CANCELLATION else "",
                errors={"amount": ["Must be greater than zero."]},
            )
        refund = _record(
            order=order,
            kind=kind,
            amount=amount,
            actor=actor,
            method=method,
            processor_reference=processor_reference,
            reason=reason or "Cancelled units",
            quote=cancellation_refund_quote(order=order, amount=amount)
            if kind == Refund.Kind.CANCELLATION
            else None,
        )
        if kind == Refund.Kind.CANCELLATION:
            order_refund_due_settle(
                order=order, amount=amount, actor=actor, reference=refund.number
            )
    return refund


def _refund_method(*, order: Order, amount: Decimal, method: str) -> str:
    """The refund's method: the one given, or the order's default.

    An order paid with a return's exchange credit gives money back where it came from: at most
    what the other payments brought to them (card first when no method is given: the credit
    paid first), the rest to the credit. A refund that would need both is refused with the two
    amounts, so staff record one refund per method; nothing is refunded to a card that it did
    not pay.
    """
    tenders = selectors.exchange_tenders(order=order)
    if method and not (tenders is not None and method == EXCHANGE_CREDIT):
        allowed = _refund_methods_allowed(order)
        if method not in allowed:
            if tenders is not None:
                allowed = allowed | {EXCHANGE_CREDIT}
            raise ReturnValidationError(
                f"Order {order.number} cannot be refunded by '{method}'.",
                errors={"method": [f"Use one of: {', '.join(sorted(allowed))}."]},
            )
    if tenders is None:
        return method or refund_method_default(order)
    other = tenders.other_method or "the other payments"
    if not method:
        if tenders.other_method and amount <= tenders.other_left:
            return tenders.other_method
        if amount <= tenders.credit_left:
            return EXCHANGE_CREDIT
        raise RefundExceedsPaid(
            f"Order {order.number} was paid {tenders.credit_paid} {order.currency} with exchange "
            f"credit and {tenders.other_paid} by {other}: refund at most {tenders.other_left} "
            f"with method '{tenders.other_method}' and the rest with method "
            f"'{EXCHANGE_CREDIT}', one refund each.",
            errors={"method": ["Name the method: this refund would go back to two payments."]},
            extra={EXCHANGE_CREDIT: str(tenders.credit_left), "other": str(tenders.other_left)},
        )
    left = tenders.credit_left if method == EXCHANGE_CREDIT else tenders.other_left
    if amount > left:
        source = "exchange credit" if method == EXCHANGE_CREDIT else other
        raise RefundExceedsPaid(
            f"Only {left} {order.currency} paid by {source} is left to refund on order "
            f"{order.number}.",
            errors={"amount": [f"At most {left} with method '{method}'."]},
            extra={"refundable_with_method": str(left)},
        )
    return method


def _check_refundable(order: Order, amount: Decimal, kind: str = Refund.Kind.RETURN) -> None:
    """Raise `RefundExceedsPaid` when `amount` is more than may still be refunded: for
    anything but cancelled units what was paid and not yet given back less the refund due,
    which stays payable; for cancelled units (within the refund due, which `order_refund`
    checks) and in any case, what was paid and not yet given back
    (`selectors.order_paid_back`), whatever the refund due says."""
    paid_back = selectors.order_paid_back(order=order)
    left = max(order.paid_total - paid_back, ZERO)
    refundable = max(left - order.refund_due, ZERO)  # `selectors.order_refundable`
    if kind != Refund.Kind.CANCELLATION and amount > refundable:
        after_due = (
            f", after the {order.refund_due} owed back for cancelled units"
            if order.refund_due > 0
            else ""
        )
        raise RefundExceedsPaid(
            f"Refunding {amount} {order.currency} would exceed what was paid and not yet "
            f"refunded ({refundable}{after_due}).",
            errors={"amount": [f"At most {refundable}."]},
            extra={"refundable": str(refundable)},
        )
    if amount > left:
        raise RefundExceedsPaid(
            f"Refunding {amount} {order.currency} would bring the refunds of order "
            f"{order.number} to {paid_back + amount}, more than the {order.paid_total} paid "
            f"({left} is left to refund).",
            errors={"amount": [f"At most {left}."]},
            extra={"refundable": str(left)},
        )


def _refund_methods_allowed(order: Order) -> set[str]:
    """The order's captured payment methods, the default, and the manual ways staff may pay
    (`settings.OMS_MANUAL_REFUND_METHODS`); never exchange credit the order was not paid with."""
    captured = order.payments.filter(status=Payment.Status.CAPTURED).values_list(
        "method", flat=True
    )
    allowed = {*captured, refund_method_default(order), *settings.OMS_MANUAL_REFUND_METHODS}
    return allowed - {EXCHANGE_CREDIT}


def _record(
    *,
    order: Order,
    kind: str,
    amount: Decimal,
    actor: str,
    method: str,
    processor_reference: str,
    reason: str,
    return_request: ReturnRequest | None = None,
    quote: RefundQuote | None = None,
) -> Refund:
    """Check the amount against what was paid, write the refund, log and announce it."""
    amount = pricing.money(amount)
    _check_refundable(order, amount, kind)
    method = _refund_method(order=order, amount=amount, method=method)
    if method == EXCHANGE_CREDIT:
        # Back to the return's credit: the customer holds the value again, on the returned
        # order (`selectors.exchange_credit_kept`), which the cancellation had taken off.
        if kind == Refund.Kind.CANCELLATION:
            customer_lifetime_value_add(customer_id=order.customer_id, value=amount)
    elif kind != Refund.Kind.CANCELLATION:
        order_lifetime_value_reduce(order=order, amount=amount)
    quote = quote or RefundQuote()
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                number=f"tmp-{uuid.uuid4().hex[:27]}",
                order=order,
                return_request=return_request,
                kind=kind,
                currency=order.currency,
                amount=amount,
                goods_amount=quote.goods_amount,
                tax_amount=quote.tax_amount,
                shipping_amount=quote.shipping_amount,
                restocking_fee=quote.restocking_fee,
                adjustment=quote.adjustment,
                adjustment_reason=quote.adjustment_reason[:255],
                exchange_credit=quote.exchange_credit,
                method=method[:50],
                processor_reference=processor_reference[:100],
                reason=reason[:255],
                created_by=actor[:150],
            )
    except IntegrityError:
        raise RefundConflict(
            f"Order {order.number} already has a refund with processor reference "
            f"'{processor_reference}'.",
            extra={"processor_reference": processor_reference},
        )
    refund.number = f"RF{100000 + refund.pk}"
    Refund.objects.filter(pk=refund.pk).update(number=refund.number)
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_line=line.order_line,
            quantity=line.quantity,
            amount=line.amount,
            tax_amount=line.tax_amount,
        )
        for line in quote.lines
    )
    _announce(order, refund, quote, actor, return_request)
    return refund


def order_lifetime_value_reduce(*, order: Order, amount: Decimal) -> None:
    """Take money going back to the customer for the order off their lifetime value.

    Call inside the transaction that records it, before recording. Never more than the order
    still adds (`order_lifetime_value_left`), so one order's refunds cannot eat into what the
    customer's other orders count.
    """
    left = selectors.order_lifetime_value_left(order=order)
    customer_lifetime_totals_reduce(customer_id=order.customer_id, value=min(amount, left))


def _announce(order, refund: Refund, quote: RefundQuote, actor: str, return_request) -> None:
    message = f"Refund {refund.number}: {refund.amount} {order.currency} ({refund.kind})"
    order_return_event_record(
        order=order,
        type="refund_created",
        actor=actor,
        message=message,
        data={"refund": refund.number, "amount": str(refund.amount), "kind": refund.kind},
    )
    if return_request is not None:
        return_event_record(
            return_request=return_request,
            type="refund_created",
            actor=actor,
            message=message,
            data={"refund": refund.number, **quote.as_dict()},
        )
    outbox_emit(
        topic="refund.created", payload=refund_created_payload(refund), reference=order.number
    )
    refund_notify(
        order=order,
        refund_reference=refund.number,
        amount=refund.amount,
        actor=actor,
        tax_amount=refund.tax_amount,
        shipping_amount=refund.shipping_amount,
        method=refund.method,
        reason=refund.reason,
        lines={line.order_line.pk: line.quantity for line in quote.lines},
        refund=refund,
    )
