"""One rule for errors about items of a request list: keyed by the item's position (from 0),
then its field, whether the serializer or the service found them."""

import pytest

from orders.models import Order
from tests.orders.shipping import post_json as post
from tests.orders.test_order_apis import body

pytestmark = pytest.mark.django_db


def line(sku: str, quantity: int = 1, price: str = "10.00") -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": price}


@pytest.fixture
def placed(api, stock):
    stock("A", "EAST", 5)
    created = post(api, "/api/v1/orders/", body()).json()
    return created["number"], created["lines"][0]["line_id"]


def test_order_lines_refused_by_the_serializer_and_by_the_service_share_one_shape(api, placed):
    by_serializer = post(
        api, "/api/v1/orders/", body(channel_order_id="X", lines=[line("A"), line("A", 0)])
    )
    by_service = post(
        api, "/api/v1/orders/", body(channel_order_id="Y", lines=[line("A"), line("NOPE")])
    )
    assert by_serializer.json()["errors"] == {
        "lines": {"1": {"quantity": ["Ensure this value is greater than or equal to 1."]}}
    }
    assert by_service.json()["errors"] == {"lines": {"1": {"sku": ["Unknown SKU 'NOPE'."]}}}
    assert Order.objects.count() == 1


def test_cancel_lines_are_named_by_position_not_by_line_id(api, placed):
    number, line_id = placed
    path = f"/api/v1/orders/{number}/cancel/"
    by_serializer = post(
        api, path, {"lines": [{"line_id": line_id, "quantity": 1}, {"line_id": 9, "quantity": 0}]}
    )
    unknown = post(
        api, path, {"lines": [{"line_id": line_id, "quantity": 1}, {"line_id": 999, "quantity": 1}]}
    )
    assert by_serializer.json()["errors"] == {
        "lines": {"1": {"quantity": ["Ensure this value is greater than or equal to 1."]}}
    }
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {
        "lines": {"1": {"line_id": ["No such line on this order."]}}
    }
    assert Order.objects.get(number=number).lines.get().quantity_cancelled == 0


def test_a_checkout_names_each_line_with_an_unknown_sku(api, stock):
    stock("A", "EAST", 5)
    response = post(
        api,
        "/api/v1/checkouts/",
        {"lines": [{"sku": "NOPE", "quantity": 1}, {"sku": "A", "quantity": 1},
                   {"sku": "NOPE", "quantity": 2}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines": {"0": {"sku": ["Unknown SKU 'NOPE'."]}, "2": {"sku": ["Unknown SKU 'NOPE'."]}}
    }
