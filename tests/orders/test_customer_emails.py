"""The payment receipt, cancellation and delivered e-mails: sent once, with their content and
the channel's branding, logged against the order."""

from decimal import Decimal

import pytest

from oms_project.models import EmailMessage
from orders.services import order_cancel, order_create, payment_apply, shipment_create
from orders.services.tracking import shipment_mark_delivered
from tests.orders.conftest import order_data
from tests.orders.shipping import line_ids, paid_order

pytestmark = pytest.mark.django_db


def emails(order, template):
    return list(EmailMessage.objects.filter(reference=f"order:{order.number}", template=template))


def test_a_payment_captured_later_sends_a_receipt(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(payment=None), actor="test")
    assert emails(order, "payment_receipt") == []
    payment_apply(
        order=order, method="card", amount=Decimal("27.00"), status="captured",
        reference="pay-9", actor="test",
    )
    [receipt] = emails(order, "payment_receipt")
    assert receipt.to == "jane@example.com"
    assert receipt.subject == f"Receipt for your Web shop order {order.number}"
    assert "we have received your payment of 27.00 USD (card)" in receipt.body_text
    assert "2 x Product A (A)" in receipt.body_text
    assert "Web shop" in receipt.body_html


def test_cancelling_part_then_the_rest_sends_one_email_each(shop, stock):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    lines = line_ids(order)
    order_cancel(order=order, actor="test", reason="customer_request", lines={lines["B"]: 1})
    [partial] = emails(order, "order_cancelled")
    assert partial.subject == f"Items of your Web shop order {order.number} were cancelled"
    assert "- 1 x Product B (B)" in partial.body_text
    # 10.00 of goods plus its third of the 2.00 tax.
    assert "We will refund 10.67 USD" in partial.body_text

    order_cancel(order=order, actor="test", reason="customer_request")
    full = [message for message in emails(order, "order_cancelled") if message.pk != partial.pk]
    assert [message.subject for message in full] == [
        f"Your Web shop order {order.number} was cancelled"
    ]
    assert "has been cancelled" in full[0].body_text


def test_delivery_sends_the_delivered_email_once(shop, stock):
    order = paid_order(shop, stock, quantity_a=1)
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 1}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z1",
    )
    shipment_mark_delivered(shipment=shipment, actor="test")
    shipment_mark_delivered(shipment=shipment, actor="test")
    [delivered] = emails(order, "order_delivered")
    assert delivered.subject == f"Your Web shop order {order.number} was delivered"
    assert delivered.to == "jane@example.com"


def test_plain_text_parts_are_not_html_escaped_and_the_html_part_is(shop, stock):
    shop["channel"].name = "Smith & Sons <Outlet>"
    shop["channel"].save()
    order = paid_order(shop, stock, quantity_a=1)
    [confirmation] = emails(order, "order_confirmation")
    assert confirmation.subject == f"Your Smith & Sons <Outlet> order {order.number} is confirmed"
    assert "at Smith & Sons <Outlet>." in confirmation.body_text
    assert "Smith &amp; Sons &lt;Outlet&gt;" in confirmation.body_html
    assert "Smith & Sons <Outlet>" not in confirmation.body_html


def test_only_emails_that_speak_of_refunds_look_up_where_refunds_go(shop, stock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.notifications import order_email

    order = paid_order(shop, stock, quantity_a=1)
    with CaptureQueriesContext(connection) as confirmation:
        order_email(order=order, template="order_confirmation")
    assert not [q for q in confirmation.captured_queries if "orders_payment" in q["sql"]]
    with CaptureQueriesContext(connection) as cancellation:
        order_email(order=order, template="order_cancelled", extra={"refund": Decimal("1.00")})
    assert [q for q in cancellation.captured_queries if "orders_payment" in q["sql"]]


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_an_order_goes_to_the_address_given_with_it_not_the_profiles(shop, stock, bulk):
    """Known by the channel's customer id, the customer orders with a new address: the order
    and its confirmation use that address; the shared profile keeps its own."""
    from orders.services.bulk_creation import orders_create_bulk

    stock("A", "EAST", 10)
    customer = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
                "channel_customer_id": "c-1"}
    first = order_create(channel=shop["channel"], data=order_data(customer=customer), actor="t")
    data = order_data(channel_order_id="WEB-2",
                      customer={**customer, "email": " Jane.New@Example.com "})
    if bulk:
        [order] = orders_create_bulk(entries=[(shop["channel"], data)], actor="t")
    else:
        order = order_create(channel=shop["channel"], data=data, actor="t")
    order.refresh_from_db()
    assert order.customer_id == first.customer_id
    assert order.email == "jane.new@example.com"
    [confirmation] = emails(order, "order_confirmation")
    assert confirmation.to == "jane.new@example.com"
    assert order.customer.email == "jane@example.com"
