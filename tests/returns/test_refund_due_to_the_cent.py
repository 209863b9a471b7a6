"""The order's money columns stay exact to the cent however many cancellations and refunds
add to and take from them, on SQLite too (which computes `F("refund_due") + amount` in floating
point: 1.38 + 1.59 = 2.9699999999999998)."""

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import order_cancel, order_create
from returns.services import order_refund
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def cheap_order(shop, stock) -> Order:
    """A (1.38) and B (1.59), no tax or shipping, 2.97 paid by card."""
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    return order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            lines=[
                {"sku": "A", "quantity": 1, "unit_price": Decimal("1.38")},
                {"sku": "B", "quantity": 1, "unit_price": Decimal("1.59")},
            ],
            shipping_total=Decimal("0.00"),
            tax_total=Decimal("0.00"),
            payment={"method": "card", "amount": Decimal("2.97"), "status": "captured",
                     "reference": "p1"},
        ),
    )


def test_a_refund_due_added_up_from_two_cancellations_settles_to_the_cent(shop, stock):
    order = cheap_order(shop, stock)
    order_cancel(order=order, actor="test", lines={order.lines.get(sku="A").pk: 1})
    order_cancel(order=order, actor="test")

    exact = Order.objects.filter(
        pk=order.pk, refund_due=Decimal("2.97"), cancelled_total=Decimal("2.97")
    )
    assert exact.exists(), "the stored refund due or cancelled total drifted off the cent"
    refund = order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert refund.amount == Decimal("2.97")
    order.refresh_from_db()
    assert order.refund_due == Decimal("0.00")
    assert Order.objects.filter(pk=order.pk, refund_due=0).exists()


def test_a_refund_due_paid_in_parts_leaves_exactly_nothing(shop, stock):
    """2.97 due, paid back as 1.59 and then 1.38: the second settles all that is left."""
    order = cheap_order(shop, stock)
    order_cancel(order=order, actor="test")

    order_refund(order=order, kind="cancellation", actor="test", reason="",
                 amount=Decimal("1.59"))
    last = order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert last.amount == Decimal("1.38")
    assert Order.objects.filter(pk=order.pk, refund_due=0).exists()
