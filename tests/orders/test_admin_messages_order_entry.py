"""Order entry in the admin: every bad input is a sentence on the field it concerns, never a
500, never a Python dict, never an error on the empty (optional) payment amount."""

import pytest

from customers.models import Customer
from inventory.models import StockLevel
from orders.models import Order
from tests.orders.test_order_entry_admin import ADD_URL, form_data

pytestmark = pytest.mark.django_db


def post(admin_client, shop, **overrides):
    response = admin_client.post(ADD_URL, form_data(shop, **overrides))
    assert response.status_code == 200
    return response.context["form"].errors


def assert_nothing_written():
    assert not Order.objects.exists()
    assert not Customer.objects.exists()
    assert not StockLevel.objects.filter(allocated__gt=0).exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A, 1, Infinity", "Line 1: unit price 'Infinity' is not an amount."),
        ("A, 1, -Infinity", "Line 1: unit price '-Infinity' is not an amount."),
        ("A, 1, NaN", "Line 1: unit price 'NaN' is not an amount."),
        ("A, 1, 10.00, Infinity", "Line 1: discount 'Infinity' is not an amount."),
        (
            "A, 1, 10000000000.00",
            "Line 1: unit price '10000000000.00' is over the limit of 9,999,999,999.99.",
        ),
        ("A, 1, -5.00", "Line 1: unit price '-5.00' cannot be negative."),
    ],
)
def test_amounts_that_are_not_money_are_refused_on_the_lines(
    admin_client, shop, stock, line, message
):
    stock("A", "EAST", 5)
    errors = post(admin_client, shop, lines=line, payment_status="captured", payment_amount="")
    assert errors == {"lines": [message]}
    assert_nothing_written()


def test_a_line_worth_more_than_the_limit_is_shown_on_the_line(admin_client, shop, stock):
    stock("A", "EAST", 5)
    errors = post(admin_client, shop, lines="A, 2, 9999999999.00", payment_amount="")
    assert errors == {
        "__all__": ["The order has invalid fields."],
        "lines": [
            "Line 1 (quantity): The line comes to 19999999998.00, over the limit of "
            "9999999999.99."
        ],
    }
    assert_nothing_written()


def test_an_order_discount_over_the_order_is_shown_on_the_discount(admin_client, shop, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    errors = post(admin_client, shop, discount_total="1000", payment_amount="")
    assert errors == {
        "__all__": ["The order has invalid fields."],
        "discount_total": ["The discounts exceed the order's value."],
    }
    assert_nothing_written()


def test_a_line_discount_over_its_line_is_shown_on_the_line(admin_client, shop, stock):
    stock("A", "EAST", 5)
    errors = post(admin_client, shop, lines="A, 1, 10.00, 20.00", payment_amount="")
    assert "payment_amount" not in errors
    assert errors["lines"] == ["Line 1 (discount): Discount exceeds the line's value."]
    assert_nothing_written()


def test_a_captured_payment_of_an_order_worth_nothing_asks_for_not_paid(
    admin_client, shop, stock
):
    stock("A", "EAST", 5)
    errors = post(
        admin_client, shop, lines="A, 1, 10.00, 10.00", shipping_total="0", tax_total="0",
        payment_amount="",
    )
    assert errors == {
        "payment_status": [
            "The order comes to 0.00: there is nothing to pay. Choose “Not paid yet”."
        ]
    }
    assert_nothing_written()


def test_a_typed_payment_amount_is_still_checked_on_its_field(admin_client, shop, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    errors = post(admin_client, shop, payment_amount="0.00")
    assert errors == {"payment_amount": ["Ensure this value is greater than or equal to 0.01."]}
    assert_nothing_written()


def test_short_stock_names_each_line_in_words(admin_client, shop, stock):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save(update_fields=["shortage_policy"])
    stock("A", "EAST", 23)
    stock("B", "EAST", 5)
    errors = post(admin_client, shop, lines="B, 1, 5.00\nA, 500, 10.00")
    assert errors == {
        "__all__": ["Not enough stock for A; nothing was saved."],
        "lines": ["Line 2 (A): 500 requested, 23 available."],
    }
    assert_nothing_written()


def test_a_bad_country_is_shown_once(admin_client, shop, stock):
    stock("A", "EAST", 5)
    errors = post(admin_client, shop, ship_country="XX")
    assert errors == {"ship_country": ["'XX' is not an ISO 3166-1 country code."]}
    assert_nothing_written()
