"""Migration 0009 works out `cancelled_total` of orders cancelled in part or in full before it,
and corrects the refund due that cancelling used to owe back on part-paid orders."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0008_customer_emails"), ("returns", "0001_initial")]
AFTER = [("orders", "0009_order_cancelled_total")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    """Leave the test database as every other test expects it: fully migrated."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_cancelled_totals_and_refunds_due_are_worked_out():
    apps = migrate(BEFORE)
    try:
        Channel = apps.get_model("orders", "SalesChannel")
        Order = apps.get_model("orders", "Order")
        Line = apps.get_model("orders", "OrderLine")
        Product = apps.get_model("inventory", "Product")
        Customer = apps.get_model("customers", "Customer")
        channel = Channel.objects.create(code="web", name="Web")
        customer = Customer.objects.create(email="a@b.c")
        product = Product.objects.create(sku="A", name="A")

        def order(number, *, paid, refund_due, cancelled):
            """A 2 x 10.00 + 1 x 10.00 order with 1.00 tax (31.00), `cancelled` units of the
            first line cancelled, as cancelling left it before the migration."""
            made = Order.objects.create(
                number=number, channel=channel, channel_order_id=number, email="a@b.c",
                customer=customer,
                subtotal=Decimal("30.00"), tax_total=Decimal("1.00"), total=Decimal("31.00"),
                paid_total=paid, refund_due=refund_due, placed_at=timezone.now(),
            )
            for quantity, units in ((2, cancelled), (1, 0)):
                Line.objects.create(
                    order=made, product=product, sku="A", name="A", quantity=quantity,
                    quantity_cancelled=units, unit_price=Decimal("10.00"),
                    line_total=Decimal("10.00") * quantity,
                )
            return made.pk

        paid_in_full = order("P1", paid=Decimal("31.00"), refund_due=Decimal("20.67"), cancelled=2)
        part_paid = order("P2", paid=Decimal("15.00"), refund_due=Decimal("15.00"), cancelled=2)
        untouched = order("P3", paid=Decimal("31.00"), refund_due=Decimal("0.00"), cancelled=0)
    finally:
        apps = migrate(AFTER)
    Order = apps.get_model("orders", "Order")
    figures = {
        pk: Order.objects.values_list("cancelled_total", "refund_due").get(pk=pk)
        for pk in (paid_in_full, part_paid, untouched)
    }
    assert figures[paid_in_full] == (Decimal("20.67"), Decimal("20.67"))
    # 10.33 is left to pay for and 15.00 was paid: 4.67 is owed back, not the 15.00 recorded.
    assert figures[part_paid] == (Decimal("20.67"), Decimal("4.67"))
    assert figures[untouched] == (Decimal("0.00"), Decimal("0.00"))
