"""What the order e-mails list: the units the customer gets and pays for (cancelled units are
not listed as coming) and, at confirmation, the items waiting for stock."""

from datetime import date
from decimal import Decimal

import pytest

from oms_project.models import EmailMessage
from orders.models import OrderLine
from orders.notifications import order_email
from orders.services import order_cancel, order_create, payment_apply, shipment_create
from orders.services.tracking import shipment_mark_delivered
from tests.orders.conftest import order_data
from tests.orders.shipping import line_ids

pytestmark = pytest.mark.django_db

# 3 x A at 20.00, shipping 5.00, tax 2.00: 67.00. One unit cancelled takes 20.00 and a third
# of the tax (0.67) off: 46.33 is left to pay for.
THREE_A = {
    "lines": [{"sku": "A", "quantity": 3, "unit_price": Decimal("20.00")}],
    "payment": {
        "method": "card", "amount": Decimal("67.00"), "status": "captured", "reference": "p",
    },
}


def email(order, template) -> EmailMessage:
    [message] = EmailMessage.objects.filter(reference=f"order:{order.number}", template=template)
    return message


def test_the_delivered_email_lists_what_was_delivered_and_paid_for(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], data=order_data(**THREE_A), actor="test")
    line_id = line_ids(order)["A"]
    order_cancel(order=order, actor="test", reason="customer_request", lines={line_id: 1})
    shipment = shipment_create(
        order=order, reference="S1", lines={line_id: 2}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z1",
    )
    shipment_mark_delivered(shipment=shipment, actor="test")

    delivered = email(order, "order_delivered")

    assert "- 2 x Product A (A): 40.00 USD" in delivered.body_text
    assert "3 x" not in delivered.body_text
    assert "Cancelled: 1 x Product A (A)" in delivered.body_text
    assert "Shipping: 5.00  Tax: 1.33" in delivered.body_text
    assert "Total: 46.33 USD" in delivered.body_text
    assert "67.00" not in delivered.body_text
    html = delivered.body_html
    assert '<td align="right">2</td><td align="right">40.00 USD</td>' in html
    assert "Cancelled: 1 x Product A (A)" in html
    assert "<strong>Total 46.33 USD</strong>" in html
    assert "67.00" not in html
    # The shipment e-mail lists the parcel's units only.
    parcel = email(order, "shipment_confirmation")
    assert "- 2 x Product A (A)" in parcel.body_text and "3 x" not in parcel.body_text


def test_a_receipt_after_a_cancellation_lists_only_the_units_still_coming(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(
        channel=shop["channel"], data=order_data(**{**THREE_A, "payment": None}), actor="test"
    )
    order_cancel(order=order, actor="test", reason="customer_request",
                 lines={line_ids(order)["A"]: 1})
    payment_apply(order=order, method="card", amount=Decimal("46.33"), status="captured",
                  reference="p-2", actor="test")

    receipt = email(order, "payment_receipt")

    assert "- 2 x Product A (A): 40.00 USD" in receipt.body_text
    assert "3 x" not in receipt.body_text
    assert "Total: 46.33 USD" in receipt.body_text
    assert "<strong>Total 46.33 USD</strong>" in receipt.body_html


def test_an_order_without_cancellations_lists_every_unit(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], data=order_data(**THREE_A), actor="test")
    confirmation = email(order, "order_confirmation")
    assert "- 3 x Product A (A): 60.00 USD" in confirmation.body_text
    assert "Cancelled" not in confirmation.body_text
    assert "Total: 67.00 USD" in confirmation.body_text
    assert "waiting for new stock" not in confirmation.body_text
    assert "waiting for new stock" not in confirmation.body_html


def backordered(shop, stock):
    """A paid order of 3 x A and 1 x B with one A and every B in stock: 2 x A wait."""
    stock("A", "EAST", 1)
    stock("B", "EAST", 5)
    data = order_data(
        lines=[
            {"sku": "A", "quantity": 3, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 1, "unit_price": Decimal("10.00")},
        ],
        payment={"method": "card", "amount": Decimal("47.00"), "status": "captured",
                 "reference": "p"},
    )
    order = order_create(channel=shop["channel"], data=data, actor="test")
    assert order.status == "backordered"
    return order


def test_the_confirmation_of_a_backordered_order_says_what_waits_for_stock(shop, stock):
    order = backordered(shop, stock)

    confirmation = email(order, "order_confirmation")

    text = confirmation.body_text
    assert "Some items are waiting for new stock:\n- 2 x Product A (A)\n" in text
    assert "Product B (B)\n" not in text.split("waiting for new stock")[1]
    assert "We will e-mail you when we know when they arrive" in text
    html = confirmation.body_html
    assert "Some items are waiting for new stock:" in html
    assert "<li>2 x Product A (A)</li>" in html
    assert "Product B (B)</li>" not in html


def test_the_backorder_note_gives_the_expected_date_when_the_line_has_one(shop, stock):
    order = backordered(shop, stock)
    OrderLine.objects.filter(order=order, sku="A").update(
        backorder_expected_date=date(2026, 12, 7)
    )
    order.refresh_from_db()

    message = order_email(order=order, template="order_confirmation")

    expected = "2 x Product A (A): expected in our warehouse on Monday, 7 December 2026"
    assert expected in message.body_text
    assert "expected in our warehouse on <strong>Monday, 7 December 2026</strong>" in (
        message.body_html
    )
    assert "when we know when they arrive" not in message.body_text


def test_a_receipt_that_leaves_units_on_backorder_says_so(shop, stock):
    stock("A", "EAST", 1)
    order = order_create(channel=shop["channel"], data=order_data(payment=None), actor="test")
    payment_apply(order=order, method="card", amount=Decimal("27.00"), status="captured",
                  reference="p", actor="test")
    order.refresh_from_db()
    assert order.status == "backordered"
    receipt = email(order, "payment_receipt")
    assert "Some items are waiting for new stock:\n- 1 x Product A (A)" in receipt.body_text
    assert "<li>1 x Product A (A)</li>" in receipt.body_html
