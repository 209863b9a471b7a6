"""Customer e-mails about an order, rendered with the channel's name and branding."""

from django.db.models import Q
from django.utils.functional import SimpleLazyObject

from oms_project.notifications import email_queue
from orders.models import Order
from orders.refund_methods import refund_destination


def order_email(*, order: Order, template: str, extra: dict | None = None, lines=None):
    """Queue `templates/emails/<template>.*` to the order's customer (sent after commit).

    `lines` may give the order's lines in pk order when the caller already holds them.
    The context says where a refund of the order goes (`refund_to`, see
    `orders.refund_methods`), so no e-mail promises money to a card that goes back as
    exchange credit; `extra` may name another. Returns the logged `EmailMessage`, or None
    when the customer is not e-mailed about this order (`customer_may_be_emailed`).
    """
    if not customer_may_be_emailed(order):
        return None
    lines = list(order.lines.all().order_by("pk")) if lines is None else lines
    context = {
        "order": order,
        "lines": lines,
        "channel": order.channel,
        "brand_name": order.channel.name,
        "brand_color": order.channel.brand_color,
        "support_email": order.channel.support_email,
        # Read only by the templates that mention it (it may query the order's payments).
        "refund_to": SimpleLazyObject(lambda: refund_destination(order=order)),
        **(extra or {}),
    }
    return email_queue(
        to=order.email, template=template, context=context, reference=f"order:{order.number}"
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
