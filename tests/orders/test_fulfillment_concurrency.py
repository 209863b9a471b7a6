"""Fulfillment orders racing on PostgreSQL: one re-route wins, one collect uses the code, and
cancelling while collecting never deadlocks."""

from decimal import Decimal
from functools import partial

import pytest
from django.db import DatabaseError

from inventory.models import StockLevel, StockReservation
from oms_project.errors import OmsError
from orders.models import FulfillmentOrder, Order
from orders.services import order_cancel, order_create
from orders.services.fulfillment import (
    fulfillment_collect,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
    fulfillment_reroute,
)
from tests.orders.conftest import order_data
from tests.orders.pickups import on_the_shelf, pickup_order
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
    fulfillment_order, code = on_the_shelf(pickup_order(shop, stock))
    results = race(5, lambda _i: outcome(lambda: fulfillment_collect(
        fulfillment_order=FulfillmentOrder(pk=fulfillment_order.pk), code=code, actor="store",
    )))
    assert sorted(results) == ["ok"] + ["pickup_code_used"] * 4
    level = StockLevel.objects.get(warehouse__code="STORE1")
    assert (level.on_hand, level.allocated) == (0, 0)


def ready_pickup(shop, channel_order_id: str) -> tuple[FulfillmentOrder, str]:
    """A pickup order on the shelf, from stock the test put at STORE1 beforehand."""
    return on_the_shelf(pickup_order(shop, channel_order_id=channel_order_id))


def outcome_or_database_error(call):
    try:
        return outcome(call)
    except DatabaseError as error:  # a deadlock the database broke: the request would be a 500
        return f"database error: {error}"


def cancel_or_collect(index: int, *, order_id: int, fulfillment_order_id: int, code: str):
    """Racer 0 cancels the order (support), racer 1 collects it (the store's till)."""
    if index == 0:
        return outcome_or_database_error(lambda: order_cancel(
            order=Order(pk=order_id), actor="support", reason="race"))
    return outcome_or_database_error(lambda: fulfillment_collect(
        fulfillment_order=FulfillmentOrder(pk=fulfillment_order_id), code=code, actor="store"))


def test_cancelling_and_collecting_one_pickup_at_once_never_deadlocks(shop, stock):
    rounds = 15
    stock("A", "STORE1", 2 * rounds)
    for number in range(rounds):
        fulfillment_order, code = ready_pickup(shop, f"RACE-{number}")
        order_id = fulfillment_order.order_id

        cancelled, collected = race(2, partial(
            cancel_or_collect, order_id=order_id, fulfillment_order_id=fulfillment_order.pk,
            code=code,
        ))

        assert sorted([cancelled, collected]) == ["invalid_transition", "ok"], (
            f"round {number}: cancel gave {cancelled!r}, collect gave {collected!r}"
        )
        order = Order.objects.get(pk=order_id)
        fulfillment_order.refresh_from_db()
        if cancelled == "ok":
            assert (order.status, fulfillment_order.status) == ("cancelled", "cancelled")
            assert fulfillment_order.pickup_code_used_at is None
        else:
            assert (order.status, fulfillment_order.status) == ("complete", "closed")
            assert order.lines.get().quantity_shipped == 2
        assert not StockReservation.objects.filter(
            reference=f"order_line:{order.lines.get().pk}"
        ).exists()
    level = StockLevel.objects.get(warehouse__code="STORE1")
    assert level.allocated == 0
    assert level.on_hand == 2 * rounds - 2 * Order.objects.filter(status="complete").count()


def test_two_pickups_of_the_same_skus_in_opposite_line_order_hand_over_without_deadlock(
    shop, stock
):
    """Each hand-over takes the stock rows it consumes in pk order first, so two tills
    handing over B+A and A+B at once cannot lock the rows crosswise."""
    rounds = 8
    stock("A", "STORE1", 2 * rounds)
    stock("B", "STORE1", 2 * rounds)
    for number in range(rounds):
        ready = []
        for suffix, skus in (("X", ["B", "A"]), ("Y", ["A", "B"])):
            order = order_create(
                channel=shop["channel"],
                data=order_data(
                    channel_order_id=f"PAIR-{number}-{suffix}", fulfillment_method="pickup",
                    pickup_location="STORE1",
                    lines=[{"sku": sku, "quantity": 1, "unit_price": Decimal("10.00")}
                           for sku in skus],
                    payment={"method": "card", "amount": Decimal("20.00"),
                             "status": "captured"},
                    shipping_total=Decimal("0.00"), tax_total=Decimal("0.00"),
                ),
                actor="test",
            )
            fulfillment_order = FulfillmentOrder.objects.get(order=order)
            fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
            fulfillment_pack(fulfillment_order=fulfillment_order, scans=skus, actor="t")
            ready.append(fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order,
                                                      actor="t"))
        results = race(2, lambda index, ready=ready: outcome_or_database_error(
            lambda: fulfillment_collect(
                fulfillment_order=FulfillmentOrder(pk=ready[index][0].pk),
                code=ready[index][1], actor="till",
            )
        ))
        assert results == ["ok", "ok"], f"round {number}: {results}"
    for sku in ("A", "B"):
        level = StockLevel.objects.get(warehouse__code="STORE1", product__sku=sku)
        assert (level.on_hand, level.allocated) == (0, 0)
