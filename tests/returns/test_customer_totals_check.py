"""Lifetime totals worked out again from history (`returns.lifetime`) agree with the totals
kept step by step, and `manage.py customer_totals_check` reports and repairs the ones that do
not."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from orders.services import order_cancel, order_create
from returns.lifetime import customer_totals_check
from returns.services import order_refund, return_refund
from tests.orders.conftest import order_data
from tests.returns.test_refunds import _exchange_topped_up_by_card, received_return

pytestmark = pytest.mark.django_db


def assert_kept_totals_match_history():
    checked, differences = customer_totals_check()
    assert checked == Customer.objects.count()
    assert differences == []


def test_totals_kept_through_orders_cancellations_refunds_and_exchanges_match_history(
    shop, stock, delivered
):
    stock("A", "EAST", 20)
    assert_kept_totals_match_history()
    kept = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="K1"), actor="test"
    )
    partly = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="K2"), actor="test"
    )
    order_cancel(order=partly, actor="ops", lines={partly.lines.get().pk: 1})
    order_refund(order=partly, kind="cancellation", reason="", actor="test")
    gone = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="K3"), actor="test"
    )
    order_cancel(order=gone, actor="ops")
    order_refund(order=kept, kind="goodwill", amount=Decimal("4.00"), reason="Late", actor="test")
    assert_kept_totals_match_history()
    return_refund(return_request=received_return(delivered, B=1), actor="test")
    assert_kept_totals_match_history()


def test_an_exchange_topped_up_by_card_and_cancelled_matches_history(delivered, stock):
    exchange = _exchange_topped_up_by_card(delivered, stock)
    order_refund(
        order=exchange, kind="cancellation", reason="", actor="test", amount=Decimal("5.20")
    )
    order_refund(order=exchange, kind="cancellation", reason="", actor="test")
    assert_kept_totals_match_history()


def test_credit_a_cancelled_replacement_gave_back_counts_until_it_is_paid_out(delivered, stock):
    """The returned value left as credit counts again once the replacement is cancelled, and
    paying it out takes it off once: what the customer keeps is what they paid less what went
    back (return refund and the credit paid out)."""
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    returned = return_refund(return_request=return_request, actor="test")
    exchange = return_request.exchange_order
    order_cancel(order=exchange, actor="test", reason="changed mind")
    order_refund(order=exchange, kind="cancellation", reason="", actor="test")
    paid_out = order_refund(order=delivered, kind="goodwill", amount=Decimal("6.00"),
                            reason="credit paid out", actor="test")
    customer = Customer.objects.get(pk=delivered.customer_id)
    assert customer.lifetime_value == delivered.paid_total - returned.amount - paid_out.amount
    assert_kept_totals_match_history()


def test_wrong_totals_are_reported_then_repaired(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order_cancel(order=order, actor="ops", lines={order.lines.get().pk: 1})
    customer = Customer.objects.get(pk=order.customer_id)
    right = (customer.orders_count, customer.lifetime_value)
    # As written before cancellations came off, and a count edited by hand.
    Customer.objects.filter(pk=customer.pk).update(lifetime_value=Decimal("27.00"), orders_count=3)

    out = StringIO()
    with pytest.raises(SystemExit) as failed:
        call_command("customer_totals_check", stdout=out)
    assert failed.value.code == 1
    assert f"{customer.pk}\t{customer.email}\t3\t1\t27.00\t{right[1]}" in out.getvalue()
    customer.refresh_from_db()
    assert customer.lifetime_value == Decimal("27.00")  # only reported

    out = StringIO()
    call_command("customer_totals_check", "--fix", "--customer", str(customer.pk), stdout=out)
    assert "1 customers checked, 1 repaired." in out.getvalue()
    customer.refresh_from_db()
    assert (customer.orders_count, customer.lifetime_value) == right
    out = StringIO()
    call_command("customer_totals_check", "--batch-size", "1", stdout=out)
    assert "all match" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--customer", "999999"], "No customer with id 999999."),
        (["--batch-size", "0"], "--batch-size must be at least 1."),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(shop, stock, arguments, message):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    Customer.objects.filter(pk=order.customer_id).update(orders_count=7)
    with pytest.raises(CommandError, match=message):
        call_command("customer_totals_check", "--fix", *arguments)
    assert Customer.objects.get(pk=order.customer_id).orders_count == 7


def test_the_customer_admin_action_repairs_the_selected_customers(admin_client, shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    customer = Customer.objects.get(pk=order.customer_id)
    right = (customer.orders_count, customer.lifetime_value)
    Customer.objects.filter(pk=customer.pk).update(orders_count=5, lifetime_value=Decimal("1"))

    response = admin_client.post(
        "/admin/customers/customer/",
        {"action": "totals_repair", "_selected_action": [str(customer.pk)]},
        follow=True,
    )

    customer.refresh_from_db()
    assert (customer.orders_count, customer.lifetime_value) == right
    assert (
        f"1 customers checked; totals repaired for {customer.email}." in response.content.decode()
    )
    response = admin_client.post(
        "/admin/customers/customer/",
        {"action": "totals_repair", "_selected_action": [str(customer.pk)]},
        follow=True,
    )
    assert "1 customers checked: all totals match." in response.content.decode()
