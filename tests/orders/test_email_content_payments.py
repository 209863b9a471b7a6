"""Payments in e-mails: the receipt covers every captured payment, and payment methods are
named in words, never by their codes."""

from decimal import Decimal

import pytest

from oms_project.models import EmailMessage
from orders.refund_methods import payment_method_name
from orders.services import order_create, payment_apply
from orders.services.customer_notices import refund_notify
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def unpaid_48(shop, stock):
    """2 x A at 20.50, shipping 5.00, tax 2.00: 48.00, nothing paid yet."""
    stock("A", "EAST", 5)
    data = order_data(
        lines=[{"sku": "A", "quantity": 2, "unit_price": Decimal("20.50")}], payment=None
    )
    return order_create(channel=shop["channel"], data=data, actor="test")


def receipt(order) -> EmailMessage:
    [message] = EmailMessage.objects.filter(
        reference=f"order:{order.number}", template="payment_receipt"
    )
    return message


def test_the_receipt_covers_every_captured_payment(shop, stock):
    order = unpaid_48(shop, stock)
    payment_apply(order=order, method="gift_card", amount=Decimal("20.00"), status="captured",
                  reference="gc-1", actor="test")
    payment_apply(order=order, method="card", amount=Decimal("28.00"), status="captured",
                  reference="ch-1", actor="test")

    message = receipt(order)

    text = message.body_text
    assert f"we have received your payments of 48.00 USD for order {order.number}." in text
    assert "- 20.00 USD by gift card\n- 28.00 USD by card\n" in text
    assert "(card)" not in text and "gift_card" not in text
    assert "Total: 48.00 USD" in text
    html = message.body_html
    assert "your payments of <strong>48.00 USD</strong>" in html
    assert "<li>20.00 USD by gift card</li><li>28.00 USD by card</li>" in html
    assert "gift_card" not in html


def test_a_receipt_for_one_payment_names_its_method_in_words(shop, stock):
    order = unpaid_48(shop, stock)
    payment_apply(order=order, method="paypal", amount=Decimal("48.00"), status="captured",
                  reference="pp-1", actor="test")
    message = receipt(order)
    assert f"we have received your payment of 48.00 USD (PayPal) for order {order.number}." in (
        message.body_text
    )
    assert "<strong>48.00 USD</strong> (PayPal)" in message.body_html
    assert "paypal" not in message.body_text


def test_the_refund_email_names_the_method_in_words(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    refund_notify(order=order, refund_reference="R-1", amount=Decimal("5.00"), actor="test",
                  method="paypal")
    [message] = EmailMessage.objects.filter(template="refund_issued")
    assert f"we have refunded 5.00 USD for order {order.number} to your PayPal." in (
        message.body_text
    )
    assert "to your PayPal." in message.body_html
    assert "paypal" not in message.body_text


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("card", "card"),
        ("paypal", "PayPal"),
        ("gift_card", "gift card"),
        ("bank_transfer", "bank transfer"),
        ("exchange_credit", "exchange credit"),
        ("original_payment", "original payment method"),
        ("Apple-Pay", "Apple Pay"),
        ("store_voucher", "store voucher"),
        ("", ""),
    ],
)
def test_payment_methods_have_readable_names(code, name):
    assert payment_method_name(code) == name
