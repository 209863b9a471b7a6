"""Refund arithmetic, refunds without a return, exchanges, and backorders taking restocks."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.models import StockLevel
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Order, OrderLine
from orders.services import order_cancel, order_create
from returns.errors import InvalidTransition, RefundExceedsPaid, ReturnValidationError
from returns.models import Refund
from returns.refund_pricing import line_refund
from returns.services import (
    order_refund,
    refund_quote,
    return_approve,
    return_create,
    return_receive,
    return_refund,
)
from returns.tasks import return_backorders_allocate_task
from tests.orders.conftest import order_data
from tests.returns.conftest import lines_by_sku

pytestmark = pytest.mark.django_db


def received_return(order, *, exchange_items=None, condition="resellable", **quantities):
    lines = lines_by_sku(order)
    return_request = return_create(
        order=order, actor="test", exchange_items=exchange_items,
        lines=[{"line_id": lines[sku].pk, "quantity": units, "reason": "defective"}
               for sku, units in quantities.items()],
    )
    return_approve(return_request=return_request, actor="test")
    return_receive(
        return_request=return_request, actor="test",
        lines=[{"line_id": lines[sku].pk, "condition": condition, "quantity": units,
                **({"location": "EAST"} if condition == "resellable" else {})}
               for sku, units in quantities.items()],
    )
    return_request.refresh_from_db()
    return return_request


def test_units_refunded_one_by_one_add_up_to_the_line_exactly(delivered):
    amounts = []
    for _ in range(3):
        refund = return_refund(return_request=received_return(delivered, B=1), actor="test")
        amounts.append((refund.amount, refund.tax_amount))
    assert amounts == [
        (Decimal("4.57"), Decimal("0.37")),
        (Decimal("4.58"), Decimal("0.38")),
        (Decimal("4.57"), Decimal("0.37")),
    ]
    assert sum(amount for amount, _ in amounts) == Decimal("13.72")


def test_shipping_is_refunded_once(delivered):
    first = return_refund(
        return_request=received_return(delivered, A=1), actor="test", refund_shipping=True
    )
    second = return_refund(
        return_request=received_return(delivered, A=1), actor="test", refund_shipping=True
    )
    assert (first.amount, first.shipping_amount) == (Decimal("14.80"), Decimal("5.00"))
    assert (second.amount, second.shipping_amount) == (Decimal("9.80"), Decimal("0.00"))


def test_restocking_fee_cannot_exceed_the_goods(delivered):
    return_request = received_return(delivered, A=1)
    with pytest.raises(ReturnValidationError) as error:
        return_refund(return_request=return_request, actor="test", restocking_fee="9.81")
    assert "restocking_fee" in error.value.errors
    assert not Refund.objects.exists()
    assert return_request.status == "received"


def test_a_refund_above_what_was_paid_is_refused(delivered):
    order_refund(order=delivered, kind="goodwill", amount=Decimal("30.00"), reason="Late",
                 actor="test")
    return_request = received_return(delivered, A=1)
    with pytest.raises(RefundExceedsPaid) as error:
        return_refund(return_request=return_request, actor="test")
    assert error.value.extra == {"refundable": "8.32"}
    assert Refund.objects.count() == 1
    return_request.refresh_from_db()
    assert return_request.status == "received"
    # Staff may lower the amount with a reason to what is left.
    refund = return_refund(
        return_request=return_request, actor="test", adjustment="-1.48",
        adjustment_reason="Goodwill already paid",
    )
    assert refund.amount == Decimal("8.32")


def test_refund_emits_events_and_emails_the_customer(delivered):
    refund = return_refund(
        return_request=received_return(delivered, A=1), actor="user:ops", method="card",
        processor_reference="re_55",
    )
    created = OutboxEvent.objects.get(topic="refund.created")
    assert created.payload["number"] == refund.number
    assert created.payload["lines"] == [
        {"line_id": lines_by_sku(delivered)["A"].pk, "quantity": 1, "amount": "9.80",
         "tax_amount": "0.80"}
    ]
    completed = OutboxEvent.objects.get(topic="refund.completed")
    assert (completed.payload["amount"], completed.payload["tax_amount"]) == ("9.80", "0.80")
    assert completed.payload["refund_reference"] == refund.number
    email = EmailMessage.objects.filter(template="refund_issued").get()
    assert "9.80" in email.subject and "1 x" in email.body_text


def test_cancellation_refund_settles_refund_due(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())
    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 1}, reason="Changed")
    order.refresh_from_db()
    assert order.refund_due == Decimal("11.00")  # 10.00 and half the 2.00 tax

    with pytest.raises(RefundExceedsPaid):
        order_refund(order=order, kind="cancellation", amount=Decimal("11.01"), reason="",
                     actor="test")
    refund = order_refund(order=order, kind="cancellation", reason="", actor="test")

    assert (refund.kind, refund.amount) == ("cancellation", Decimal("11.00"))
    # Accounting sees the tax it pays back: the cancelled unit's half of the 2.00 tax.
    assert (refund.goods_amount, refund.tax_amount, refund.shipping_amount) == (
        Decimal("11.00"), Decimal("1.00"), Decimal("0.00")
    )
    order.refresh_from_db()
    assert order.refund_due == Decimal("0.00")
    assert order.events.filter(type="refund_due_settled").count() == 1
    with pytest.raises(ReturnValidationError):
        order_refund(order=order, kind="cancellation", reason="", actor="test")
    assert Refund.objects.count() == 1


def test_a_full_cancellation_refund_pays_back_tax_and_shipping_by_part(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())
    order_cancel(order=order, actor="test")
    order.refresh_from_db()
    refund = order_refund(order=order, kind="cancellation", reason="", actor="test")
    assert refund.amount == order.total
    assert (refund.tax_amount, refund.shipping_amount) == (order.tax_total, order.shipping_total)
    assert refund.goods_amount == order.total - order.shipping_total


def test_goodwill_without_reason_or_amount_is_refused(delivered):
    with pytest.raises(ReturnValidationError):
        order_refund(order=delivered, kind="goodwill", amount=Decimal("1.00"), reason=" ",
                     actor="test")
    with pytest.raises(ReturnValidationError):
        order_refund(order=delivered, kind="goodwill", reason="Sorry", actor="test")
    with pytest.raises(ReturnValidationError):
        order_refund(order=delivered, kind="return", amount=Decimal("1.00"), reason="x",
                     actor="test")
    assert not Refund.objects.exists()


def test_refund_before_receipt_is_an_invalid_transition(delivered):
    lines = lines_by_sku(delivered)
    return_request = return_create(order=delivered, actor="test", lines=[
        {"line_id": lines["A"].pk, "quantity": 1, "reason": "other"}])
    with pytest.raises(InvalidTransition):
        return_refund(return_request=return_request, actor="test")
    assert not Refund.objects.exists()


def test_damaged_units_are_refunded_but_not_restocked(delivered):
    on_hand = StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand
    return_request = received_return(delivered, condition="damaged", A=2)
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand == on_hand
    assert refund_quote(return_request=return_request).amount == Decimal("19.60")


def test_exchange_cheaper_than_the_return_refunds_the_difference(delivered, stock):
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    exchange = return_request.exchange_order
    assert exchange is not None
    assert exchange.channel_order_id == f"{return_request.number}-X"
    assert exchange.customer_id == delivered.customer_id
    assert exchange.shipping_address == delivered.shipping_address
    assert (exchange.total, exchange.paid_total, exchange.status) == (
        Decimal("6.00"), Decimal("6.00"), "processing"
    )
    assert exchange.payments.get().method == "exchange_credit"
    assert return_request.exchange_credit == Decimal("6.00")
    refund = return_refund(return_request=return_request, actor="test")
    assert (refund.amount, refund.exchange_credit) == (Decimal("3.80"), Decimal("6.00"))


def test_exchange_credit_given_cannot_be_paid_out_again(delivered, stock):
    """The 6.00 of credit that paid the replacement went back to the customer as goods: a
    goodwill refund can pay at most what is left of the order's payments beside it."""
    from returns.selectors import order_refundable

    stock("C", "EAST", 5)
    paid = delivered.paid_total
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    assert order_refundable(order=delivered) == paid - Decimal("6.00")
    with pytest.raises(RefundExceedsPaid):
        order_refund(order=delivered, kind="goodwill", amount=paid, reason="sorry",
                     actor="test")
    refund = return_refund(return_request=return_request, actor="test")
    assert order_refundable(order=delivered) == paid - Decimal("6.00") - refund.amount
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("method", ["bitcoin", "exchange_credit"])
def test_a_refund_goes_back_by_how_the_order_was_paid(delivered, method):
    with pytest.raises(ReturnValidationError) as refused:
        order_refund(order=delivered, kind="goodwill", amount=Decimal("1.00"), reason="x",
                     method=method, actor="test")
    assert "bank_transfer, card, cash, store_credit" in refused.value.errors["method"][0]
    assert not Refund.objects.exists()
    refund = order_refund(order=delivered, kind="goodwill", amount=Decimal("1.00"), reason="x",
                          method="bank_transfer", actor="test")
    assert refund.method == "bank_transfer"


