"""Refunds come off a customer's lifetime value, each amount once, and never another order's.

The delivered order of the fixtures is worth 38.32: one unit of A 9.80, one unit of B 4.57.
"""

from decimal import Decimal

import pytest

from customers.models import Customer
from orders.services import order_cancel, order_create
from returns.services import order_refund, return_refund
from tests.orders.conftest import order_data
from tests.returns.conftest import TOTAL, deliver_order, post_json
from tests.returns.test_apis import walk_to_received
from tests.returns.test_refunds import received_return

pytestmark = pytest.mark.django_db


def lifetime_value(order) -> Decimal:
    return Customer.objects.get(pk=order.customer_id).lifetime_value


def test_a_return_refund_takes_the_refunded_amount_off_lifetime_value(delivered):
    assert lifetime_value(delivered) == TOTAL

    return_refund(return_request=received_return(delivered, B=1), actor="test")

    assert lifetime_value(delivered) == Decimal("33.75")
    assert Customer.objects.get(pk=delivered.customer_id).orders_count == 1


def test_a_goodwill_refund_takes_its_amount_off_lifetime_value(delivered):
    order_refund(order=delivered, kind="goodwill", amount=Decimal("5.00"), reason="Late",
                 actor="test")

    assert lifetime_value(delivered) == Decimal("33.32")


def test_a_refund_for_cancelled_units_is_not_taken_off_twice(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order_cancel(order=order, actor="ops", lines={order.lines.get().pk: 1})
    assert lifetime_value(order) == Decimal("16.00")

    order_refund(order=order, kind="cancellation", reason="", actor="test")

    assert lifetime_value(order) == Decimal("16.00")


def test_refunds_beyond_what_an_order_counts_leave_the_other_orders_value(shop, stock):
    stock("A", "EAST", 10)
    other = order_create(channel=shop["channel"], data=order_data(channel_order_id="WEB-0"),
                         actor="test")
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order_cancel(order=order, actor="ops", lines={order.lines.get().pk: 1})
    assert lifetime_value(order) == Decimal("43.00")  # 27.00 + 16.00

    order_refund(order=order, kind="cancellation", reason="", actor="test")  # 11.00 due
    order_refund(order=order, kind="goodwill", amount=Decimal("16.00"), reason="All back",
                 actor="test")

    assert lifetime_value(order) == Decimal("27.00")
    assert other.customer_id == order.customer_id


def test_an_exchange_counts_the_returned_value_once(delivered, stock):
    """The credit used pays the replacement order, which counts it; the rest is refunded."""
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    assert lifetime_value(delivered) == TOTAL  # 6.00 moved from the return to the replacement

    return_refund(return_request=return_request, actor="test")

    assert lifetime_value(delivered) == TOTAL - Decimal("9.80") + Decimal("6.00")


def test_the_customer_api_shows_lifetime_value_net_of_refunds(make_client, shop, stock):
    """The channel opens the return; the returns desk refunds; the merchant-wide totals are
    read with a back-office key (a channel key sees its own orders instead)."""
    client = make_client(channel=shop["channel"])
    desk = make_client(scopes=["returns:write", "customers:read"])
    order = deliver_order(shop, stock)
    number = walk_to_received(client, order, desk=desk, B=1)
    assert post_json(desk, f"/api/v1/returns/{number}/refund/", {}).status_code == 201
    assert post_json(desk, "/api/v1/refunds/", {
        "order": order.number, "kind": "goodwill", "amount": "5.00", "reason": "Late",
    }).status_code == 201

    profile = desk.get(f"/api/v1/customers/{order.customer_id}/").json()

    assert (profile["orders_count"], profile["lifetime_value"]) == (1, "28.75")
