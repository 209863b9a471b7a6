"""A location's daily order capacity counts the fulfillment orders it still holds from today:
one cancelled (re-routed away, or its order cancelled) gives the capacity back."""

import pytest
from django.utils import timezone

from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentOrder
from orders.services import order_cancel, order_create
from orders.services.allocation import routed_today
from orders.services.fulfillment import fulfillment_reroute
from tests.orders.conftest import order_data
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def east_takes_one(shop, stock):
    """EAST (priority 1) takes one order a day; both locations hold plenty of A."""
    Warehouse.objects.filter(code="EAST").update(daily_order_capacity=1)
    stock("A", "EAST", 10)
    stock("A", "WEST", 10)
    return shop


def place(shop, number: int):
    return order_create(
        channel=shop["channel"], data=order_data(channel_order_id=f"WEB-{number}"), actor="test"
    )


def standing_codes(order) -> list[str]:
    return [
        fulfillment_order.warehouse.code
        for fulfillment_order in FulfillmentOrder.objects.filter(order=order).exclude(
            status=FulfillmentStatus.CANCELLED
        )
    ]


def test_an_order_rerouted_away_does_not_use_up_the_daily_capacity(east_takes_one):
    first = place(east_takes_one, 1)
    moved = FulfillmentOrder.objects.get(order=first)
    assert moved.warehouse.code == "EAST"
    fulfillment_reroute(fulfillment_order=moved, actor="ops", reason="forklift down",
                        warehouse=Warehouse.objects.get(code="WEST"))

    second = place(east_takes_one, 2)

    assert standing_codes(first) == ["WEST"]
    assert standing_codes(second) == ["EAST"]


def test_a_cancelled_order_does_not_use_up_the_daily_capacity(east_takes_one):
    first = place(east_takes_one, 1)
    assert standing_codes(first) == ["EAST"]
    order_cancel(order=first, actor="ops", reason="customer asked")

    second = place(east_takes_one, 2)

    assert FulfillmentOrder.objects.get(order=first).status == FulfillmentStatus.CANCELLED
    assert standing_codes(second) == ["EAST"]


def test_the_capacity_still_counts_an_order_that_stands(east_takes_one):
    place(east_takes_one, 1)

    second = place(east_takes_one, 2)

    assert standing_codes(second) == ["WEST"]


def test_routed_today_counts_only_standing_fulfillment_orders_in_one_query(
    east_takes_one, django_assert_num_queries
):
    first, second = place(east_takes_one, 1), place(east_takes_one, 2)
    order_cancel(order=first, actor="ops", reason="customer asked")
    Warehouse.objects.filter(code="WEST").update(daily_order_capacity=5)
    locations = list(Warehouse.objects.filter(code__in=["EAST", "WEST"]).order_by("code"))

    with django_assert_num_queries(1):
        counts = routed_today(warehouses=locations, now=timezone.now())

    assert standing_codes(second) == ["WEST"]
    assert counts == {east_takes_one["west"].pk: 1}
