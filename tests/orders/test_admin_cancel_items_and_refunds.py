"""Staff cancel some units of an order and pay the refund due from the admin."""

from decimal import Decimal

import pytest
from django.urls import reverse

from oms_project.models import EmailMessage
from orders.models import Order
from returns.models import Refund
from tests.orders.shipping import line_ids, paid_order

pytestmark = pytest.mark.django_db


def test_cancel_some_units_then_pay_the_refund_due(admin_client, shop, stock):
    order = paid_order(shop, stock, quantity_a=3, quantity_b=1)
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    cancel_url = reverse("admin:orders_order_cancel_items", args=[order.pk])
    assert cancel_url in page.content.decode()
    refund_url = reverse("admin:orders_order_refund_due", args=[order.pk])
    assert refund_url not in page.content.decode()  # nothing is owed back yet
    lines = line_ids(order)

    nothing = admin_client.post(cancel_url, {"reason": "x", f"line_{lines['A']}": 0})
    assert "Choose at least one unit to cancel." in nothing.content.decode()
    too_many = admin_client.post(cancel_url, {"reason": "x", f"line_{lines['A']}": 4})
    assert too_many.status_code == 200
    assert order.lines.get(sku="A").quantity_cancelled == 0

    done = admin_client.post(cancel_url, {"reason": "Out of blue", f"line_{lines['A']}": 2})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.lines.get(sku="A").quantity_cancelled == 2
    assert order.refund_due > 0
    assert EmailMessage.objects.filter(template="order_cancelled").count() == 1

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert refund_url in page.content.decode()
    over = admin_client.post(refund_url, {"amount": order.refund_due + Decimal("0.01")})
    assert over.status_code == 200 and not Refund.objects.exists()
    bad_method = admin_client.post(refund_url, {"amount": order.refund_due, "method": "bitcoin"})
    assert "Use one of:" in bad_method.content.decode() and not Refund.objects.exists()
    paid = admin_client.post(refund_url, {"amount": order.refund_due, "processor_reference": "r"})
    assert paid.status_code == 302
    refund = Refund.objects.get()
    assert (refund.kind, refund.method) == ("cancellation", "card")
    assert Order.objects.get(pk=order.pk).refund_due == Decimal("0.00")


def test_the_pages_say_why_when_they_do_not_apply(admin_client, shop, stock):
    from orders.services import order_cancel

    order = paid_order(shop, stock, quantity_a=1)
    refund_url = reverse("admin:orders_order_refund_due", args=[order.pk])
    nothing_owed = admin_client.get(refund_url, follow=True)
    assert "Nothing is owed back on order" in nothing_owed.content.decode()
    order_cancel(order=order, actor="test")
    cancel_url = reverse("admin:orders_order_cancel_items", args=[order.pk])
    refused = admin_client.post(cancel_url, {"reason": "x"}, follow=True)
    assert f"Order {order.number} cannot be cancelled" in refused.content.decode()
