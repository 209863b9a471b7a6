"""Allocation with DATABASE_PREPARE_ALLOCATION off (behind a pooler that cannot keep prepared
statements): the same results, and the connection's prepare setting is left alone."""

import pytest
from django.db import connection

from inventory.errors import InsufficientStock
from inventory.models import StockLevel, StockMovement, StockReservation
from inventory.services import Hold, stock_allocate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unprepared(settings):
    settings.DATABASE_PREPARE_ALLOCATION = False


def hold(level, quantity, reference):
    return Hold(level.product_id, level.warehouse_id, quantity, reference)


def test_unprepared_allocation_reserves_and_records(stock):
    first, second = stock("SKU-A", on_hand=10), stock("SKU-B", on_hand=4)
    connection.ensure_connection()
    threshold = getattr(connection.connection, "prepare_threshold", "n/a")
    reservations = stock_allocate(
        holds=[hold(first, 3, "order_line:1"), hold(first, 2, "order_line:1"),
               hold(second, 4, "order_line:2")]
    )
    assert sorted((r.stock_level_id, r.reference, r.quantity) for r in reservations) == [
        (first.pk, "order_line:1", 5), (second.pk, "order_line:2", 4),
    ]
    assert dict(StockLevel.objects.values_list("pk", "allocated")) == {first.pk: 5, second.pk: 4}
    assert StockReservation.objects.count() == 2
    assert StockMovement.objects.filter(reason="allocation").count() == 2
    assert getattr(connection.connection, "prepare_threshold", "n/a") == threshold


def test_unprepared_short_basket_names_the_line_and_writes_nothing(stock):
    plenty, short = stock("SKU-A", on_hand=10), stock("SKU-B", on_hand=1)
    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=[hold(plenty, 3, "order_line:1"), hold(short, 2, "order_line:2")])
    assert caught.value.short == [
        {"sku": "SKU-B", "warehouse": "MAIN", "requested": 2, "available": 1}
    ]
    assert not StockReservation.objects.exists()
    assert sum(StockLevel.objects.values_list("allocated", flat=True)) == 0
