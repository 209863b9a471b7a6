"""Checkouts hold stock for a time, complete into orders, and expire without double-selling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import StockLevel, StockReservation
from orders.models import Checkout, Order
from orders.services.checkouts import checkouts_expire
from tests.orders.shipping import post_json as post
from tests.orders.test_order_apis import body

pytestmark = pytest.mark.django_db


def allocated(code="EAST") -> int:
    return StockLevel.objects.get(warehouse__code=code).allocated


def test_checkout_holds_stock_with_expiry(api, shop, stock):
    stock("A", "EAST", 3)
    response = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 2}]})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "open"
    assert allocated() == 2
    reservation = StockReservation.objects.get()
    assert reservation.reference == f"checkout:{data['token']}"
    assert reservation.expires_at is not None


def test_checkout_short_is_409_and_holds_nothing(api, stock):
    stock("A", "EAST", 1)
    response = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 2}]})
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert Checkout.objects.count() == 0 and allocated() == 0


def test_complete_turns_hold_into_order_without_new_allocation(api, stock):
    stock("A", "EAST", 2)
    token = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 2}]}).json()[
        "token"
    ]
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"
    assert allocated() == 2
    line_id = response.json()["lines"][0]["line_id"]
    assert StockReservation.objects.get().reference == f"order_line:{line_id}"
    again = post(api, f"/api/v1/checkouts/{token}/complete/", body())
    assert again.status_code == 200
    assert again.json()["number"] == response.json()["number"]
    assert Order.objects.count() == 1


def test_complete_with_other_lines_is_refused(api, stock):
    stock("A", "EAST", 5)
    token = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 1}]}).json()[
        "token"
    ]
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body())
    assert response.status_code == 400
    assert Order.objects.count() == 0 and allocated() == 1


def test_expired_checkout_is_released_once_and_cannot_complete(api, stock):
    stock("A", "EAST", 2)
    token = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 2}]}).json()[
        "token"
    ]
    Checkout.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert checkouts_expire() == 1
    assert checkouts_expire() == 0
    assert allocated() == 0
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body())
    assert response.status_code == 409
    assert response.json()["code"] == "checkout_expired"
    assert Order.objects.count() == 0


def test_cancel_gives_stock_back(api, stock):
    stock("A", "EAST", 2)
    token = post(api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 2}]}).json()[
        "token"
    ]
    response = api.post(f"/api/v1/checkouts/{token}/cancel/")
    assert response.json()["status"] == "cancelled"
    assert allocated() == 0
