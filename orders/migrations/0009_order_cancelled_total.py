from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations, models
from django.db.models import Sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _units_value(order, line, units: int) -> Decimal:
    """What `units` of a line are worth with their share of order discount and tax (the rule
    of `orders.pricing.units_value` when this migration was written)."""
    if line.quantity <= 0 or units <= 0:
        return ZERO
    goods = line.line_total * units / line.quantity
    if order.subtotal > 0:
        share = goods / order.subtotal
        goods = goods - order.discount_total * share + order.tax_total * share
    return max(_money(goods), ZERO)


def cancelled_totals_fill(apps, schema_editor):
    """Work out what earlier cancellations took off each order, as cancelling does now, and
    what of it is owed back: only what was paid beyond what is left to pay for (cancelling
    used to owe back the whole value, part payments or not), less what was refunded for it."""
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    Refund = apps.get_model("returns", "Refund")
    order_ids = (
        OrderLine.objects.filter(quantity_cancelled__gt=0).values_list("order_id", flat=True)
    )
    for order in Order.objects.filter(pk__in=set(order_ids)).iterator(chunk_size=500):
        lines = list(OrderLine.objects.filter(order_id=order.pk))
        if all(line.quantity_cancelled >= line.quantity for line in lines):
            order.cancelled_total = order.total
        else:
            order.cancelled_total = sum(
                (_units_value(order, line, line.quantity_cancelled) for line in lines), ZERO
            )
        owed = max(order.paid_total - (order.total - order.cancelled_total), ZERO)
        refunded = Refund.objects.filter(order_id=order.pk, kind="cancellation").aggregate(
            total=Sum("amount")
        )["total"] or ZERO
        order.refund_due = max(_money(owed - refunded), ZERO)
        order.save(update_fields=["cancelled_total", "refund_due"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_customer_emails"),
        ("returns", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="cancelled_total",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                editable=False,
                help_text="What cancelled units took off the order (with their share of "
                "discount, tax and, once all are cancelled, shipping): the order is paid for "
                "at its total less this.",
                max_digits=14,
            ),
        ),
        migrations.RunPython(cancelled_totals_fill, migrations.RunPython.noop),
    ]
