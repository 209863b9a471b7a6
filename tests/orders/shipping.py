"""Helpers for shipment, tracking and notice tests: a paid, allocated order and API posts."""

import json
import uuid
from decimal import Decimal

from orders.models import Order
from orders.services import order_create
from tests.orders.conftest import order_data


def paid_order(shop, stock, *, quantity_a: int = 2, quantity_b: int = 0, **overrides) -> Order:
    """A paid order for `quantity_a` x A (and `quantity_b` x B), allocated at EAST."""
    stock("A", "EAST", 10)
    lines = [{"sku": "A", "quantity": quantity_a, "unit_price": Decimal("10.00")}]
    total = 10 * quantity_a + 7
    if quantity_b:
        stock("B", "EAST", 10)
        lines.append({"sku": "B", "quantity": quantity_b, "unit_price": Decimal("10.00")})
        total += 10 * quantity_b
    data = order_data(
        lines=lines,
        payment={
            "method": "card", "amount": Decimal(total), "status": "captured", "reference": "p"
        },
        **overrides,
    )
    order = order_create(channel=shop["channel"], data=data, actor="test")
    order.refresh_from_db()
    return order


def line_ids(order: Order) -> dict[str, int]:
    return {line.sku: line.pk for line in order.lines.order_by("pk")}


def post_json(client, path: str, data, key: str | None = None):
    return client.post(
        path,
        data=json.dumps(data),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )
