"""A stock level's `updated_at` moves with every change to its numbers, and the stock-levels
list pages through changes (`?updated_after=`, `?ordering=updated_at`) for integrators."""

from datetime import timedelta

import pytest

from inventory.models import StockLevel
from inventory.services import (
    Hold,
    reservation_consume,
    reservation_release,
    stock_allocate,
    stock_change,
    stock_set,
)
from inventory.transfers import TransferItem, transfer_create, transfer_receive, transfer_ship
from tests.factories import WarehouseFactory
from tests.polling import START, at, updated_at

pytestmark = pytest.mark.django_db



def test_every_change_of_a_stock_level_moves_its_updated_at(stock):
    level = stock("SKU-UPD", "MAIN", 10)
    steps = [
        ("adjusted", lambda: stock_change(level=level, delta=-3, actor="t")),
        ("counted", lambda: stock_set(level=level, on_hand=9, actor="t")),
        ("allocated", lambda: stock_allocate(
            holds=[Hold(level.product_id, level.warehouse_id, 4, "order_line:1")], actor="t"
        )),
        ("released", lambda: reservation_release(reference="order_line:1", quantity=1)),
        ("shipped", lambda: reservation_consume(reference="order_line:1", quantity=3)),
    ]
    for minute, (name, step) in enumerate(steps, start=1):
        with at(minute):
            step()
        assert updated_at(level) == START + timedelta(minutes=minute), name
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (6, 0)


def test_a_transfer_moves_both_stock_levels(stock):
    source = stock("SKU-T", "MAIN", 10)
    destination = WarehouseFactory(code="SECOND")
    with at(0):
        transfer = transfer_create(
            source=source.warehouse, destination=destination,
            items=[TransferItem(product=source.product, quantity=4)], actor="t",
        )
    with at(5):
        transfer_ship(transfer=transfer, actor="t")
    assert updated_at(source) == START + timedelta(minutes=5)
    with at(9):
        transfer_receive(transfer=transfer, actor="t")
    arrived = StockLevel.objects.get(product=source.product, warehouse=destination)
    assert (arrived.on_hand, arrived.updated_at) == (4, START + timedelta(minutes=9))


def test_a_poller_sees_each_stock_change_once(stock, make_client):
    client = make_client(scopes=["inventory:read"])
    with at(0):
        levels = [stock(f"SKU-{index}", f"W{index}", 5) for index in range(3)]
    with at(1):
        stock_change(level=levels[2], delta=1, actor="t")
    with at(2):
        stock_change(level=levels[0], delta=1, actor="t")
    response = client.get(
        "/api/v1/stock-levels/",
        {"ordering": "updated_at", "limit": 1, "updated_after": (START).isoformat()},
    )
    seen = []
    while True:
        assert response.status_code == 200, response.content
        seen += [(row["sku"], row["on_hand"]) for row in response.json()["results"]]
        if not response.json()["next"]:
            break
        response = client.get(response.json()["next"])
    assert seen == [("SKU-2", 6), ("SKU-0", 6)]


def test_a_bad_updated_after_on_stock_levels_is_a_400(make_client):
    client = make_client(scopes=["inventory:read"])
    response = client.get("/api/v1/stock-levels/", {"updated_after": "2026-13-40"})
    assert response.status_code == 400
    assert "updated_after" in response.json()["errors"]