def test_a_refund_of_a_replacement_goes_back_by_how_it_was_paid(delivered, stock):
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "15.00"}]
    )
    exchange = return_request.exchange_order
    from orders.services import payment_apply

    payment_apply(order=exchange, method="card", amount=exchange.total - exchange.paid_total,
                  status="captured", reference="top-up", actor="test")
    with pytest.raises(ReturnValidationError) as refused:
        order_refund(order=exchange, kind="goodwill", amount=Decimal("1.00"), reason="x",
                     method="bitcoin", actor="test")
    assert "exchange_credit" in refused.value.errors["method"][0]
    assert not Refund.objects.filter(order=exchange).exists()


def test_the_journal_books_an_exchange_as_the_money_that_moved(delivered, stock):
    """The replacement is a sale paid with credit the customer had already paid for: the
    journal shows that credit apart, so the day's net is the cash that came in less what went
    back; credit given back by a cancelled replacement is not money refunded."""
    from django.utils import timezone

    from orders.accounting import accounting_journal

    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    refund = return_refund(return_request=return_request, actor="test")
    [row] = accounting_journal(day=timezone.localdate())
    paid = delivered.paid_total
    assert (row["sales_total"], row["sales_exchange_credit"]) == (str(paid + 6), "6.00")
    assert row["refunds_total"] == str(refund.amount)
    assert row["net_total"] == str(paid - refund.amount)
    order_cancel(order=return_request.exchange_order, actor="test", reason="changed mind")
    order_refund(order=return_request.exchange_order, kind="cancellation", reason="",
                 actor="test")
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["refunds_total"], row["refunds_exchange_credit"]) == (str(refund.amount), "6.00")


