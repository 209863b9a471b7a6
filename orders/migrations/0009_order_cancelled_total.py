from decimal import Decimal

from django.db import migrations, models

from orders import pricing


def cancelled_totals_fill(apps, schema_editor):
    """Work out what earlier cancellations took off each order, as cancelling does now."""
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    order_ids = (
        OrderLine.objects.filter(quantity_cancelled__gt=0).values_list("order_id", flat=True)
    )
    for order in Order.objects.filter(pk__in=set(order_ids)).iterator(chunk_size=500):
        lines = list(OrderLine.objects.filter(order_id=order.pk))
        if all(line.quantity_cancelled >= line.quantity for line in lines):
            order.cancelled_total = order.total
        else:
            order.cancelled_total = sum(
                (
                    pricing.units_value(
                        line_total_amount=line.line_total,
                        quantity=line.quantity,
                        units=line.quantity_cancelled,
                        subtotal=order.subtotal,
                        order_discount=order.discount_total,
                        tax_total=order.tax_total,
                    )
                    for line in lines
                ),
                Decimal("0.00"),
            )
        order.save(update_fields=["cancelled_total"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_customer_emails"),
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
