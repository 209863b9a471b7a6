"""Customer e-mails about an order, rendered with the channel's name and branding."""

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q
from django.utils.functional import SimpleLazyObject

from oms_project.notifications import email_queue
from orders import pricing
from orders.models import Order, OrderLine, Payment
from orders.refund_methods import payment_method_name, refund_destination
from orders.states import OrderStatus


def order_email(*, order: Order, template: str, extra: dict | None = None, lines=None):
    """Queue `templates/emails/<template>.*` to the order's customer (sent after commit).

    `lines` may give the order's lines in pk order when the caller already holds them.
    The context says where a refund of the order goes (`refund_to`, see
    `orders.refund_methods`), so no e-mail promises money to a card that goes back as
    exchange credit; `extra` may name another. It also holds what the order comes to with
    cancelled units left out (`summary`, for `_lines.*`), the lines waiting for stock
    (`waiting_lines`), the captured payments (`captured_payments`), a function naming a
    payment method in words (`payment_method_name`); `refund_issued` gets the recorded refund
    from its caller (`extra["refund_record"]`). Returns the logged `EmailMessage`, or
    None when the customer is not e-mailed about this order (`customer_may_be_emailed`).
    """
    if not customer_may_be_emailed(order):
        return None
    lines = list(order.lines.all().order_by("pk")) if lines is None else lines
    extra = extra or {}
    context = {
        "order": order,
        "lines": lines,
        "channel": order.channel,
        "brand_name": order.channel.name,
        "brand_color": order.channel.brand_color,
        "support_email": order.channel.support_email,
        # Lazy ones are read only by the templates that mention them (they may query).
        "refund_to": SimpleLazyObject(lambda: refund_destination(order=order)),
        "summary": SimpleLazyObject(lambda: order_summary(order=order, lines=lines)),
        "waiting_lines": SimpleLazyObject(lambda: lines_waiting_for_stock(order, lines)),
        "captured_payments": SimpleLazyObject(lambda: captured_payments(order)),
        "payment_method_name": payment_method_name,
        **extra,
    }
    return email_queue(
        to=order.email, template=template, context=context, reference=f"order:{order.number}"
    )


class SummaryRow(NamedTuple):
    line: OrderLine
    units: int
    amount: Decimal


@dataclass(frozen=True)
class OrderSummary:
    """What the customer gets and pays for: the lines' units less the cancelled ones, and the
    order's money less what cancellations took off (`Order.cancelled_total`)."""

    rows: list[SummaryRow]
    cancelled: list[tuple[OrderLine, int]]
    shipping: Decimal
    tax: Decimal
    discount: Decimal
    total: Decimal


def order_summary(*, order: Order, lines: list[OrderLine]) -> OrderSummary:
    """The order's lines and totals as the e-mails list them (`templates/emails/_lines.*`).

    A line's amount is its total for the units not cancelled; the shipping, tax and discount
    lose the cancelled units' shares (`pricing.cancelled_parts`) and the total is what is left
    to pay for, `total - cancelled_total`.
    """
    parts = pricing.order_cancelled_parts(order, lines)
    rows = []
    for line in lines:
        units = line.quantity - line.quantity_cancelled
        if units > 0:
            amount = line.line_total
            if line.quantity_cancelled:
                amount = pricing.money(line.line_total * units / line.quantity)
            rows.append(SummaryRow(line, units, amount))
    return OrderSummary(
        rows=rows,
        cancelled=[(line, line.quantity_cancelled) for line in lines if line.quantity_cancelled],
        shipping=order.shipping_total - parts["shipping"],
        tax=order.tax_total - parts["tax"],
        discount=order.discount_total - parts["discount"],
        total=order.total - order.cancelled_total,
    )


def lines_waiting_for_stock(order: Order, lines: list[OrderLine]) -> list[OrderLine]:
    """The lines of a backordered order with units waiting for stock (`quantity_open`)."""
    if order.status != OrderStatus.BACKORDERED:
        return []
    return [line for line in lines if line.quantity_open > 0]


def captured_payments(order: Order) -> list[Payment]:
    """The order's captured payments, first first (one query)."""
    return list(
        Payment.objects.filter(order=order, status=Payment.Status.CAPTURED).order_by("pk")
    )


def emailable(prefix: str = "") -> Q:
    """The orders whose customer the OMS e-mails, as a filter (`prefix` e.g. "order__")."""
    return Q(**{f"{prefix}notify_customer": True, f"{prefix}channel__customer_emails": True})


def customer_may_be_emailed(order: Order) -> bool:
    """Whether the OMS e-mails this order's customer: the channel sends customer e-mails and
    the order did not come in without them (`notify_customer`, e.g. a historic import)."""
    return order.notify_customer and order.channel.customer_emails


def order_emails_withheld(messages) -> dict[int, str]:
    """Send check (`email_register_send_check`): an order e-mail to the order's customer is
    withheld when the OMS does not e-mail that customer now, e.g. the channel turned customer
    e-mails off after it was queued (one query for the batch)."""
    numbers = {
        message.reference.partition(":")[2]
        for message in messages
        if message.reference.startswith("order:")
    }
    if not numbers:
        return {}
    orders = {
        order.number: order
        for order in Order.objects.filter(number__in=numbers)
        .select_related("channel")
        .only("number", "email", "notify_customer", "channel__name", "channel__customer_emails")
    }
    reasons = {}
    for message in messages:
        if not message.reference.startswith("order:"):
            continue
        order = orders.get(message.reference.partition(":")[2])
        if order is None or message.to.lower() != order.email.lower():
            continue  # not to the order's customer (a staff alert about the order)
        if not order.channel.customer_emails:
            reasons[message.pk] = f"{order.channel.name} does not send customer e-mails."
        elif not order.notify_customer:
            reasons[message.pk] = f"Order {order.number} came in without customer e-mails."
    return reasons
