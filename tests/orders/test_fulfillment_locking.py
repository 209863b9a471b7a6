"""Every fulfillment service locks the order before its fulfillment order, as the order
services do (cancel, ship, allocate), through one lock helper; the package's errors live in
`orders.fulfillment_errors`."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import fulfillment_errors
from orders.models import FulfillmentOrder
from orders.services import fulfillment as services
from orders.services import order_create
from orders.services.fulfillment import locks, pickup, reroute, work
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db

LOCKED_TABLES = {"orders_order", "orders_fulfillmentorder"}


def test_work_pickup_and_reroute_share_one_lock_helper():
    assert not hasattr(work, "_locked")
    assert not hasattr(pickup, "_locked")
    assert work.fulfillment_order_lock is locks.fulfillment_order_lock
    assert pickup.fulfillment_order_lock is locks.fulfillment_order_lock
    assert reroute.fulfillment_order_lock is locks.fulfillment_order_lock


def test_pickup_code_locked_is_a_fulfillment_error_still_importable_from_the_services():
    error = fulfillment_errors.PickupCodeLocked("Too many wrong pickup codes.")

    assert (error.code, error.status) == ("pickup_code_locked", 429)
    assert services.PickupCodeLocked is fulfillment_errors.PickupCodeLocked
    assert pickup.PickupCodeLocked is fulfillment_errors.PickupCodeLocked
    assert fulfillment_errors.PickupCodeLocked.__module__ == "orders.fulfillment_errors"


def test_the_lock_helper_returns_the_fulfillment_order_with_its_order(shop, stock):
    stock("A", "EAST", 2)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)

    locked = locks.fulfillment_order_lock(FulfillmentOrder(pk=fulfillment_order.pk))

    assert (locked.pk, locked.order.pk, locked.order.channel.code) == (
        fulfillment_order.pk, order.pk, "web"
    )
    assert locked.warehouse.code == "EAST"


def locked_tables(queries) -> list[str]:
    """The order and fulfillment-order tables in the order their rows were locked."""
    tables = []
    for query in queries:
        sql = query["sql"] or ""
        if "FOR UPDATE" not in sql and "FOR NO KEY UPDATE" not in sql:
            continue
        table = re.search(r'FROM "(\w+)"', sql).group(1)
        if table in LOCKED_TABLES:
            tables.append(table)
    return tables


def first_lock(call) -> str:
    with CaptureQueriesContext(connection) as captured:
        call()
    tables = locked_tables(captured.captured_queries)
    assert tables, "the service locked neither the order nor the fulfillment order"
    return tables[0]


@pytest.fixture
def shipping(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    return FulfillmentOrder.objects.get(order=order)


@pytest.fixture
def pickup_order(shop, stock):
    stock("A", "STORE1", 4)
    order = order_create(
        channel=shop["channel"],
        data=order_data(channel_order_id="P-1", fulfillment_method="pickup",
                        pickup_location="STORE1"),
        actor="test",
    )
    return FulfillmentOrder.objects.get(order=order)


@pytest.mark.postgres
def test_every_shipping_step_locks_the_order_first(shipping):
    target = FulfillmentOrder(pk=shipping.pk)
    steps = [
        lambda: services.fulfillment_hold(fulfillment_order=target, reason="Recount", actor="t"),
        lambda: services.fulfillment_release(fulfillment_order=target, actor="t"),
        lambda: services.fulfillment_pick_start(fulfillment_order=target, actor="t"),
        lambda: services.fulfillment_pack(fulfillment_order=target, scans=["A", "A"], actor="t"),
        lambda: services.fulfillment_ship(fulfillment_order=target, actor="t"),
        lambda: services.fulfillment_close(fulfillment_order=target, actor="t"),
    ]

    assert [first_lock(step) for step in steps] == ["orders_order"] * len(steps)
    shipping.refresh_from_db()
    assert shipping.status == "closed"


@pytest.mark.postgres
def test_reroute_locks_the_order_first(shipping, shop):
    assert first_lock(lambda: services.fulfillment_reroute(
        fulfillment_order=FulfillmentOrder(pk=shipping.pk), actor="t", reason="EAST closed",
        warehouse=shop["west"],
    )) == "orders_order"


@pytest.mark.postgres
def test_every_pickup_step_locks_the_order_first(pickup_order, shop, stock):
    target = FulfillmentOrder(pk=pickup_order.pk)
    services.fulfillment_pick_start(fulfillment_order=target, actor="t")
    services.fulfillment_pack(fulfillment_order=target, scans=["A", "A"], actor="t")
    code = None

    def ready():
        nonlocal code
        _, code = services.fulfillment_ready_for_pickup(fulfillment_order=target, actor="t")

    assert first_lock(ready) == "orders_order"
    assert first_lock(lambda: services.fulfillment_collect(
        fulfillment_order=target, code=code, actor="till")) == "orders_order"

    second = order_create(
        channel=shop["channel"],
        data=order_data(channel_order_id="P-2", fulfillment_method="pickup",
                        pickup_location="STORE1"),
        actor="test",
    )
    other = FulfillmentOrder(pk=FulfillmentOrder.objects.get(order=second).pk)
    services.fulfillment_pick_start(fulfillment_order=other, actor="t")
    services.fulfillment_pack(fulfillment_order=other, scans=["A", "A"], actor="t")
    services.fulfillment_ready_for_pickup(fulfillment_order=other, actor="t")
    assert first_lock(lambda: services.fulfillment_hand_over(
        fulfillment_order=other, actor="kim", reason="ID checked")) == "orders_order"
