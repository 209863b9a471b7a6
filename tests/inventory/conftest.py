"""Inventory fixtures: stocked levels built through the services, never by writing numbers."""

import pytest

from inventory.models import StockLevel
from inventory.services import stock_receive
from tests.factories import ProductFactory, WarehouseFactory


@pytest.fixture
def stock(db):
    """`stock(sku, warehouse_code, on_hand, **level_fields)` -> a StockLevel with a receipt."""

    def build(sku: str = "SKU-A", warehouse: str = "MAIN", on_hand: int = 0, **fields):
        product = ProductFactory(sku=sku)
        location = WarehouseFactory(code=warehouse)
        level, _ = StockLevel.objects.get_or_create(product=product, warehouse=location)
        if fields:
            StockLevel.objects.filter(pk=level.pk).update(**fields)
        if on_hand:
            stock_receive(product=product, warehouse=location, quantity=on_hand, actor="test")
        level.refresh_from_db()
        return level

    return build

