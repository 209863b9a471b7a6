"""Shipment dates the API refuses (found by fuzzing): times outside UTC's range, a parcel
that left in the future or is expected before it left. Nothing is written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Shipment
from tests.orders.shipping import line_ids, paid_order, post_json

pytestmark = pytest.mark.django_db

BEFORE_FIRST_YEAR = "0001-01-01T00:00:00+05:00"
AFTER_LAST_YEAR = "9999-12-31T23:59:59-05:00"


def ship(api, order, **fields):
    body = {"reference": "PKG-1", "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]}
    return post_json(api, f"/api/v1/orders/{order.number}/shipments/", body | fields)


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["errors"], response.json()
    assert Shipment.objects.count() == 0


@pytest.mark.parametrize("moment", [BEFORE_FIRST_YEAR, AFTER_LAST_YEAR])
def test_a_shipped_time_out_of_range_is_a_400(api, shop, stock, moment):
    refused(ship(api, paid_order(shop, stock, quantity_a=1), shipped_at=moment), "shipped_at")


def test_a_channel_shipped_date_out_of_range_is_a_400(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=1)
    document = {"orderId": order.number, "shipments": [{
        "shipmentRef": "PKG-1", "shippedDate": BEFORE_FIRST_YEAR,
        "lineItems": [{"lineItemId": line_ids(order)["A"], "quantity": 1}],
    }]}
    response = post_json(api, "/api/v1/orders/shipments/", document)
    assert response.status_code == 400
    assert "shippedDate" in response.json()["errors"]["shipments"]["0"]


def test_a_tracking_time_out_of_range_is_a_400(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=1)
    shipment_id = ship(api, order).json()["id"]
    response = post_json(
        api, f"/api/v1/shipments/{shipment_id}/events/",
        {"status": "in_transit", "time": BEFORE_FIRST_YEAR},
    )
    assert response.status_code == 400
    assert "time" in response.json()["errors"]


def test_a_parcel_that_left_in_the_future_is_refused(api, shop, stock):
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    refused(ship(api, paid_order(shop, stock, quantity_a=1), shipped_at=tomorrow), "shipped_at")


def test_a_parcel_expected_before_it_left_is_refused(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=1)
    response = ship(api, order, shipped_at="2026-03-02T10:00:00Z",
                    estimated_delivery_date="2026-03-01")
    refused(response, "estimated_delivery_date")
    assert ship(api, order, shipped_at="2026-03-02T10:00:00Z",
                estimated_delivery_date="2026-03-02").status_code == 201
