"""Errors about items of request lists, as a channel integrating from the README saw them:
keyed by position then field on every endpoint, a line or parcel listed twice included (found
by a channel integrator's review)."""

import pytest

from orders.models import Shipment
from orders.services import shipment_create
from tests.orders.shipping import line_ids, paid_order
from tests.orders.shipping import post_json as post

pytestmark = pytest.mark.django_db


def _is_position_then_field(errors: dict, list_field: str, position: str, field: str) -> bool:
    items = errors.get(list_field)
    return isinstance(items, dict) and isinstance(items.get(position), dict) and field in items[
        position
    ]


def test_cancel_with_a_line_listed_twice_names_the_position_and_field(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    ids = line_ids(order)
    response = post(
        api,
        f"/api/v1/orders/{order.number}/cancel/",
        {"lines": [{"line_id": ids["A"], "quantity": 1}, {"line_id": ids["A"], "quantity": 1}]},
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert _is_position_then_field(errors, "lines", "1", "line_id"), errors


def test_snake_case_shipment_with_a_line_listed_twice_names_the_position_and_field(
    api, shop, stock
):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    response = post(
        api,
        f"/api/v1/orders/{order.number}/shipments/",
        {
            "reference": "PKG-1",
            "lines": [{"line_id": line_id, "quantity": 1}, {"line_id": line_id, "quantity": 1}],
        },
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert _is_position_then_field(errors, "lines", "1", "line_id"), errors


def test_channel_shape_shipment_with_a_line_item_listed_twice_names_the_position_and_field(
    api, shop, stock
):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    response = post(
        api,
        "/api/v1/orders/shipments/",
        {
            "orderId": order.number,
            "shipments": [
                {
                    "shipmentRef": "PKG-1",
                    "lineItems": [
                        {"lineItemId": line_id, "quantity": 1},
                        {"lineItemId": line_id, "quantity": 1},
                    ],
                }
            ],
        },
    )
    assert response.status_code == 400, response.content
    shipment_errors = response.json()["errors"]["shipments"]["0"]
    assert _is_position_then_field(shipment_errors, "lineItems", "1", "lineItemId"), (
        shipment_errors
    )


@pytest.mark.parametrize("second", ["unknown", "duplicate"])
def test_return_line_errors_name_the_position_and_field(api, shop, stock, second):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    shipment_create(order=order, reference="S1", lines={line_id: 2}, actor="test")
    other = 999999 if second == "unknown" else line_id
    response = post(
        api,
        "/api/v1/returns/",
        {
            "order": order.number,
            "lines": [
                {"line_id": line_id, "quantity": 1, "reason": "damaged"},
                {"line_id": other, "quantity": 1, "reason": "damaged"},
            ],
        },
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert _is_position_then_field(errors, "lines", "1", "line_id"), errors


def test_one_request_reusing_a_shipment_ref_does_not_point_at_a_shipment_that_was_never_kept(
    api, shop, stock
):
    order = paid_order(shop, stock, quantity_a=1, quantity_b=1)
    ids = line_ids(order)
    response = post(
        api,
        "/api/v1/orders/shipments/",
        {
            "orderId": order.number,
            "shipments": [
                {"shipmentRef": "PKG-1", "lineItems": [{"lineItemId": ids["A"], "quantity": 1}]},
                {"shipmentRef": "PKG-1", "lineItems": [{"lineItemId": ids["B"], "quantity": 1}]},
            ],
        },
    )
    assert not Shipment.objects.filter(order=order).exists()  # all or nothing: nothing kept
    body = response.json()
    assert response.status_code == 400, body
    assert _is_position_then_field(body["errors"], "shipments", "1", "shipmentRef"), body


