"""`GET /api/v1/availability/`: per-SKU availability over a channel's warehouses."""

import pytest

from inventory.services import Hold, stock_allocate
from tests.factories import ProductFactory, SalesChannelFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(channel, stock):
    """Channel `web` served by MAIN and EAST (and not by WEST, which also holds stock)."""
    channel.warehouses.add(WarehouseFactory(code="EAST", priority=20))
    stock("SKU-A", "MAIN", on_hand=10, safety_stock=2)
    stock("SKU-A", "EAST", on_hand=3)
    stock("SKU-A", "WEST", on_hand=50)
    low = stock("SKU-B", "MAIN", on_hand=4)
    stock_allocate(holds=[Hold(low.product_id, low.warehouse_id, 1, "order_line:1")])
    stock("SKU-C", "MAIN", on_hand=1, safety_stock=5)
    return channel


def test_channel_key_gets_totals_statuses_and_unknowns(channel_client, web):
    response = channel_client.get("/api/v1/availability/?skus=SKU-A,SKU-B,SKU-C,NOPE")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "channel": "web",
        "results": [
            {"sku": "SKU-A", "available": 11, "status": "in_stock"},
            {"sku": "SKU-B", "available": 3, "status": "low_stock"},
            {"sku": "SKU-C", "available": 0, "status": "out_of_stock"},
        ],
        "unknown_skus": ["NOPE"],
    }


def test_breakdown_lists_each_warehouse(channel_client, web):
    response = channel_client.get("/api/v1/availability/?channel=web&skus=SKU-A&breakdown=1")
    assert response.json()["results"] == [
        {"sku": "SKU-A", "available": 11, "status": "in_stock",
         "warehouses": [{"warehouse": "MAIN", "available": 8},
                        {"warehouse": "EAST", "available": 3}]}
    ]


def test_inactive_warehouse_is_left_out(channel_client, web):
    from warehouses.models import Warehouse

    Warehouse.objects.filter(code="EAST").update(is_active=False)
    response = channel_client.get("/api/v1/availability/?skus=SKU-A")
    assert response.json()["results"][0]["available"] == 8


def test_channel_key_cannot_ask_about_another_channel(channel_client, web):
    SalesChannelFactory(code="market")
    response = channel_client.get("/api/v1/availability/?channel=market&skus=SKU-A")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_integration_key_must_name_a_known_channel(make_client, web):
    client = make_client(scopes=["inventory:read"])
    missing = client.get("/api/v1/availability/?skus=SKU-A")
    assert (missing.status_code, missing.json()["code"]) == (400, "validation_error")
    assert "channel" in missing.json()["errors"]
    unknown = client.get("/api/v1/availability/?channel=nope&skus=SKU-A")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"channel": ["No active channel nope."]}
    assert client.get("/api/v1/availability/?channel=web&skus=SKU-A").status_code == 200


def test_more_than_500_skus_is_400(channel_client, web):
    skus = ",".join(f"S{index}" for index in range(501))
    response = channel_client.get(f"/api/v1/availability/?skus={skus}")
    assert response.status_code == 400
    assert response.json()["errors"] == {"skus": ["501 SKUs given."]}


def test_no_skus_is_400(channel_client, web):
    response = channel_client.get("/api/v1/availability/?skus=,,")
    assert response.status_code == 400
    assert "skus" in response.json()["errors"]


@pytest.mark.parametrize("count", [1, 200])
def test_query_count_does_not_grow_with_skus(
    channel_client, web, stock, count, django_assert_num_queries
):
    skus = [f"BULK-{index:04d}" for index in range(count)]
    for sku in skus:
        ProductFactory(sku=sku)
    stock(skus[0], "MAIN", on_hand=5)
    channel_client.get("/api/v1/availability/?skus=SKU-A")  # key's last-used stamp settles
    with django_assert_num_queries(4):
        response = channel_client.get(f"/api/v1/availability/?skus={','.join(skus)}")
    assert len(response.json()["results"]) == count
