"""Fixtures for return tests: a delivered order with a discount, tax and shipping.

The order (channel `web`, shipped from EAST) has line A (2 x 10.00) and line B (3 x 5.00 less
a 1.00 line discount): subtotal 34.00, order discount 3.40, tax 2.72, shipping 5.00, total
38.32, all paid by card. One unit of A is worth 9.80 (tax 0.80); B's units are worth 4.57,
4.58 and 4.57 refunded one by one (13.72 together, tax 1.12).
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_create, shipment_create, shipment_mark_delivered
from tests.orders import conftest as order_fixtures
from tests.orders.conftest import order_data

# The order tests' fixtures: a web channel with EAST, WEST and a store, and stock for them.
shop = order_fixtures.shop
stock = order_fixtures.stock

TOTAL = Decimal("38.32")


def deliver_order(shop, stock, *, channel_order_id="WEB-R1", delivered_days_ago=1) -> Order:
    """A paid order of A and B, shipped in full from EAST and delivered."""
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    data = order_data(
        channel_order_id=channel_order_id,
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
            {
                "sku": "B",
                "quantity": 3,
                "unit_price": Decimal("5.00"),
                "discount": Decimal("1.00"),
            },
        ],
        discount_total=Decimal("3.40"),
        tax_total=Decimal("2.72"),
        shipping_total=Decimal("5.00"),
        payment={
            "method": "card",
            "amount": TOTAL,
            "status": "captured",
            "reference": f"pay-{channel_order_id}",
        },
    )
    order = order_create(channel=shop["channel"], data=data, actor="test")
    order.refresh_from_db()
    assert order.total == TOTAL and order.status == "processing"
    shipment = shipment_create(
        order=order,
        reference="S1",
        lines={line.pk: line.quantity for line in order.lines.all()},
        actor="test",
        warehouse=shop["east"],
        tracking_number="1Z1",
        service_level=shop["service_level"],
        shipped_at=timezone.now() - timedelta(days=delivered_days_ago + 2),
    )
    shipment_mark_delivered(
        shipment=shipment,
        actor="test",
        delivered_at=timezone.now() - timedelta(days=delivered_days_ago),
    )
    order.refresh_from_db()
    return order


def lines_by_sku(order: Order) -> dict:
    return {line.sku: line for line in order.lines.order_by("pk")}


@pytest.fixture
def delivered(shop, stock):
    return deliver_order(shop, stock)


def post_json(client, path: str, data, key: str | None = None, **headers):
    return client.post(
        path,
        data=json.dumps(data),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
        **headers,
    )
