"""Orders racing on PostgreSQL: idempotent creation and no oversell through the API."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import StockLevel
from orders.models import Order
from tests.orders.test_order_apis import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(count: int, call):
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            return call(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_twenty_identical_requests_create_exactly_one_order(shop, stock, make_client):
    stock("A", "EAST", 100)
    raw = make_client(channel=shop["channel"]).raw_key
    payload = json.dumps(body())

    def call(_index):
        return (
            client_for(raw)
            .post(
                "/api/v1/orders/",
                data=payload,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same-key",
            )
            .status_code
        )

    statuses = race(20, call)
    assert Order.objects.count() == 1
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 2


def test_buyers_racing_for_the_last_units_never_oversell(shop, stock, make_client):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 10)
    raw = make_client(channel=shop["channel"]).raw_key

    def call(index):
        data = body(
            channel_order_id=f"R-{index}",
            lines=[{"sku": "A", "quantity": 1, "unit_price": "10.00"}],
            payment={"method": "card", "amount": "17.00", "status": "captured"},
        )
        return (
            client_for(raw)
            .post(
                "/api/v1/orders/",
                data=json.dumps(data),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"k-{index}",
            )
            .status_code
        )

    statuses = race(25, call)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 15
    level = StockLevel.objects.get(warehouse__code="EAST")
    assert (level.on_hand, level.allocated) == (10, 10)
    assert Order.objects.count() == 10
