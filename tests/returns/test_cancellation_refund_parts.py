"""Refunds of cancelled units paid in steps give back the tax and shipping the sale booked,
each once and to the cent."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import pricing
from orders.models import Order
from orders.services import order_cancel, order_create
from returns.models import Refund
from returns.selectors import order_refundable
from returns.services import order_refund
from tests.orders.conftest import order_data
from tests.orders.test_accounting import two_line_order

pytestmark = pytest.mark.django_db


def cancellation_refunds(order) -> tuple[Decimal, Decimal, Decimal]:
    refunds = Refund.objects.filter(order=order, kind=Refund.Kind.CANCELLATION)
    return (
        sum((refund.amount for refund in refunds), Decimal("0.00")),
        sum((refund.tax_amount for refund in refunds), Decimal("0.00")),
        sum((refund.shipping_amount for refund in refunds), Decimal("0.00")),
    )


def test_a_second_cancellation_refund_takes_the_tax_and_shipping_not_yet_given_back(shop, stock):
    """73.00 paid (6.00 tax, 7.00 shipping); the B units are cancelled and their 22.00 (2.00
    tax) refunded, then the rest is cancelled: its 51.00 carries the other 4.00 tax and all
    7.00 shipping."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    order_cancel(order=order, actor="test", lines={order.lines.get(sku="B").pk: 2})
    order_refund(order=order, kind="cancellation", actor="test", reason="")
    order_cancel(order=order, actor="test")

    second = order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert (second.amount, second.tax_amount, second.shipping_amount, second.goods_amount) == (
        Decimal("51.00"), Decimal("4.00"), Decimal("7.00"), Decimal("44.00")
    )
    assert cancellation_refunds(order) == (Decimal("73.00"), Decimal("6.00"), Decimal("7.00"))


def test_a_refund_due_paid_in_two_parts_splits_its_tax_and_shipping_to_the_cent(shop, stock):
    """The whole 73.00 cancelled and refunded as 20.00 and then the 53.00 left: the first
    takes 20/73 of the 6.00 tax and 7.00 shipping (1.64, 1.92), the second the rest."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    order_cancel(order=order, actor="test")

    first = order_refund(
        order=order, kind="cancellation", actor="test", reason="", amount=Decimal("20.00")
    )
    second = order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert (first.tax_amount, first.shipping_amount) == (Decimal("1.64"), Decimal("1.92"))
    assert (second.amount, second.tax_amount, second.shipping_amount) == (
        Decimal("53.00"), Decimal("4.36"), Decimal("5.08")
    )


def test_units_cancelled_after_a_part_paid_sale_give_back_only_the_tax_the_sale_booked(
    shop, stock
):
    """40.00 of 73.00 paid; B and one A are cancelled (33.00, 3.00 tax), which leaves 40.00
    to pay, so the order is paid: the sale books 40.00 with 3.00 tax and 7.00 shipping.
    Cancelling the rest owes back the 40.00 paid: 3.00 tax and 7.00 shipping, not a share of
    the whole order's 6.00 tax."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="40.00")
    lines = {line.sku: line.pk for line in order.lines.all()}
    order_cancel(order=order, actor="test", lines={lines["B"]: 2, lines["A"]: 1})
    order.refresh_from_db()
    assert (order.status, order.refund_due) == ("processing", Decimal("0.00"))
    order_cancel(order=order, actor="test")

    refund = order_refund(order=order, kind="cancellation", actor="test", reason="")

    assert (refund.amount, refund.tax_amount, refund.shipping_amount) == (
        Decimal("40.00"), Decimal("3.00"), Decimal("7.00")
    )


# Two lines (A, B): their quantities and prices, the order's tax and its shipping.
ORDER_SHAPES = {
    "quantities": st.tuples(st.integers(1, 4), st.integers(1, 4)),
    "prices": st.tuples(
        st.decimals(min_value="0.01", max_value="99.99", places=2),
        st.decimals(min_value="0.01", max_value="99.99", places=2),
    ),
    "tax": st.decimals(min_value="0.00", max_value="30.00", places=2),
    "shipping": st.decimals(min_value="0.00", max_value="15.00", places=2),
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("cancel"), st.sampled_from(["A", "B"]), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(1, 100), st.none()),
    ),
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    **ORDER_SHAPES,
    steps=steps,
)
def test_cancellation_refunds_never_give_back_more_tax_or_shipping_than_the_order_had(
    shop, stock, quantities, prices, tax, shipping, steps
):
    """However units are cancelled and the refund due paid back (in full or in part), the
    refunded tax and shipping never exceed the order's; once everything is cancelled and
    refunded they equal it exactly, and so does the money."""
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    with transaction.atomic():
        order = paid_order(shop, quantities=quantities, prices=prices, tax=tax,
                           shipping=shipping)
        for step, first, second in steps:
            if step == "cancel":
                cancel_units(order, sku=first, units=second)
            else:
                refund_share(order, percent=first)
            _amount, refunded_tax, refunded_shipping = cancellation_refunds(order)
            assert refunded_tax <= order.tax_total, "more tax refunded than the order had"
            assert refunded_shipping <= order.shipping_total, "more shipping refunded than paid"
        if order.status != "cancelled":
            order_cancel(order=order, actor="test")
        order.refresh_from_db()
        if order.refund_due > 0:
            order_refund(order=order, kind="cancellation", actor="test", reason="")
        assert cancellation_refunds(order) == (order.total, order.tax_total, order.shipping_total)
        transaction.set_rollback(True)


