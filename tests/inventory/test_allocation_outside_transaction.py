"""Allocation called outside any transaction (PostgreSQL: one statement, committed by itself)."""

import pytest
from django.db import connection

from inventory.errors import InsufficientStock
from inventory.models import StockLevel, StockMovement, StockReservation
from inventory.services import Hold, stock_allocate
from oms_project.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def hold(level, quantity, reference="order_line:1"):
    return Hold(level.product_id, level.warehouse_id, quantity, reference)


def test_a_fall_to_the_reorder_point_alerts_after_an_allocation_outside_a_transaction(stock):
    level = stock(on_hand=10, reorder_point=4)
    assert not connection.in_atomic_block

    stock_allocate(holds=[hold(level, 5)])
    assert OutboxEvent.objects.filter(topic="inventory.low_stock").count() == 0
    stock_allocate(holds=[hold(level, 1, "order_line:2")])

    [event] = OutboxEvent.objects.filter(topic="inventory.low_stock")
    assert (event.payload["available"], event.reference) == (4, f"stock_level:{level.pk}")
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (10, 6)
    assert level.low_stock_alerted_at is not None


def test_a_short_basket_outside_a_transaction_writes_nothing(stock):
    plenty, short = stock("SKU-A", on_hand=10), stock("SKU-B", on_hand=1)

    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=[hold(plenty, 3), hold(short, 2)])

    assert caught.value.short == [
        {"sku": "SKU-B", "warehouse": "MAIN", "requested": 2, "available": 1}
    ]
    assert list(StockLevel.objects.order_by("pk").values_list("allocated", flat=True)) == [0, 0]
    assert StockReservation.objects.count() == 0
    assert StockMovement.objects.filter(reason="allocation").count() == 0
