"""The documented JSON shapes of events and webhooks (for ERP and accounting).

See `docs/events.md` for every topic, its payload and how accounting books it.
"""

from decimal import Decimal

from orders import pricing
from orders.models import Order


def order_payload(order: Order, lines=None) -> dict:
    """Order header, money and lines as plain JSON (amounts as strings).

    `lines` may give the order's lines in pk order when the caller already holds them.
    """
    lines = list(order.lines.all().order_by("pk")) if lines is None else lines
    return {
        "number": order.number,
        "channel": order.channel.code,
        "channel_order_id": order.channel_order_id,
        "status": order.status,
        "customer": {"id": order.customer_id, "email": order.email},
        "currency": order.currency,
        "subtotal": str(order.subtotal),
        "discount_total": str(order.discount_total),
        "shipping_total": str(order.shipping_total),
        "tax_total": str(order.tax_total),
        "total": str(order.total),
        "paid_total": str(order.paid_total),
        "cancelled_total": str(order.cancelled_total),
        "refund_due": str(order.refund_due),
        "placed_at": order.placed_at.isoformat(),
        "lines": [
            {
                "line_id": line.pk,
                "sku": line.sku,
                "quantity": line.quantity,
                "quantity_shipped": line.quantity_shipped,
                "quantity_cancelled": line.quantity_cancelled,
                "unit_price": str(line.unit_price),
                "discount": str(line.discount),
                "line_total": str(line.line_total),
            }
            for line in lines
        ],
    }


def order_paid_payload(order: Order, lines=None, *, exchange_credit=None) -> dict:
    """`order.paid`: the order payload and the `sale` accounting books: what the payments
    cover, by part: the order less what cancelled units took off before it was paid for
    (`Order.cancelled_total`), plus what was paid for them all the same, and how much of it a
    return's exchange credit paid (value the customer had already paid for; `exchange_credit`
    may give it when the caller knows it, else it is read)."""
    from orders.refund_methods import paid_tenders

    lines = list(order.lines.all().order_by("pk")) if lines is None else lines
    if exchange_credit is None:
        exchange_credit = paid_tenders(order).credit_paid
    payload = order_payload(order, lines=lines)
    parts = pricing.order_cancelled_parts(order, lines)
    # What was paid for cancelled units before the sale (a part payment a cancellation left
    # over) is in the sale too, by part: the customer paid it, and its refunds are booked as
    # they go back. It is the payments over what the order still costs, not `refund_due`,
    # which a goodwill refund given before the sale may have capped.
    still_costs = order.total - order.cancelled_total
    paid_for_cancelled = min(max(order.paid_total - still_costs, 0), order.cancelled_total)
    share = paid_for_cancelled / order.cancelled_total if order.cancelled_total > 0 else 0
    kept = {name: parts[name] - pricing.money(parts[name] * share) for name in parts}
    payload["sale"] = {
        "total": str(still_costs + paid_for_cancelled),
        "tax_total": str(order.tax_total - kept["tax"]),
        "shipping_total": str(order.shipping_total - kept["shipping"]),
        "discount_total": str(order.discount_total - kept["discount"]),
        "exchange_credit": str(exchange_credit),
    }
    return payload


def refund_payload(
    *,
    order: Order,
    refund_reference: str,
    amount: Decimal,
    tax_amount: Decimal,
    shipping_amount: Decimal,
    method: str,
    reason: str,
    lines: dict[int, int],
    actor: str,
    of_sale: bool,
) -> dict:
    """The `refund.completed` event: money returned to the customer, with its tax and shipping
    parts (amounts as strings, in the order's currency), and whether it pays back part of a
    sale (`of_sale`: the order was paid in full once, so `order.paid` booked the money) or a
    part payment of an order cancelled before it was ever paid in full."""
    return {
        "refund_reference": refund_reference,
        "of_sale": of_sale,
        "order": order.number,
        "channel": order.channel.code,
        "currency": order.currency,
        "amount": str(amount),
        "tax_amount": str(tax_amount),
        "shipping_amount": str(shipping_amount),
        "method": method,
        "reason": reason,
        "lines": [
            {"line_id": line_id, "quantity": units} for line_id, units in sorted(lines.items())
        ],
        "actor": actor,
    }
