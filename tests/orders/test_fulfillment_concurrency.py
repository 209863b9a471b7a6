"""Fulfillment orders racing on PostgreSQL: one re-route wins, one collect uses the code."""

import pytest

from inventory.models import StockLevel, StockReservation
from oms_project.errors import OmsError
from orders.models import FulfillmentOrder
from orders.services import order_create
from orders.services.fulfillment import (
    fulfillment_collect,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
    fulfillment_reroute,
)
from tests.orders.conftest import order_data
from tests.orders.test_concurrency import race
from warehouses.models import Warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outcome(call):
    try:
        call()
    except OmsError as error:
        return error.code
    return "ok"


def test_concurrent_reroutes_of_one_fulfillment_order_move_it_once(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    source = FulfillmentOrder.objects.get(order=order)
    west = Warehouse.objects.get(code="WEST")

    results = race(6, lambda _i: outcome(lambda: fulfillment_reroute(
        fulfillment_order=FulfillmentOrder(pk=source.pk), actor="ops", reason="race",
        warehouse=west,
    )))
    assert sorted(results) == ["ok"] + ["reroute_refused"] * 5
    assert list(FulfillmentOrder.objects.filter(order=order).order_by("pk").values_list(
        "warehouse__code", "status")) == [("EAST", "cancelled"), ("WEST", "open")]
    levels = dict(StockLevel.objects.values_list("warehouse__code", "allocated"))
    assert levels == {"EAST": 0, "WEST": 2}
    assert StockReservation.objects.get().quantity == 2


def test_one_pickup_code_collects_once(shop, stock):
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
        actor="test",
    )
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    _, code = fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order, actor="t")
    results = race(5, lambda _i: outcome(lambda: fulfillment_collect(
        fulfillment_order=FulfillmentOrder(pk=fulfillment_order.pk), code=code, actor="store",
    )))
    assert sorted(results) == ["ok"] + ["pickup_code_used"] * 4
    level = StockLevel.objects.get(warehouse__code="STORE1")
    assert (level.on_hand, level.allocated) == (0, 0)