def test_exchange_dearer_than_the_return_waits_for_the_difference(delivered, stock):
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "15.00"}]
    )
    exchange = return_request.exchange_order
    assert (exchange.total, exchange.paid_total, exchange.status) == (
        Decimal("15.00"), Decimal("9.80"), "created"
    )
    assert return_request.events.filter(type="exchange_created").get().message.endswith(
        "5.20 to be paid by the customer"
    )
    with pytest.raises(ReturnValidationError):
        return_refund(return_request=return_request, actor="test")


def test_same_sku_exchange_defaults_to_the_returned_price(delivered):
    return_request = received_return(delivered, A=1, exchange_items=[{"sku": "A", "quantity": 1}])
    # One unit of A was paid 9.80 (10.00 less its discount share plus its tax): an even swap.
    assert return_request.exchange_order.total == Decimal("9.80")
    assert return_request.exchange_order.status == "processing"
    assert refund_quote(return_request=return_request).amount == Decimal("0.00")


def test_unknown_exchange_sku_is_refused(delivered):
    lines = lines_by_sku(delivered)
    with pytest.raises(ReturnValidationError) as error:
        return_create(order=delivered, actor="test",
                      lines=[{"line_id": lines["A"].pk, "quantity": 1, "reason": "other"}],
                      exchange_items=[{"sku": "ZZZ", "quantity": 1, "unit_price": "1.00"}])
    assert error.value.errors == {"exchange_items": {"0": ["Unknown SKU 'ZZZ'."]}}


