"""A goodwill refund followed by a cancellation: the cancellation owes back only the money the
order still holds, so the customer never gets back more than was paid.

The order (`two_line_order`): 4 x A and 2 x B at 10.00, 6.00 tax, 7.00 shipping, 73.00 in all;
B's two units are worth 22.00 (2.00 tax), the rest 51.00.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_cancel
from returns.errors import RefundExceedsPaid
from returns.models import Refund
from returns.services import order_refund
from tests.orders.test_accounting import two_line_order
from tests.returns.conftest import post_json
from tests.returns.test_apis import back_office_client

pytestmark = pytest.mark.django_db


def goodwill(order, amount: str) -> Refund:
    return order_refund(order=order, kind="goodwill", amount=Decimal(amount), reason="Late",
                        actor="test")


def refunded(order) -> Decimal:
    return sum(Refund.objects.filter(order=order).values_list("amount", flat=True),
               Decimal("0.00"))


def test_goodwill_then_full_cancel_by_api_gives_back_exactly_what_was_paid(
    shop, stock, make_client
):
    """73.00 paid, 10.00 goodwill, then the whole order cancelled: 63.00 is due, not 73.00,
    and refunding it brings the refunds to the 73.00 paid; a cent more is refused."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    desk = back_office_client()
    channel = make_client(channel=shop["channel"])
    given = post_json(desk, "/api/v1/refunds/", {
        "order": order.number, "kind": "goodwill", "amount": "10.00", "reason": "Late",
    })
    assert given.status_code == 201, given.json()

    cancelled = post_json(channel, f"/api/v1/orders/{order.number}/cancel/", {"reason": "x"})

    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["status"], cancelled.json()["refund_due"]) == ("cancelled", "63.00")
    too_much = post_json(desk, "/api/v1/refunds/", {
        "order": order.number, "kind": "cancellation", "amount": "63.01",
    })
    assert too_much.status_code == 400
    assert too_much.json()["code"] == "refund_exceeds_paid"
    paid_back = post_json(desk, "/api/v1/refunds/", {"order": order.number,
                                                      "kind": "cancellation"})
    assert paid_back.status_code == 201, paid_back.json()
    assert paid_back.json()["amount"] == "63.00"
    order.refresh_from_db()
    assert (order.refund_due, refunded(order)) == (Decimal("0.00"), Decimal("73.00"))


def test_goodwill_then_cancel_in_two_steps_owes_back_the_rest_of_the_payments(shop, stock):
    """73.00 paid, 10.00 goodwill: cancelling B owes its 22.00 (the order still holds 63.00);
    cancelling the rest owes 41.00, not its 51.00 value: 73.00 back in all."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    goodwill(order, "10.00")

    first = order_cancel(order=order, actor="test", lines={order.lines.get(sku="B").pk: 2})
    second = order_cancel(order=order, actor="test")

    assert (first["refund_due"], second["refund_due"]) == (Decimal("22.00"), Decimal("41.00"))
    order.refresh_from_db()
    assert (order.status, order.refund_due) == ("cancelled", Decimal("63.00"))
    refund = order_refund(order=order, kind="cancellation", actor="test", reason="")
    assert refund.amount == Decimal("63.00")
    assert refunded(order) == order.paid_total == Decimal("73.00")


def test_goodwill_on_a_part_paid_order_then_cancel_owes_back_the_rest_of_the_part_payment(
    shop, stock
):
    """40.00 of 73.00 paid, 10.00 goodwill, everything cancelled: 30.00 is due, so 40.00 goes
    back in all."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="40.00")
    goodwill(order, "10.00")

    outcome = order_cancel(order=order, actor="test")

    assert outcome["refund_due"] == Decimal("30.00")
    refund = order_refund(order=order, kind="cancellation", actor="test", reason="")
    assert refund.amount == Decimal("30.00")
    assert refunded(order) == Decimal("40.00")


def test_the_cancellation_event_and_journal_book_only_what_is_owed_back(shop, stock):
    """The `order.cancelled` event carries the 63.00 owed; the day's refunds (10.00 goodwill
    and 63.00) net the 73.00 sale to nothing."""
    from oms_project.models import OutboxEvent
    from orders.accounting import accounting_journal

    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    goodwill(order, "10.00")
    order_cancel(order=order, actor="test")
    order_refund(order=order, kind="cancellation", actor="test", reason="")

    event = OutboxEvent.objects.get(topic="order.cancelled", reference=order.number)
    assert event.payload["refund_due"] == "63.00"
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["sales_total"], row["cancellations_refund_due"], row["refunds_total"],
            row["refunds_tax"], row["refunds_shipping"], row["net_total"]) == (
        "73.00", "63.00", "73.00", "6.00", "7.00", "0.00"
    )


def test_a_cancellation_refund_over_the_payments_left_is_refused_whatever_is_due(shop, stock):
    """An order whose refund due says more than the payments left (written before the cap):
    73.00 paid, 10.00 goodwill, 73.00 due. Paying the 73.00 is refused, as is any goodwill;
    63.00 may still go back."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    goodwill(order, "10.00")
    order_cancel(order=order, actor="test")
    Order.objects.filter(pk=order.pk).update(refund_due=Decimal("73.00"))

    with pytest.raises(RefundExceedsPaid) as refused:
        order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert str(refused.value) == (
        "Refunding 73.00 USD would bring the refunds of order "
        f"{order.number} to 83.00, more than the 73.00 paid (63.00 is left to refund)."
    )
    assert refused.value.extra == {"refundable": "63.00"}
    assert Refund.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.refund_due == Decimal("73.00")
    with pytest.raises(RefundExceedsPaid):
        goodwill(order, "0.01")
    refund = order_refund(order=order, kind="cancellation", actor="test", reason="",
                          amount=Decimal("63.00"))
    assert refund.amount == Decimal("63.00")
    assert refunded(order) == Decimal("73.00")


def test_the_cancellation_preview_shows_what_the_cancellation_will_owe_back(shop, stock):
    from orders.selectors import cancellation_preview

    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    goodwill(order, "10.00")
    order.refresh_from_db()

    assert cancellation_preview(order)["refund"] == Decimal("63.00")


def test_a_sale_made_paid_by_a_capped_cancellation_nets_to_the_money_kept(shop, stock):
    """60.00 of 73.00 paid, 55.00 goodwill, B cancelled: 9.00 would be overpaid but only 5.00
    is still held, so 5.00 is due, and the 51.00 left is paid. The customer paid 60.00 and got
    60.00 back: the journal should net to nothing."""
    from orders.accounting import accounting_journal

    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="60.00")
    goodwill(order, "55.00")
    assert order_cancel(order=order, actor="test", lines={order.lines.get(sku="B").pk: 2})[
        "refund_due"
    ] == Decimal("5.00")
    order_refund(order=order, kind="cancellation", actor="test", reason="")

    [row] = accounting_journal(day=timezone.localdate())
    assert (row["sales_total"], row["refunds_total"], row["net_total"]) == (
        "60.00", "60.00", "0.00"
    )
