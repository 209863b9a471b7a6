"""The refund e-mail shows how the amount was made up: goods (tax included), shipping,
restocking fee, adjustment and exchange credit; a cancellation refund says what it is for."""

from decimal import Decimal

import pytest

from oms_project.models import EmailMessage
from orders.services import order_cancel, order_create
from returns.services import order_refund, return_refund
from tests.orders.conftest import order_data
from tests.returns.test_refunds import received_return

pytestmark = pytest.mark.django_db


def refund_email(order) -> EmailMessage:
    [message] = EmailMessage.objects.filter(
        template="refund_issued", reference=f"order:{order.number}"
    )
    return message


def test_a_return_refund_lists_goods_shipping_fee_adjustment_and_tax(delivered):
    # Two units of A are worth 19.60 (tax 1.60); shipping 5.00 back, 3.00 fee, 1.00 goodwill.
    refund = return_refund(
        return_request=received_return(delivered, A=2), actor="test", refund_shipping=True,
        restocking_fee=Decimal("3.00"), adjustment=Decimal("1.00"),
        adjustment_reason="Late delivery",
    )
    assert refund.amount == Decimal("22.60")

    message = refund_email(delivered)

    text = message.body_text
    assert f"we have refunded 22.60 USD for order {delivered.number} to your card." in text
    assert "- 2 x Product A (A)\n" in text
    assert (
        "Items: 19.60 USD\n"
        "Shipping refunded: 5.00 USD\n"
        "Restocking fee: -3.00 USD\n"
        "Adjustment (Late delivery): +1.00 USD\n"
        "Refunded: 22.60 USD, tax included: 1.60 USD\n"
    ) in text
    html = message.body_html
    assert "<tr><td>Items</td><td align=\"right\">19.60 USD</td></tr>" in html
    assert "<tr><td>Shipping refunded</td><td align=\"right\">5.00 USD</td></tr>" in html
    assert "<tr><td>Restocking fee</td><td align=\"right\">-3.00 USD</td></tr>" in html
    assert (
        "<tr><td>Adjustment (Late delivery)</td><td align=\"right\">+1.00 USD</td></tr>" in html
    )
    assert "<strong>22.60 USD</strong>, tax included: 1.60 USD" in html


def test_parts_that_are_zero_are_left_out(delivered):
    return_refund(
        return_request=received_return(delivered, A=1), actor="test",
        adjustment=Decimal("-1.00"), adjustment_reason="Missing manual",
    )
    text = refund_email(delivered).body_text
    assert "Items: 9.80 USD\nAdjustment (Missing manual): -1.00 USD\n" in text
    assert "Refunded: 8.80 USD, tax included: 0.80 USD" in text
    assert "Shipping refunded" not in text and "Restocking fee" not in text


def test_a_cancellation_refund_says_it_is_for_the_cancelled_items(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())
    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 1}, reason="Changed")
    order_refund(order=order, kind="cancellation", reason="", actor="test")

    message = refund_email(order)

    expected = f"This refund is for the cancelled items of order {order.number}."
    assert expected in message.body_text
    assert expected in message.body_html
    assert "- 1 x" not in message.body_text  # the record links no lines


def test_a_cancellation_refund_that_links_its_lines_lists_them(shop, stock):
    from orders.services.customer_notices import refund_notify
    from returns.models import Refund

    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())
    line = order.lines.get()
    order_cancel(order=order, actor="test", lines={line.pk: 1}, reason="Changed")
    refund = Refund.objects.create(
        number="RF-T1", order=order, kind="cancellation", currency="USD",
        amount=Decimal("11.00"), goods_amount=Decimal("11.00"), tax_amount=Decimal("1.00"),
        method="card",
    )
    refund.lines.create(order_line=line, quantity=1, amount=Decimal("11.00"),
                        tax_amount=Decimal("1.00"))

    refund_notify(order=order, refund_reference=refund.number, amount=refund.amount,
                  actor="test", method="card", reason="Cancelled units", lines={line.pk: 1},
                  refund=refund)

    message = refund_email(order)
    assert "- 1 x Product A (A)\n" in message.body_text
    assert "<li>1 x Product A (A)</li>" in message.body_html
    assert "This refund is for the cancelled items" not in message.body_text
    assert "Refunded: 11.00 USD, tax included: 1.00 USD" in message.body_text
