"""The documented JSON shape of an order in events and webhooks (for ERP and accounting)."""

from orders.models import Order


def order_payload(order: Order) -> dict:
    """Order header, money and lines as plain JSON (amounts as strings)."""
    lines = list(order.lines.all().order_by("pk"))
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