def test_restocked_units_go_to_waiting_backorders(
    delivered, shop, django_capture_on_commit_callbacks
):
    level = StockLevel.objects.get(product__sku="A", warehouse__code="EAST")
    waiting = order_create(channel=shop["channel"], actor="test", data=order_data(
        channel_order_id="WAIT-1",
        lines=[{"sku": "A", "quantity": level.on_hand - level.allocated + 1,
                "unit_price": Decimal("10.00")}],
        payment={"method": "card", "status": "captured", "reference": "w",
                 "amount": Decimal(10 * (level.on_hand - level.allocated + 1) + 7)},
    ))
    assert waiting.status == "backordered"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        received_return(delivered, A=1)
    assert Order.objects.get(pk=waiting.pk).status == "backordered"
    assert callbacks  # the backorder fill is scheduled after commit

    result = return_backorders_allocate_task(
        [shop["products"]["A"].pk], "return_restock"
    )

    assert result == {"orders": [waiting.number], "filled": [waiting.number]}
    assert Order.objects.get(pk=waiting.pk).status == "processing"
    assert OrderLine.objects.get(order=waiting).quantity_open == 0


@settings(max_examples=40, deadline=None)
@given(
    unit_price=st.decimals(min_value="0.01", max_value="999.99", places=2),
    quantity=st.integers(min_value=1, max_value=12),
    splits=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6),
    tax=st.decimals(min_value="0", max_value="200", places=2),
    discount_share=st.integers(min_value=0, max_value=50),
)
def test_refunds_in_any_split_add_up_to_the_whole_line(
    unit_price, quantity, splits, tax, discount_share
):
    """However the units of a line are refunded, the parts sum to the value of all of them."""
    line = OrderLine(quantity=quantity, line_total=unit_price * quantity)
    subtotal = line.line_total + Decimal("13.37")  # another line shares the order
    order = Order(subtotal=subtotal, tax_total=tax,
                  discount_total=(subtotal * discount_share / 100).quantize(Decimal("0.01")))
    refunded, amount, tax_amount = 0, Decimal("0"), Decimal("0")
    for split in splits:
        units = min(split, quantity - refunded)
        if units <= 0:
            break
        part = line_refund(order=order, line=line, units=units, units_refunded_before=refunded)
        assert part.amount >= 0 and part.tax_amount >= 0
        refunded += units
        amount += part.amount
        tax_amount += part.tax_amount
    whole = line_refund(order=order, line=line, units=refunded, units_refunded_before=0)
    assert (amount, tax_amount) == (whole.amount, whole.tax_amount)


def test_an_exchange_for_a_silent_order_is_silent_too(delivered, stock):
    Order.objects.filter(pk=delivered.pk).update(notify_customer=False)
    delivered.refresh_from_db()
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    exchange = return_request.exchange_order
    assert exchange.notify_customer is False
    assert not EmailMessage.objects.filter(reference=f"order:{exchange.number}").exists()


def test_what_is_left_to_refund_is_money_to_the_cent(delivered):
    for amount in ("0.10", "0.20"):  # a float sum would be 0.30000000000000004
        order_refund(order=delivered, kind="goodwill", amount=Decimal(amount), reason="Sorry",
                     actor="test")
    with pytest.raises(RefundExceedsPaid) as error:
        order_refund(order=delivered, kind="goodwill", amount=Decimal("999.00"), reason="Too much",
                     actor="test")
    left = error.value.extra["refundable"]
    assert left == str(delivered.paid_total - Decimal("0.30"))
    assert len(left.split(".")[1]) == 2