def paid_order(shop, *, quantities, prices, tax, shipping, paid_percent=100) -> Order:
    """An order of A and B with `paid_percent` of its total captured by card (at least a
    cent)."""
    lines = [
        {"sku": sku, "quantity": quantity, "unit_price": price}
        for sku, quantity, price in zip(("A", "B"), quantities, prices, strict=True)
    ]
    subtotal = sum(line["unit_price"] * line["quantity"] for line in lines)
    total = subtotal + shipping + tax
    paid = max(pricing.money(total * paid_percent / 100), Decimal("0.01"))
    return order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            lines=lines,
            shipping_total=shipping,
            tax_total=tax,
            payment={"method": "card", "amount": paid, "status": "captured",
                     "reference": "p1"},
        ),
    )


def cancel_units(order: Order, *, sku: str, units: int) -> None:
    line = order.lines.get(sku=sku)
    units = min(units, line.quantity - line.quantity_cancelled)
    if units > 0 and order.lines.exclude(pk=line.pk).filter(quantity_cancelled__lt=1).exists():
        order_cancel(order=order, actor="test", lines={line.pk: units})
    order.refresh_from_db()


def refund_share(order: Order, *, percent: int) -> None:
    amount = (order.refund_due * percent / 100).quantize(Decimal("0.01"))
    if amount > 0:
        order_refund(order=order, kind="cancellation", actor="test", reason="", amount=amount)
    order.refresh_from_db()


def goodwill_share(order: Order, *, percent: int) -> None:
    """A goodwill refund of `percent` of what may still be refunded beside the refund due."""
    amount = (order_refundable(order=order) * percent / 100).quantize(Decimal("0.01"))
    if amount > 0:
        order_refund(order=order, kind="goodwill", actor="test", reason="Sorry", amount=amount)
    order.refresh_from_db()


def refunded_in_all(order: Order) -> Decimal:
    return sum(Refund.objects.filter(order=order).values_list("amount", flat=True),
               Decimal("0.00"))


money_steps = st.lists(
    st.one_of(
        st.tuples(st.just("cancel"), st.sampled_from(["A", "B"]), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(1, 100)),
        st.tuples(st.just("goodwill"), st.integers(1, 100)),
    ),
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    **ORDER_SHAPES,
    paid_percent=st.sampled_from([100, 100, 80, 55, 30]),
    steps=money_steps,
)
def test_goodwill_and_cancellation_refunds_never_give_back_more_than_was_paid(
    shop, stock, quantities, prices, tax, shipping, paid_percent, steps
):
    """However goodwill refunds, cancellations and refunds of what they owe follow each
    other, on a paid or part-paid order, what went back and what is still owed never exceed
    what was paid; once everything is cancelled and all that is due refunded, exactly what was
    paid has gone back."""
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    with transaction.atomic():
        order = paid_order(shop, quantities=quantities, prices=prices, tax=tax,
                           shipping=shipping, paid_percent=paid_percent)
        for step, first, *rest in steps:
            if step == "cancel":
                cancel_units(order, sku=first, units=rest[0])
            elif step == "refund":
                refund_share(order, percent=first)
            else:
                goodwill_share(order, percent=first)
            assert order.refund_due >= 0, "a negative refund due"
            assert refunded_in_all(order) + order.refund_due <= order.paid_total, (
                "more refunded and owed back than was paid"
            )
        if order.status != "cancelled":
            order_cancel(order=order, actor="test")
        order.refresh_from_db()
        if order.refund_due > 0:
            order_refund(order=order, kind="cancellation", actor="test", reason="")
        order.refresh_from_db()
        assert order.refund_due == Decimal("0.00")
        assert refunded_in_all(order) == order.paid_total, "not all that was paid went back"
        transaction.set_rollback(True)
