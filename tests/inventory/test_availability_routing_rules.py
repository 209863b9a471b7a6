"""`GET /api/v1/availability/` counts only the locations the channel's routing rules may use."""

import pytest

from orders.models import RoutingRuleSet
from orders.services.routing_rules import routing_rules_save
from tests.factories import SalesChannelFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(channel, stock):
    """Channel `web` served by MAIN (7 units of SKU-A) and EAST (5 units)."""
    channel.warehouses.add(WarehouseFactory(code="EAST", priority=20))
    stock("SKU-A", "MAIN", on_hand=7)
    stock("SKU-A", "EAST", on_hand=5)
    return channel


def exclude_east(channel) -> None:
    routing_rules_save(
        channel=channel,
        values={"strategies": ["priority"], "excluded_locations": ["EAST"]},
        actor="ops",
    )


def test_availability_leaves_out_locations_the_rules_exclude(channel_client, web):
    """Storefront availability must not promise stock that routing will never use."""
    exclude_east(web)
    response = channel_client.get("/api/v1/availability/?skus=SKU-A&breakdown=1")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {"sku": "SKU-A", "available": 7, "status": "in_stock",
         "warehouses": [{"warehouse": "MAIN", "available": 7}]}
    ]


def test_an_inactive_rule_set_excludes_nothing(channel_client, web):
    exclude_east(web)
    RoutingRuleSet.objects.filter(channel=web).update(is_active=False)
    response = channel_client.get("/api/v1/availability/?skus=SKU-A")
    assert response.json()["results"][0]["available"] == 12


def test_rules_of_another_channel_exclude_nothing_here(web, channel_client):
    market = SalesChannelFactory(code="market")
    market.warehouses.add(*web.warehouses.all())
    exclude_east(market)
    response = channel_client.get("/api/v1/availability/?skus=SKU-A")
    assert response.json()["results"][0]["available"] == 12


def test_excluding_locations_costs_no_extra_query(
    channel_client, web, django_assert_num_queries
):
    exclude_east(web)
    channel_client.get("/api/v1/availability/?skus=SKU-A")  # key's last-used stamp settles
    with django_assert_num_queries(4):
        response = channel_client.get("/api/v1/availability/?skus=SKU-A")
    assert response.json()["results"][0]["available"] == 7