def test_cancelled_units_of_a_card_paid_order_go_back_to_the_card(shop, stock):
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())

    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 1}, reason="Changed")

    cancelled = EmailMessage.objects.get(template="order_cancelled")
    assert "We will refund 11.00 USD to your original payment method." in cancelled.body_text
    assert "to your original payment method" in cancelled.body_html
    assert "exchange credit" not in cancelled.body_text
    refund = order_refund(order=order, kind="cancellation", reason="", actor="test")
    assert (refund.method, refund.amount) == ("card", Decimal("11.00"))
    issued = EmailMessage.objects.get(template="refund_issued")
    assert f"we have refunded 11.00 USD for order {order.number} to your card." in (
        issued.body_text
    )
    assert "Depending on your bank" in issued.body_text


def test_a_cancelled_exchange_order_goes_back_to_the_returns_exchange_credit(delivered, stock):
    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "6.00"}]
    )
    exchange = return_request.exchange_order

    outcome = order_cancel(order=exchange, actor="test", reason="Changed my mind")

    assert outcome["refund_due"] == Decimal("6.00")
    [cancelled] = EmailMessage.objects.filter(
        template="order_cancelled", reference=f"order:{exchange.number}"
    )
    credit = (
        f"The 6.00 USD paid with the exchange credit of your return {return_request.number} "
        "goes back to that credit; nothing is refunded to a card or bank account."
    )
    assert credit in cancelled.body_text
    assert credit in cancelled.body_html
    assert "original payment method" not in cancelled.body_text
    refund = order_refund(order=exchange, kind="cancellation", reason="", actor="test")
    assert (refund.method, refund.amount) == ("exchange_credit", Decimal("6.00"))
    issued = EmailMessage.objects.get(
        template="refund_issued", reference=f"order:{exchange.number}"
    )
    assert (
        f"we have refunded 6.00 USD for order {exchange.number} as exchange credit to your "
        f"return {return_request.number}." in issued.body_text
    )
    assert "bank" not in issued.body_text and "bank" not in issued.body_html
    # The credit given back is the returned order's to pay out again.
    from returns.selectors import order_refundable

    assert order_refundable(order=delivered) == delivered.paid_total


def _exchange_topped_up_by_card(delivered, stock):
    """An exchange of 15.00 paid 9.80 from the return's credit and 5.20 by card, cancelled."""
    from orders.services.payments import payment_apply

    stock("C", "EAST", 5)
    return_request = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "15.00"}]
    )
    exchange = return_request.exchange_order
    payment_apply(
        order=exchange, method="card", amount=Decimal("5.20"), status="captured", actor="test"
    )
    exchange.refresh_from_db()
    assert exchange.paid_total == Decimal("15.00")
    assert order_cancel(order=exchange, actor="test", reason="Changed my mind")[
        "refund_due"
    ] == Decimal("15.00")
    exchange.refresh_from_db()
    return exchange


def test_an_exchange_topped_up_by_card_never_refunds_the_credit_to_the_card(delivered, stock):
    exchange = _exchange_topped_up_by_card(delivered, stock)

    # All of it at once would go back to two payments: refused, with both amounts.
    with pytest.raises(RefundExceedsPaid) as refused:
        order_refund(order=exchange, kind="cancellation", reason="", actor="test")
    assert "refund at most 5.20 with method 'card'" in str(refused.value.detail)
    assert Refund.objects.filter(order=exchange).count() == 0
    # More than the card paid is refused by card.
    with pytest.raises(RefundExceedsPaid):
        order_refund(
            order=exchange, kind="cancellation", reason="", actor="test",
            amount=Decimal("6.00"), method="card",
        )

    card = order_refund(
        order=exchange, kind="cancellation", reason="", actor="test", amount=Decimal("5.20")
    )
    credit = order_refund(order=exchange, kind="cancellation", reason="", actor="test")

    assert (card.method, card.amount) == ("card", Decimal("5.20"))
    assert (credit.method, credit.amount) == ("exchange_credit", Decimal("9.80"))
    exchange.refresh_from_db()
    assert exchange.refund_due == Decimal("0.00")


