"""Fulfillment actions over the API refuse fields they do not know, like every other endpoint,
and say plainly why a shipped fulfillment order cannot ship again."""

import pytest

from orders.models import FulfillmentOrder, OrderEvent
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(make_client):
    return make_client(scopes=["orders:write"], name="wms")


@pytest.fixture
def fulfillment_order(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    return FulfillmentOrder.objects.get(order=order)


@pytest.mark.parametrize(
    ("action", "body", "unknown"),
    [
        ("pick", {"foo": 1}, ["foo"]),
        ("pack", {"items": [{"sku": "A", "quantity": 2}], "foo": 1, "bar": 2}, ["bar", "foo"]),
        ("ship", {"tracking_number": "1Z1", "foo": 1}, ["foo"]),
        ("ready-for-pickup", {"foo": 1}, ["foo"]),
        ("collect", {"code": "12345678", "foo": 1}, ["foo"]),
        ("hand-over", {"reason": "ID checked", "foo": 1}, ["foo"]),
        ("hold", {"reason": "Damaged shelf", "foo": 1}, ["foo"]),
        ("release", {"foo": 1}, ["foo"]),
        ("close", {"foo": 1}, ["foo"]),
        ("reroute", {"reason": "EAST closed", "foo": 1}, ["foo"]),
    ],
)
def test_every_fulfillment_action_refuses_unknown_fields_and_changes_nothing(
    fulfillment_order, wms, action, body, unknown
):
    events = OrderEvent.objects.count()

    response = wms.post(
        f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/{action}/", body, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert sorted(response.json()["errors"]) == unknown
    assert all(response.json()["errors"][name] == ["Unknown field."] for name in unknown)
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"
    assert OrderEvent.objects.count() == events


def test_pack_refuses_unknown_fields_of_a_scanned_item(fulfillment_order, wms):
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    wms.post(f"{base}/pick/")

    response = wms.post(
        f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2, "lot": "L1"}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"items": {"0": {"lot": ["Unknown field."]}}}
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.packed_at) == ("picking", None)


def test_actions_without_input_still_accept_an_empty_body(fulfillment_order, wms):
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"

    assert wms.post(f"{base}/pick/").json()["status"] == "picking"
    assert wms.post(f"{base}/hold/", {"reason": "Recount"}, format="json").status_code == 200
    assert wms.post(f"{base}/release/", {}, format="json").json()["status"] == "picking"


def test_shipping_a_shipped_fulfillment_order_says_it_is_already_shipped(fulfillment_order, wms):
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    wms.post(f"{base}/pick/")
    wms.post(f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2}]}, format="json")
    assert wms.post(f"{base}/ship/", {"tracking_number": "1Z1"}, format="json").status_code == 200

    again = wms.post(f"{base}/ship/", {"tracking_number": "1Z2"}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert again.json()["detail"] == f"Fulfillment order {fulfillment_order.pk} is already shipped."
    assert "pack it" not in again.json()["detail"]
    assert fulfillment_order.order.shipments.count() == 1


def test_shipping_an_unpacked_fulfillment_order_asks_to_pack_it_first(fulfillment_order, wms):
    response = wms.post(
        f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/ship/", {}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Fulfillment order {fulfillment_order.pk} is open; pack it before shipping."
    )
