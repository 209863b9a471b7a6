"""The journal books a refund made before the order was paid in full (a goodwill gesture on a
part-paid order) as a refund of the sale once `order.paid` books it, and as a part payment
returned while no sale has."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from oms_project.models import OutboxEvent
from orders.accounting import accounting_journal
from orders.services import order_cancel, payment_apply
from returns.services import order_refund
from tests.orders.test_accounting import two_line_order

pytestmark = pytest.mark.django_db


def part_paid_order_with_goodwill(shop, stock):
    """73.00 ordered (6.00 tax, 7.00 shipping), 40.00 paid, 10.00 goodwill refunded."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="40.00")
    order_refund(
        order=order, kind="goodwill", actor="test", reason="late", amount=Decimal("10.00")
    )
    return order


def pay_the_rest(order):
    payment_apply(order=order, method="card", amount=Decimal("33.00"), status="captured",
                  reference="p2", actor="test")


def columns(row, *names):
    return tuple(row[name] for name in names)


def test_goodwill_before_the_sale_is_a_refund_of_the_sale_booked_the_same_day(shop, stock):
    order = part_paid_order_with_goodwill(shop, stock)
    refund_event = OutboxEvent.objects.get(topic="refund.completed")
    assert refund_event.payload["of_sale"] is False

    pay_the_rest(order)

    [row] = accounting_journal(day=timezone.localdate())
    assert columns(
        row, "sales_total", "refunds_count", "refunds_total", "refunds_tax",
        "refunds_part_payments", "net_total",
    ) == ("73.00", 1, "10.00", "0.00", "0.00", "63.00")


def test_goodwill_the_day_before_the_sale_moves_to_the_sales_day(shop, stock):
    """Day 1: 10.00 went back of money no sale had booked (a part payment returned). Day 2:
    the sale books 73.00 and the 10.00 as its refund; the two days net the 63.00 kept."""
    order = part_paid_order_with_goodwill(shop, stock)
    yesterday = timezone.now() - timedelta(days=1)
    OutboxEvent.objects.update(created_at=yesterday)
    pay_the_rest(order)

    [before] = accounting_journal(day=timezone.localtime(yesterday).date())
    [sale_day] = accounting_journal(day=timezone.localdate())

    names = ("sales_total", "refunds_total", "refunds_part_payments", "net_total")
    assert columns(before, *names) == ("0.00", "0.00", "10.00", "0.00")
    assert columns(sale_day, *names) == ("73.00", "10.00", "-10.00", "63.00")
    assert sale_day["refunds_count"] == 1


def test_goodwill_on_an_order_cancelled_before_it_was_paid_stays_a_part_payment(shop, stock):
    """40.00 paid, 10.00 goodwill, then the order is cancelled and the 30.00 left goes back:
    no sale, no refund of sales; 40.00 of part payments returned."""
    order = part_paid_order_with_goodwill(shop, stock)
    order_cancel(order=order, actor="test")
    order_refund(
        order=order, kind="cancellation", actor="test", reason="", amount=Decimal("30.00")
    )

    [row] = accounting_journal(day=timezone.localdate())
    assert columns(
        row, "sales_count", "refunds_count", "refunds_total", "refunds_part_payments", "net_total"
    ) == (0, 0, "0.00", "40.00", "0.00")


def test_a_goodwill_refund_after_the_sale_is_booked_once(shop, stock):
    order = part_paid_order_with_goodwill(shop, stock)
    pay_the_rest(order)
    order_refund(
        order=order, kind="goodwill", actor="test", reason="again", amount=Decimal("5.00")
    )

    [row] = accounting_journal(day=timezone.localdate())
    assert columns(
        row, "refunds_count", "refunds_total", "refunds_part_payments", "net_total"
    ) == (2, "15.00", "0.00", "58.00")