def test_an_exchange_topped_up_by_card_refunds_a_small_amount_to_the_card_first(
    delivered, stock
):
    exchange = _exchange_topped_up_by_card(delivered, stock)
    refund = order_refund(
        order=exchange, kind="cancellation", reason="", actor="test", amount=Decimal("3.00")
    )
    assert refund.method == "card"
    with pytest.raises(RefundExceedsPaid):
        order_refund(
            order=exchange, kind="cancellation", reason="", actor="test",
            amount=Decimal("9.81"), method="exchange_credit",
        )


def test_the_cancellation_email_of_an_exchange_topped_up_by_card_names_both(delivered, stock):
    exchange = _exchange_topped_up_by_card(delivered, stock)
    return_number = exchange.payments.get(method="exchange_credit").reference
    [cancelled] = EmailMessage.objects.filter(
        template="order_cancelled", reference=f"order:{exchange.number}"
    )
    both = (
        "We will refund 15.00 USD the way you paid: what you paid by card goes back to it "
        f"first, and the rest to the exchange credit of your return {return_number}."
    )
    assert both in cancelled.body_text
    assert both.replace("15.00 USD", "<strong>15.00 USD</strong>") in cancelled.body_html
    assert "nothing is refunded to a card" not in cancelled.body_text


def _ship_and_deliver_the_rest(order, warehouse, service_level=None):
    from orders.services import shipment_create, shipment_mark_delivered

    shipment = shipment_create(
        order=order, reference=f"S-{order.number}", actor="test", warehouse=warehouse,
        tracking_number="1Z", service_level=service_level,
        lines={line.pk: units for line in order.lines.all()
               if (units := line.quantity - line.quantity_cancelled - line.quantity_shipped)},
    )
    shipment_mark_delivered(shipment=shipment, actor="test")
    order.refresh_from_db()


def test_goodwill_cannot_spend_the_refund_due_for_cancelled_units(shop, stock):
    """27.00 paid, one unit cancelled: 11.00 is owed back, so goodwill may pay at most 16.00
    and the refund due stays payable."""
    from returns.selectors import order_refundable

    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())
    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 1})
    order.refresh_from_db()
    assert order.refund_due == Decimal("11.00")
    assert order_refundable(order=order) == Decimal("16.00")

    with pytest.raises(RefundExceedsPaid) as refused:
        order_refund(order=order, kind="goodwill", amount=Decimal("16.01"), reason="Sorry",
                     actor="test")
    assert refused.value.extra == {"refundable": "16.00"}
    assert not Refund.objects.exists()
    order_refund(order=order, kind="goodwill", amount=Decimal("16.00"), reason="Sorry",
                 actor="test")
    refund = order_refund(order=order, kind="cancellation", reason="", actor="test")
    assert refund.amount == Decimal("11.00")


def test_an_exchange_refund_books_only_the_tax_of_the_money_refunded(delivered):
    """A (9.80, tax 0.80) and B (4.57, tax 0.37) back, A swapped like for like: the 9.80 of
    credit takes A's tax to the replacement (booked without tax); 4.57 with tax 0.37 goes back."""
    return_request = received_return(delivered, exchange_items=[{"sku": "A", "quantity": 1}],
                                     A=1, B=1)
    assert return_request.exchange_order.tax_total == Decimal("0.00")

    refund = return_refund(return_request=return_request, actor="test")

    assert (refund.amount, refund.tax_amount) == (Decimal("4.57"), Decimal("0.37"))
    completed = OutboxEvent.objects.get(topic="refund.completed")
    assert (completed.payload["amount"], completed.payload["tax_amount"]) == ("4.57", "0.37")


