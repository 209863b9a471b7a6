"""Backordered orders take newly received stock, oldest first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_create
from orders.services.backorders import backorders_allocate
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def test_received_stock_goes_to_the_oldest_backorder_first(shop, stock):
    now = timezone.now()
    older = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(channel_order_id="OLD", placed_at=now - timedelta(days=2)),
    )
    newer = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(channel_order_id="NEW", placed_at=now - timedelta(days=1)),
    )
    assert {older.status, newer.status} == {"backordered"}
    stock("A", "EAST", 2)
    result = backorders_allocate(product_ids=[shop["products"]["A"].pk], actor="test")
    assert result == {"orders": [older.number], "filled": [older.number]}
    assert Order.objects.get(pk=older.pk).status == "processing"
    assert Order.objects.get(pk=newer.pk).status == "backordered"


def test_nothing_waiting_changes_nothing(shop, stock):
    stock("A", "EAST", 2)
    assert backorders_allocate(product_ids=[shop["products"]["A"].pk], actor="test") == {
        "orders": [],
        "filled": [],
    }
