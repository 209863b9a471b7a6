"""Backorder dates where people see them: the order API, the admin order page, and the
periodic tasks that keep them current."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import PurchaseOrder
from orders.models import OrderLine
from orders.replenishment import purchase_order_send_and_date
from orders.tasks import backorder_dates_refresh_task, replenishment_run_task
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from tests.orders.test_backorder_dates import backordered

pytestmark = pytest.mark.django_db


@pytest.fixture
def dated(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME", lead_time_days=9), product=shop["products"]["A"]
    )
    result = replenishment_run_task()
    assert len(result["purchase_orders"]) == 1
    purchase_order_send_and_date(purchase_order=PurchaseOrder.objects.get())  # dates the line
    return order


def test_order_api_shows_the_expected_date_of_a_backordered_line(staff_client, dated):
    response = staff_client.get(f"/api/v1/orders/{dated.number}/")
    [line] = response.json()["lines"]
    expected = (timezone.localdate() + timedelta(days=9)).isoformat()
    assert line["backorder_expected_date"] == expected


def test_admin_order_page_shows_the_purchase_order_and_date(admin_client, dated):
    purchase_order = PurchaseOrder.objects.get()
    page = admin_client.get(reverse("admin:orders_order_change", args=[dated.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "backorders (expected dates)" in content.lower()
    assert purchase_order.number in content
    assert reverse("admin:inventory_purchaseorder_change", args=[purchase_order.pk]) in content


def test_refresh_task_moves_the_date_when_the_purchase_order_is_rescheduled(dated):
    purchase_order = PurchaseOrder.objects.get()
    later = purchase_order.expected_date + timedelta(days=3)
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(expected_date=later)
    assert backorder_dates_refresh_task() == {"dated": 1, "notices": 1}
    assert OrderLine.objects.get(order=dated).backorder_expected_date == later
    assert backorder_dates_refresh_task() == {"dated": 0, "notices": 0}
