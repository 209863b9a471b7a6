"""Checkouts hold stock for a time, complete into orders, and expire without double-selling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import StockLevel, StockMovement, StockReservation
from orders.models import Checkout, FulfillmentOrder, Order
from orders.services.checkouts import checkouts_expire
from tests.factories import WarehouseFactory
from tests.orders.shipping import post_json as post
from tests.orders.test_order_apis import body
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


def allocated(code="EAST", sku="A") -> int:
    return StockLevel.objects.get(warehouse__code=code, product__sku=sku).allocated


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


# Helpers for the tests below -------------------------------------------------------------------

US = {"line1": "1 Main St", "city": "Reno", "postal_code": "89501", "country": "US"}
CA = {"line1": "1 Bay St", "city": "Toronto", "postal_code": "M5J 2N8", "country": "CA"}
DE = {"line1": "1 Unter den Linden", "city": "Berlin", "postal_code": "10117", "country": "DE"}


def ship_only_to(countries, codes=("EAST", "WEST")):
    Warehouse.objects.filter(code__in=codes).update(ships_to_countries=list(countries))


def open_checkout(api, lines, **extra) -> dict:
    response = post(api, "/api/v1/checkouts/", {"lines": lines, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def state() -> dict:
    """What a refused request must leave as it was."""
    return {
        "orders": Order.objects.count(),
        "checkouts": sorted(Checkout.objects.values_list("token", "status")),
        "reservations": sorted(
            StockReservation.objects.values_list(
                "reference", "stock_level__warehouse__code", "quantity"
            )
        ),
        "allocated": sorted(
            StockLevel.objects.values_list("warehouse__code", "product__sku", "allocated")
        ),
        "movements": StockMovement.objects.count(),
    }


def assert_refused(response, status_code: int, code: str):
    assert response.status_code == status_code, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    return response.json()


def pickup_body(store="STORE1", **overrides) -> dict:
    return body(
        fulfillment_method="pickup",
        pickup_location=store,
        shipping_address=None,
        shipping_method="",
        shipping_total="0.00",
        payment={"method": "card", "amount": "22.00", "status": "captured", "reference": "p"},
        **overrides,
    )


# 1. Completing checks what order creation checks, and what the checkout holds ---------------


def test_complete_as_pickup_of_a_shipping_checkout_is_refused(api, stock):
    stock("A", "EAST", 5)
    stock("A", "STORE1", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", pickup_body())
    problem = assert_refused(response, 400, "validation_error")
    assert list(problem["errors"]) == ["fulfillment_method"]
    assert state() == before


def test_complete_as_shipping_of_a_pickup_checkout_is_refused(api, stock):
    stock("A", "STORE1", 5)
    token = open_checkout(
        api, [{"sku": "A", "quantity": 2}], fulfillment_method="pickup", pickup_location="STORE1"
    )["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body())
    problem = assert_refused(response, 400, "validation_error")
    assert list(problem["errors"]) == ["fulfillment_method"]
    assert state() == before


def test_complete_at_another_pickup_store_is_refused(api, shop, stock):
    other = WarehouseFactory(
        code="STORE2", kind="store", pickup_enabled=True, can_ship=False, priority=6
    )
    shop["channel"].warehouses.add(other)
    stock("A", "STORE1", 5)
    token = open_checkout(
        api, [{"sku": "A", "quantity": 2}], fulfillment_method="pickup", pickup_location="STORE1"
    )["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", pickup_body("STORE2"))
    problem = assert_refused(response, 400, "validation_error")
    assert list(problem["errors"]) == ["pickup_location"]
    assert "STORE1" in problem["errors"]["pickup_location"][0]
    assert state() == before


def test_pickup_checkout_completes_into_a_pickup_order_at_its_store(api, stock):
    stock("A", "STORE1", 5)
    token = open_checkout(
        api, [{"sku": "A", "quantity": 2}], fulfillment_method="pickup", pickup_location="STORE1"
    )["token"]
    response = post(api, f"/api/v1/checkouts/{token}/complete/", pickup_body())
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.fulfillment_method, order.pickup_location.code) == ("pickup", "STORE1")
    assert list(FulfillmentOrder.objects.values_list("warehouse__code", flat=True)) == ["STORE1"]


def test_complete_to_a_country_no_location_ships_to_is_refused_like_an_order(api, stock):
    ship_only_to(["US"])
    stock("A", "EAST", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(shipping_address=CA))
    problem = assert_refused(response, 400, "validation_error")
    assert problem["errors"] == {"shipping_address": {"country": ["No location ships to CA."]}}
    assert state() == before
    as_order = post(api, "/api/v1/orders/", body(shipping_address=CA, channel_order_id="W2"))
    assert as_order.json()["errors"] == problem["errors"]


def test_complete_to_another_country_than_the_checkouts_is_refused(api, stock):
    stock("A", "EAST", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(shipping_address=CA))
    problem = assert_refused(response, 400, "validation_error")
    assert list(problem["errors"]) == ["shipping_address"]
    assert list(problem["errors"]["shipping_address"]) == ["country"]
    assert state() == before


def test_complete_where_the_holding_location_does_not_ship_is_refused(api, stock):
    ship_only_to(["US"], codes=["EAST"])
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}])["token"]  # held at EAST
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(shipping_address=CA))
    problem = assert_refused(response, 400, "validation_error")
    assert "EAST" in problem["errors"]["shipping_address"]["country"][0]
    assert state() == before


def test_complete_refuses_what_order_creation_refuses(api, stock):
    stock("A", "EAST", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(shipping_method="teleport"))
    problem = assert_refused(response, 400, "validation_error")
    assert "shipping_method" in problem["errors"]
    no_address = post(api, f"/api/v1/checkouts/{token}/complete/", body(shipping_address=None))
    assert_refused(no_address, 400, "validation_error")
    assert "shipping_address" in no_address.json()["errors"]
    assert state() == before


# 2. Lines that match the hold per SKU in total complete it --------------------------------


def test_complete_with_the_held_sku_over_two_lines(api, stock):
    stock("A", "EAST", 5)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    lines = [{"sku": "A", "quantity": 1, "unit_price": "10.00"}] * 2
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(lines=lines))
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"
    line_ids = [line["line_id"] for line in response.json()["lines"]]
    assert [line["quantity_allocated"] for line in response.json()["lines"]] == [1, 1]
    assert sorted(StockReservation.objects.values_list("reference", "quantity")) == sorted(
        (f"order_line:{line_id}", 1) for line_id in line_ids
    )
    assert allocated() == 2


def test_complete_splits_a_hold_over_two_locations_across_lines(api, shop, stock):
    stock("A", "EAST", 2)
    stock("A", "WEST", 1)
    token = open_checkout(api, [{"sku": "A", "quantity": 3}], destination=US)["token"]
    lines = [
        {"sku": "A", "quantity": 1, "unit_price": "10.00"},
        {"sku": "A", "quantity": 2, "unit_price": "10.00"},
    ]
    payment = {"method": "card", "amount": "37.00", "status": "captured", "reference": "p"}
    response = post(api, f"/api/v1/checkouts/{token}/complete/", body(lines=lines, payment=payment))
    assert response.status_code == 201, response.content
    first, second = (line["line_id"] for line in response.json()["lines"])
    assert sorted(
        StockReservation.objects.values_list(
            "reference", "stock_level__warehouse__code", "quantity"
        )
    ) == sorted(
        [
            (f"order_line:{first}", "EAST", 1),
            (f"order_line:{second}", "EAST", 1),
            (f"order_line:{second}", "WEST", 1),
        ]
    )
    assert (allocated("EAST"), allocated("WEST")) == (2, 1)


# 3. Creating a checkout: destination optional, unserved countries, short lines ---------------


def test_checkout_without_destination_holds_by_channel_priority(api, stock):
    ship_only_to(["US"])
    stock("A", "EAST", 3)
    data = open_checkout(api, [{"sku": "A", "quantity": 2}])
    assert data["destination"] == {}
    assert allocated("EAST") == 2


def test_checkout_to_a_country_no_location_ships_to_is_a_validation_error(api, stock):
    ship_only_to(["US"])
    stock("A", "EAST", 3)
    before = state()
    response = post(
        api, "/api/v1/checkouts/", {"lines": [{"sku": "A", "quantity": 1}], "destination": DE}
    )
    problem = assert_refused(response, 400, "validation_error")
    assert problem["errors"] == {"destination": {"country": ["No location ships to DE."]}}
    assert state() == before


def test_checkout_short_names_each_line_by_its_position(api, stock):
    stock("A", "EAST", 1)
    stock("B", "EAST", 5)
    before = state()
    response = post(
        api,
        "/api/v1/checkouts/",
        {"lines": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2}]},
    )
    problem = assert_refused(response, 409, "insufficient_stock")
    assert problem["errors"] == [
        {"sku": "A", "line": 1, "warehouse": None, "requested": 2, "available": 1}
    ]
    assert state() == before


# 4. Cancelling ---------------------------------------------------------------------------------


def test_cancelling_a_completed_checkout_is_409_and_changes_nothing(api, stock):
    stock("A", "EAST", 2)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}], destination=US)["token"]
    assert post(api, f"/api/v1/checkouts/{token}/complete/", body()).status_code == 201
    before = state()
    for _attempt in range(2):
        response = post(api, f"/api/v1/checkouts/{token}/cancel/", {})
        problem = assert_refused(response, 409, "checkout_closed")
        assert "completed" in problem["detail"]
    assert state() == before
    assert Checkout.objects.get().status == "completed"


def test_cancelling_twice_answers_the_cancelled_checkout_again(api, stock):
    stock("A", "EAST", 2)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}])["token"]
    first = post(api, f"/api/v1/checkouts/{token}/cancel/", {})
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    before = state()
    again = post(api, f"/api/v1/checkouts/{token}/cancel/", {})
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert state() == before and allocated() == 0


def test_cancelling_an_expired_checkout_is_409_checkout_expired(api, stock):
    stock("A", "EAST", 2)
    token = open_checkout(api, [{"sku": "A", "quantity": 2}])["token"]
    Checkout.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    checkouts_expire()
    before = state()
    response = post(api, f"/api/v1/checkouts/{token}/cancel/", {})
    assert_refused(response, 409, "checkout_expired")
    assert state() == before
