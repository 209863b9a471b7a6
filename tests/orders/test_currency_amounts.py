"""Amounts fit the order's currency: whole amounts in currencies with no minor unit (ISO 4217
exponent 0: JPY, KRW, ...), two decimals at most in every other (three- and four-decimal
currencies such as KWD are stored with two)."""

from decimal import Decimal

import pytest

from oms_project.currencies import (
    CURRENCY_CODES,
    ZERO_DECIMAL_CURRENCIES,
    currency_amount_errors,
)
from orders.input_serializers import PaymentCreateSerializer
from orders.models import Order
from tests.orders.shipping import post_json as post
from tests.orders.test_order_apis import body

pytestmark = pytest.mark.django_db

YEN_REFUSED = "JPY has no minor unit: send whole amounts."


def yen_order(**overrides) -> dict:
    return body(**{
        "currency": "JPY",
        "lines": [{"sku": "A", "quantity": 2, "unit_price": "1000"}],
        "shipping_total": "500.00",
        "tax_total": "0",
        "payment": {"method": "card", "amount": "2500", "status": "captured"},
        **overrides,
    })


def test_zero_decimal_currencies_are_iso_4217_codes():
    assert {"JPY", "KRW", "VND", "CLP", "ISK", "XAF", "XOF", "XPF"} <= ZERO_DECIMAL_CURRENCIES
    assert ZERO_DECIMAL_CURRENCIES <= CURRENCY_CODES
    assert not {"USD", "EUR", "KWD", "BHD"} & ZERO_DECIMAL_CURRENCIES


def test_only_fractions_of_a_zero_decimal_currency_are_named():
    amounts = {"a": Decimal("1000"), "b": Decimal("1000.00"), "c": Decimal("0.50"), "d": None}
    assert currency_amount_errors("JPY", amounts) == {"c": [YEN_REFUSED]}
    assert currency_amount_errors("KRW", {"c": Decimal("1.5")}) == {
        "c": ["KRW has no minor unit: send whole amounts."]
    }
    assert currency_amount_errors("USD", amounts) == {}


def test_a_yen_order_in_whole_yen_is_created(api, stock):
    stock("A", "EAST", 5)
    response = post(api, "/api/v1/orders/", yen_order())
    assert response.status_code == 201, response.json()
    assert (response.json()["total"], response.json()["paid_total"]) == ("2500.00", "2500.00")


def test_every_fractional_yen_amount_is_named_and_nothing_is_written(api, stock):
    stock("A", "EAST", 5)
    data = yen_order(
        lines=[
            {"sku": "A", "quantity": 1, "unit_price": "1000"},
            {"sku": "B", "quantity": 1, "unit_price": "1000.50", "discount": "0.25"},
        ],
        shipping_total="0.25",
        discount_total="1.10",
        payment={"method": "card", "amount": "1000.75", "status": "captured"},
    )
    response = post(api, "/api/v1/orders/", data)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {
        "shipping_total": [YEN_REFUSED],
        "discount_total": [YEN_REFUSED],
        "lines": {"1": {"unit_price": [YEN_REFUSED], "discount": [YEN_REFUSED]}},
        "payment": {"amount": [YEN_REFUSED]},
    }
    assert not Order.objects.exists()


def test_a_third_decimal_is_refused_in_a_three_decimal_currency(api, stock):
    stock("A", "EAST", 5)
    data = body(currency="KWD", lines=[{"sku": "A", "quantity": 1, "unit_price": "10.125"}])
    response = post(api, "/api/v1/orders/", data)
    assert response.status_code == 400
    assert list(response.json()["errors"]["lines"]["0"]) == ["unit_price"]
    assert not Order.objects.exists()


def test_a_bulk_yen_order_with_fractions_is_refused_alone(api, stock):
    stock("A", "EAST", 5)
    good = yen_order(channel_order_id="JP-1")
    bad = yen_order(channel_order_id="JP-2", tax_total="12.50")
    response = post(api, "/api/v1/orders/bulk/", {"orders": [good, bad]})
    assert response.status_code == 200, response.json()
    first, second = response.json()["results"]
    assert first["status"] == 201
    assert (second["status"], second["code"]) == (400, "validation_error")
    assert second["errors"] == {"tax_total": [YEN_REFUSED]}
    assert list(Order.objects.values_list("channel_order_id", flat=True)) == ["JP-1"]


def test_a_later_payment_is_checked_against_the_order_currency():
    payment = {"method": "card", "amount": "999.50", "status": "captured"}
    in_yen = PaymentCreateSerializer(data=payment, context={"currency": "JPY"})
    assert not in_yen.is_valid()
    assert in_yen.errors == {"amount": [YEN_REFUSED]}
    assert PaymentCreateSerializer(data=payment, context={"currency": "USD"}).is_valid()
    whole = PaymentCreateSerializer(data={**payment, "amount": "1000"},
                                    context={"currency": "JPY"})
    assert whole.is_valid(), whole.errors


def test_a_later_yen_payment_with_fractions_is_refused_by_the_api(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", yen_order(payment=None)).json()["number"]
    response = post(
        api, f"/api/v1/orders/{number}/payments/",
        {"method": "card", "amount": "999.50", "status": "captured"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"amount": [YEN_REFUSED]}
    assert Order.objects.get(number=number).paid_total == Decimal("0.00")


@pytest.mark.parametrize(
    ("amount", "message", "errors"),
    [
        ("999.50", "A payment of 999.50 JPY has a fraction JPY does not have.",
         {"amount": [YEN_REFUSED]}),
        ("999.005", "A payment of 999.005 JPY has more than two decimals.",
         {"amount": ["Send at most two decimals."]}),
    ],
)
def test_the_payment_service_itself_refuses_amounts_the_currency_has_not(
    api, stock, amount, message, errors
):
    """Not every caller goes through the API's serializer (admin forms, imports, tasks)."""
    from orders.errors import PaymentError
    from orders.models import Payment
    from orders.services import payment_apply

    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", yen_order(payment=None)).json()["number"]
    order = Order.objects.get(number=number)

    with pytest.raises(PaymentError) as refused:
        payment_apply(order=order, method="card", amount=Decimal(amount), status="captured",
                      actor="test")

    assert (str(refused.value), refused.value.errors) == (message, errors)
    assert Order.objects.get(number=number).paid_total == Decimal("0.00")
    assert not Payment.objects.filter(order=order).exists()
    whole = payment_apply(order=order, method="card", amount=Decimal("1000"), status="captured",
                          actor="test")
    assert whole.amount == Decimal("1000")
