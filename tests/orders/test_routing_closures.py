"""Scheduled closures (location outages ahead) as order routing sees them: no ship date is
promised inside one, a location closing before it can ship ranks after one that is open, and
the stored decision says why."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import FulfillmentOrder, Order, RoutingDecision
from orders.services import order_create
from orders.services.routing_rules import routing_simulate
from tests.orders.conftest import order_data
from warehouses.models import LocationOutage, Warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock_count(shop):
    """EAST (priority 1) closes in one minute for ten days."""
    now = timezone.now()
    return LocationOutage.objects.create(
        warehouse=Warehouse.objects.get(code="EAST"), starts_at=now + timedelta(minutes=1),
        ends_at=now + timedelta(days=10), reason="stock count",
    )


def place(shop, number: int = 1) -> Order:
    return order_create(
        channel=shop["channel"], data=order_data(channel_order_id=f"WEB-{number}"), actor="test"
    )


def candidate(order: Order, code: str) -> dict:
    explanation = RoutingDecision.objects.get(order=order).explanation
    return next(report for report in explanation["candidates"] if report["location"] == code)


def test_no_ship_date_is_promised_inside_a_scheduled_closure(shop, stock, stock_count):
    stock("A", "EAST", 10)
    stock("A", "WEST", 10)

    order = place(shop)

    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert fulfillment_order.warehouse.code == "WEST"
    assert fulfillment_order.promised_ship_date < stock_count.ends_at.date()
    east = candidate(order, "EAST")
    assert (east["rejected"], east["rank"], east["chosen"]) == ([], 2, False)
    assert east["notes"] == [
        f"closed until {stock_count.ends_at.isoformat()}: stock count; ships after it"
    ]
    assert east["ship_date"] >= stock_count.ends_at.date().isoformat()


def test_an_order_only_the_closing_location_can_fill_is_promised_after_the_closure(
    shop, stock, stock_count
):
    stock("A", "EAST", 10)

    order = place(shop)

    order.refresh_from_db()
    assert RoutingDecision.objects.get(order=order).locations == ["EAST"]
    assert order.promised_ship_date >= stock_count.ends_at.date()
    assert candidate(order, "EAST")["notes"] == [
        f"closed until {stock_count.ends_at.isoformat()}: stock count; ships after it"
    ]


def test_the_fulfillment_order_at_a_closing_location_is_promised_after_the_closure(
    shop, stock, stock_count
):
    stock("A", "EAST", 10)

    order = place(shop)

    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert fulfillment_order.promised_ship_date >= stock_count.ends_at.date()


def test_the_rules_dry_run_moves_orders_away_from_a_closing_location(shop, stock):
    stock("A", "EAST", 10)
    stock("A", "WEST", 10)
    order = place(shop)
    assert RoutingDecision.objects.get(order=order).locations == ["EAST"]
    now = timezone.now()
    LocationOutage.objects.create(
        warehouse=Warehouse.objects.get(code="EAST"), starts_at=now + timedelta(minutes=1),
        ends_at=now + timedelta(days=10), reason="stock count",
    )

    result = routing_simulate(channel=shop["channel"], values={"strategies": ["priority"]})

    assert [row["simulated"]["locations"] for row in result["rows"]] == [["WEST"]]
