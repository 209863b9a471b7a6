"""Where money paid for an order goes back when it is refunded.

A refund goes back the way the order was paid (`Order.payment_method`, the method of its
last captured payment) unless staff name another method. A replacement order from a return
(`returns.services.exchanges`) is paid with that return's *exchange credit*: money refunded
on it goes back to that credit, never to a card or bank account, and customers are told so
in the cancellation and refund e-mails. When the customer paid the rest of a dearer
replacement (by card, say), a refund goes back to both: to the card at most what it paid,
first, and the rest to the credit (`returns.services.refunds` records one refund each).
"""

from dataclasses import dataclass
from decimal import Decimal

from orders.models import Order, Payment

EXCHANGE_CREDIT = "exchange_credit"
ORIGINAL_PAYMENT = "original_payment"

# How customers read the payment method codes channels send (`Payment.method`, free text);
# a code not listed reads as its words ("store_voucher" -> "store voucher").
PAYMENT_METHOD_NAMES = {
    "card": "card",
    "credit_card": "credit card",
    "debit_card": "debit card",
    "paypal": "PayPal",
    "gift_card": "gift card",
    "bank_transfer": "bank transfer",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "amazon_pay": "Amazon Pay",
    "klarna": "Klarna",
    "cod": "cash on delivery",
    EXCHANGE_CREDIT: "exchange credit",
    ORIGINAL_PAYMENT: "original payment method",
}


def payment_method_name(method: str) -> str:
    """The payment method as the customer reads it in an e-mail ("paypal" -> "PayPal")."""
    code = str(method or "").strip().lower().replace("-", "_").replace(" ", "_")
    return PAYMENT_METHOD_NAMES.get(code, code.replace("_", " "))


@dataclass(frozen=True)
class RefundDestination:
    """A refund's method and, for exchange credit, the return (RMA number) it goes back to."""

    method: str
    exchange_return: str = ""
    # Paid with exchange credit and another method (`method`): the refund goes back to both.
    is_split: bool = False

    @property
    def is_exchange_credit(self) -> bool:
        return self.method == EXCHANGE_CREDIT and not self.is_split

    @property
    def method_name(self) -> str:
        """`method` as the customer reads it (`payment_method_name`)."""
        return payment_method_name(self.method)


def refund_method_default(order: Order) -> str:
    """The method a refund of the order is recorded with when staff name none (the rule
    `returns.services.refunds` applies)."""
    return order.payment_method or ORIGINAL_PAYMENT


@dataclass(frozen=True)
class PaidTenders:
    """What an order's captured payments brought, split into exchange credit and the rest."""

    credit_paid: Decimal
    credit_return: str  # the return (RMA number) whose credit paid first, "" if none
    other_paid: Decimal
    other_method: str  # the method of the last captured other payment, "" if none

    @property
    def has_both(self) -> bool:
        return bool(self.credit_paid) and bool(self.other_method)


def paid_tenders(order: Order) -> PaidTenders:
    """How the order was paid (one query over its captured payments)."""
    credit_paid = other_paid = Decimal("0.00")
    credit_return = other_method = ""
    for method, amount, reference in (
        Payment.objects.filter(order=order, status=Payment.Status.CAPTURED)
        .order_by("pk")
        .values_list("method", "amount", "reference")
    ):
        if method == EXCHANGE_CREDIT:
            credit_paid += amount
            credit_return = credit_return or reference
        else:
            other_paid += amount
            other_method = method
    return PaidTenders(credit_paid, credit_return, other_paid, other_method)


def refund_destination(*, order: Order, method: str = "") -> RefundDestination:
    """Where a refund of the order with `method` (default: `refund_method_default`, or both
    the credit and the other method for an order paid with both) goes.

    Exchange credit names the return whose credit paid the order: the reference of its
    captured exchange-credit payment.
    """
    if method and method != EXCHANGE_CREDIT:
        return RefundDestination(method=method)
    tenders = paid_tenders(order)
    if not method and tenders.has_both:
        return RefundDestination(
            method=tenders.other_method, exchange_return=tenders.credit_return, is_split=True
        )
    method = method or refund_method_default(order)
    if method != EXCHANGE_CREDIT:
        return RefundDestination(method=method)
    return RefundDestination(method=method, exchange_return=tenders.credit_return)
