"""`updated_at` moves with every change to an order or a shipment, and the lists page through
changes with `?updated_after=` and `?ordering=updated_at` without missing or repeating a row."""

from datetime import timedelta
from decimal import Decimal

import pytest

from orders.models import Order, Shipment
from orders.services import (
    order_cancel,
    order_create,
    order_hold,
    order_release_hold,
    payment_apply,
    shipment_create,
    shipment_mark_delivered,
)
from orders.services.addresses import order_shipping_address_change
from orders.services.tracking import shipment_track
from tests.orders.conftest import order_data
from tests.orders.shipping import paid_order
from tests.polling import START, at, updated_at

pytestmark = pytest.mark.django_db



def _unpaid_order(shop, stock) -> Order:
    stock("A", "EAST", 10)
    return order_create(
        channel=shop["channel"], data=order_data(payment=None), actor="test"
    )


def test_every_step_of_an_order_lifecycle_moves_updated_at(shop, stock):
    with at(0):
        order = _unpaid_order(shop, stock)
    assert updated_at(order) == START
    steps = [
        ("address", lambda: order_shipping_address_change(
            order=order, address={**order.shipping_address, "line1": "2 Main St"}, actor="t"
        )),
        ("authorized", lambda: payment_apply(
            order=order, method="card", amount=Decimal("27.00"), status="authorized",
            reference="auth-1", actor="t",
        )),
        ("paid", lambda: payment_apply(
            order=order, method="card", amount=Decimal("27.00"), status="captured",
            reference="cap-1", actor="t",
        )),
        ("hold", lambda: order_hold(order=order, reason_code="fraud_review", actor="t")),
        ("release", lambda: order_release_hold(order=order, actor="t")),
        ("shipped", lambda: shipment_create(
            order=order, reference="PKG-1", lines={order.lines.get().pk: 2}, actor="t",
            carrier_name="UPS", tracking_url="https://ups.example/t/1", tracking_number="1Z1",
        )),
        ("delivered", lambda: shipment_mark_delivered(
            shipment=Shipment.objects.get(order=order), actor="t"
        )),
    ]
    for minute, (name, step) in enumerate(steps, start=1):
        with at(minute):
            step()
        assert updated_at(order) == START + timedelta(minutes=minute), name
    order.refresh_from_db()
    assert order.status == "complete"


def test_cancelling_units_moves_updated_at(shop, stock):
    order = paid_order(shop, stock)
    with at(60):
        order_cancel(order=order, actor="t", reason="customer", lines={order.lines.get().pk: 1})
    assert updated_at(order) == START + timedelta(hours=1)


def test_a_second_shipment_of_a_partly_shipped_order_moves_updated_at(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line = order.lines.get()
    with at(10):
        shipment_create(order=order, reference="PKG-1", lines={line.pk: 1}, actor="t")
    with at(20):
        shipment_create(order=order, reference="PKG-2", lines={line.pk: 1}, actor="t")
    assert updated_at(order) == START + timedelta(minutes=20)


def test_tracking_events_move_the_shipment_updated_at(shop, stock):
    order = paid_order(shop, stock)
    with at(0):
        shipment = shipment_create(
            order=order, reference="PKG-1", lines={order.lines.get().pk: 2}, actor="t"
        )
    assert updated_at(shipment) == START
    with at(30):
        shipment_track(shipment=shipment, status="in_transit", actor="ups")
    assert updated_at(shipment) == START + timedelta(minutes=30)


# --- reading changes over the API -------------------------------------------------------------


def _poll(client, path: str, since: str | None, limit: int = 2) -> list[dict]:
    """What a poller does: follow `next` to the end, from `updated_after=since`."""
    params = {"ordering": "updated_at", "limit": limit}
    if since:
        params["updated_after"] = since
    response = client.get(path, params)
    rows = []
    while True:
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        if not response.json()["next"]:
            return rows
        response = client.get(response.json()["next"])


def _orders(shop, stock, count: int) -> list[Order]:
    stock("A", "EAST", 100)
    return [
        order_create(
            channel=shop["channel"],
            data=order_data(channel_order_id=f"WEB-{index}", payment=None),
            actor="test",
        )
        for index in range(count)
    ]


def test_a_poller_sees_each_order_change_once(shop, stock, api):
    with at(0):
        orders = _orders(shop, stock, 5)
    seen = _poll(api, "/api/v1/orders/", None)
    assert [row["number"] for row in seen] == [order.number for order in orders]
    since = seen[-1]["updated_at"]

    with at(10):
        order_hold(order=orders[3], reason_code="fraud_review", actor="t")
    with at(11):
        order_hold(order=orders[1], reason_code="fraud_review", actor="t")
    changed = _poll(api, "/api/v1/orders/", since)
    assert [(row["number"], row["status"]) for row in changed] == [
        (orders[3].number, "on_hold"), (orders[1].number, "on_hold")
    ]
    since = changed[-1]["updated_at"]
    assert _poll(api, "/api/v1/orders/", since) == []


def test_rows_changed_at_one_instant_are_split_over_pages_without_loss(shop, stock, api):
    with at(0):
        orders = _orders(shop, stock, 5)
    Order.objects.update(updated_at=START)  # one instant for all: only the id orders them
    seen = _poll(api, "/api/v1/orders/", None, limit=2)
    assert [row["number"] for row in seen] == [order.number for order in orders]


def test_a_poller_sees_each_shipment_change_once(shop, stock, make_client):
    client = make_client(scopes=["shipments:read"])
    order = paid_order(shop, stock, quantity_a=2)
    line = order.lines.get()
    with at(0):
        first = shipment_create(order=order, reference="PKG-1", lines={line.pk: 1}, actor="t")
    with at(1):
        second = shipment_create(order=order, reference="PKG-2", lines={line.pk: 1}, actor="t")
    seen = _poll(client, "/api/v1/shipments/", None, limit=1)
    assert [row["id"] for row in seen] == [first.pk, second.pk]
    with at(5):
        shipment_track(shipment=first, status="in_transit", actor="ups")
    changed = _poll(client, "/api/v1/shipments/", seen[-1]["updated_at"])
    assert [(row["id"], row["status"]) for row in changed] == [(first.pk, "in_transit")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"ordering": "-updated_at"}, "ordering"),
        ({"ordering": "updated_at", "cursor": "cD1ub3Bl"}, "cursor"),
    ],
)
def test_bad_change_parameters_are_a_400(api, params, field):
    response = api.get("/api/v1/orders/", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_orders_by_change_list_in_constant_queries(shop, stock, api, django_assert_max_num_queries):
    with at(0):
        _orders(shop, stock, 3)
    with django_assert_max_num_queries(8) as captured:
        response = api.get(
            "/api/v1/orders/",
            {"ordering": "updated_at", "updated_after": (START - timedelta(1)).isoformat()},
        )
    assert response.status_code == 200
    with at(0):
        _orders_more = [
            order_create(
                channel=shop["channel"],
                data=order_data(channel_order_id=f"MORE-{index}", payment=None),
                actor="test",
            )
            for index in range(3)
        ]
    assert len(_orders_more) == 3
    with django_assert_max_num_queries(len(captured.captured_queries)):
        response = api.get("/api/v1/orders/", {"ordering": "updated_at"})
    assert len(response.json()["results"]) == 6