def test_a_returned_replacement_paid_by_credit_and_card_is_paid_back_both_ways(
    delivered, shop, stock
):
    """The replacement (15.00) was paid 9.80 by the return's credit and 5.20 by card. Its
    return is refunded in one go: 5.20 to the card (with the returned units) and 9.80 back to
    the credit, which the original return can then pay out."""
    from django.utils import timezone

    from orders.accounting import accounting_journal
    from orders.services import payment_apply
    from tests.returns.test_customer_totals_check import assert_kept_totals_match_history

    stock("C", "EAST", 5)
    original = received_return(
        delivered, A=1, exchange_items=[{"sku": "C", "quantity": 1, "unit_price": "15.00"}]
    )
    exchange = original.exchange_order
    payment_apply(order=exchange, method="card", amount=Decimal("5.20"), status="captured",
                  reference="pay-x", actor="test")
    _ship_and_deliver_the_rest(exchange, shop["east"])
    replacement_return = received_return(exchange, C=1)

    card = return_refund(return_request=replacement_return, actor="test")

    parts = list(replacement_return.refunds.order_by("pk").values_list(
        "method", "amount", "goods_amount", "tax_amount"))
    assert parts == [("card", Decimal("5.20"), Decimal("5.20"), Decimal("0.00")),
                     ("exchange_credit", Decimal("9.80"), Decimal("9.80"), Decimal("0.00"))]
    assert list(card.lines.values_list("quantity", flat=True)) == [1]
    replacement_return.refresh_from_db()
    assert replacement_return.status == "refunded"
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["refunds_total"], row["refunds_exchange_credit"]) == ("5.20", "9.80")
    # The credit is back with the original return, whose refund now pays it out.
    assert refund_quote(return_request=original).amount == Decimal("9.80")
    assert_kept_totals_match_history()


def test_a_return_refund_keeps_credit_a_cancelled_replacement_gave_back(delivered):
    """A and B back, A swapped (9.80 of credit); the replacement is cancelled and its 9.80
    goes back to the credit: the return refunds all 14.37 and deducts no credit."""
    return_request = received_return(delivered, exchange_items=[{"sku": "A", "quantity": 1}],
                                      A=1, B=1)
    replacement = return_request.exchange_order
    order_cancel(order=replacement, actor="test")
    back = order_refund(order=replacement, kind="cancellation", reason="", actor="test")
    assert (back.amount, back.method) == (Decimal("9.80"), "exchange_credit")

    refund = return_refund(return_request=return_request, actor="test")

    assert (refund.amount, refund.exchange_credit, refund.tax_amount) == (
        Decimal("14.37"), Decimal("0.00"), Decimal("1.17")
    )
    email = EmailMessage.objects.get(template="refund_issued",
                                     reference=f"order:{delivered.number}")
    assert "exchange credit" not in email.body_text


def test_cancelled_then_returned_units_of_a_line_refund_what_was_paid(shop, stock):
    """4 x A at 10.00, tax 0.01, shipping 5.00: 45.01. Two units cancelled (20.01, tax 0.01)
    and two returned with shipping (25.00, tax 0.00): the cancelled units were valued first,
    so the returned ones are the line's last two."""
    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data(
        lines=[{"sku": "A", "quantity": 4, "unit_price": Decimal("10.00")}],
        tax_total=Decimal("0.01"),
        payment={"method": "card", "amount": Decimal("45.01"), "status": "captured",
                 "reference": "pay-1"},
    ))
    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 2})
    _ship_and_deliver_the_rest(order, shop["east"], shop["service_level"])
    return_request = received_return(order, A=2)

    cancelled = order_refund(order=order, kind="cancellation", reason="", actor="test")
    returned = return_refund(return_request=return_request, actor="test", refund_shipping=True)

    assert (cancelled.amount, cancelled.tax_amount) == (Decimal("20.01"), Decimal("0.01"))
    assert (returned.amount, returned.tax_amount) == (Decimal("25.00"), Decimal("0.00"))
