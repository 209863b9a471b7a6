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

from orders.models import Order, Payment

EXCHANGE_CREDIT = "exchange_credit"
ORIGINAL_PAYMENT = "original_payment"


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


def refund_method_default(order: Order) -> str:
    """The method a refund of the order is recorded with when staff name none (the rule
    `returns.services.refunds` applies)."""
    return order.payment_method or ORIGINAL_PAYMENT


def refund_destination(*, order: Order, method: str = "") -> RefundDestination:
    """Where a refund of the order with `method` (default: `refund_method_default`, or both
    the credit and the other method for an order paid with both) goes.

    Exchange credit names the return whose credit paid the order: the reference of its
    captured exchange-credit payment.
    """
    captured = list(
        Payment.objects.filter(order=order, status=Payment.Status.CAPTURED)
        .order_by("pk")
        .values_list("method", "reference")
    )
    credit = [reference for paid_with, reference in captured if paid_with == EXCHANGE_CREDIT]
    others = [paid_with for paid_with, _reference in captured if paid_with != EXCHANGE_CREDIT]
    if not method and credit and others:
        return RefundDestination(method=others[-1], exchange_return=credit[0], is_split=True)
    method = method or refund_method_default(order)
    if method != EXCHANGE_CREDIT:
        return RefundDestination(method=method)
    return RefundDestination(method=method, exchange_return=credit[0] if credit else "")
