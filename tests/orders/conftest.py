"""Fixtures for order tests: a channel with two warehouses, stocked products, a payload."""

from decimal import Decimal

import pytest

from inventory.services import stock_receive
from tests.factories import (
    ProductFactory,
    SalesChannelFactory,
    ServiceLevelFactory,
    WarehouseFactory,
)
from warehouses.models import Warehouse


@pytest.fixture
def api(shop, make_client):
    """An API client holding a key of the shop's channel."""
    return make_client(channel=shop["channel"])


@pytest.fixture
def shop(db):
    """A web channel served by EAST (priority 1) and WEST (priority 2) plus a pickup store."""
    channel = SalesChannelFactory(code="web", name="Web shop", support_email="help@shop.test")
    east = WarehouseFactory(code="EAST", priority=1)
    west = WarehouseFactory(code="WEST", priority=2)
    store = WarehouseFactory(
        code="STORE1",
        kind="store",
        priority=5,
        pickup_enabled=True,
        can_ship=False,
        name="Downtown store",
    )
    channel.warehouses.add(east, west, store)
    service_level = ServiceLevelFactory(code="ground")
    products = {sku: ProductFactory(sku=sku, name=f"Product {sku}") for sku in ("A", "B", "C")}
    return {
        "channel": channel,
        "east": east,
        "west": west,
        "store": store,
        "service_level": service_level,
        "products": products,
    }


@pytest.fixture
def stock(shop):
    def put(sku: str, warehouse: str, quantity: int):
        return stock_receive(
            product=shop["products"][sku],
            warehouse=Warehouse.objects.get(code=warehouse),
            quantity=quantity,
            reference="test",
            actor="test",
        )

    return put


def order_data(**overrides) -> dict:
    data = {
        "channel_order_id": "WEB-1",
        "customer": {
            "email": "Jane@Example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "channel_customer_id": "c-1",
        },
        "shipping_address": {
            "first_name": "Jane",
            "last_name": "Doe",
            "line1": "1 Main St",
            "city": "Reno",
            "postal_code": "89501",
            "country": "US",
        },
        "billing_address": {
            "first_name": "Jane",
            "last_name": "Doe",
            "line1": "1 Main St",
            "city": "Reno",
            "postal_code": "89501",
            "country": "US",
        },
        "fulfillment_method": "ship",
        "shipping_method": "ground",
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")}],
        "shipping_total": Decimal("5.00"),
        "tax_total": Decimal("2.00"),
        "discount_total": Decimal("0.00"),
        "payment": {
            "method": "card",
            "amount": Decimal("27.00"),
            "status": "captured",
            "reference": "pay-1",
        },
        "attributes": {"gift_message": "Happy birthday"},
    }
    data.update(overrides)
    return data
