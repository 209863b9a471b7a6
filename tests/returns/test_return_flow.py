"""The return workflow through the services: request, approve, receive, refund, close."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Order, OrderEvent, OrderLine
from returns.errors import InvalidTransition, ReturnValidationError, ReturnWindowClosed
from returns.models import Refund, ReturnEvent, ReturnLine, ReturnRequest
from returns.selectors import order_return_status
from returns.services import (
    return_approve,
    return_cancel,
    return_close,
    return_create,
    return_receive,
    return_refund,
    return_reject,
)
from tests.returns.conftest import deliver_order, lines_by_sku

pytestmark = pytest.mark.django_db


def east(sku: str) -> StockLevel:
    return StockLevel.objects.get(product__sku=sku, warehouse__code="EAST")


def request_return(order, **quantities) -> ReturnRequest:
    lines = lines_by_sku(order)
    return return_create(
        order=order,
        actor="api_key:web",
        lines=[
            {"line_id": lines[sku].pk, "quantity": units, "reason": "size_or_fit"}
            for sku, units in quantities.items()
        ],
    )


def test_request_opens_an_rma_with_lines_events_and_outbox(delivered):
    return_request = request_return(delivered, A=1, B=2)

    assert return_request.number == f"RMA{100000 + return_request.pk}"
    assert return_request.status == "requested"
    assert return_request.channel == delivered.channel
    assert [(line.order_line.sku, line.quantity, line.reason)
            for line in return_request.lines.order_by("pk")] == [
        ("A", 1, "size_or_fit"), ("B", 2, "size_or_fit")
    ]
    assert list(ReturnEvent.objects.values_list("type", "to_status")) == [
        ("requested", "requested")
    ]
    assert OrderEvent.objects.filter(order=delivered, type="return_requested").count() == 1
    event = OutboxEvent.objects.get(topic="return.requested")
    assert event.reference == return_request.number
    assert event.payload["order"] == delivered.number
    assert [line["quantity"] for line in event.payload["lines"]] == [1, 2]


def test_approve_emails_instructions_with_the_label(delivered):
    return_request = request_return(delivered, A=1)
    emails_before = EmailMessage.objects.count()

    return_approve(
        return_request=return_request,
        actor="user:ops",
        return_carrier="UPS",
        return_tracking_number="1ZRET",
        return_label_url="https://labels.example/1ZRET.pdf",
    )

    return_request.refresh_from_db()
    assert return_request.status == "approved"
    assert return_request.approved_at is not None
    assert return_request.return_tracking_number == "1ZRET"
    email = EmailMessage.objects.order_by("-id").first()
    assert EmailMessage.objects.count() == emails_before + 1
    assert email.template == "return_approved"
    assert email.to == delivered.email
    assert return_request.number in email.subject
    assert "https://labels.example/1ZRET.pdf" in email.body_text
    assert f"Write the return number {return_request.number}" in email.body_text
    assert OutboxEvent.objects.filter(topic="return.approved").count() == 1


def test_reject_needs_a_reason_and_tells_the_customer(delivered):
    return_request = request_return(delivered, A=1)
    with pytest.raises(ReturnValidationError) as error:
        return_reject(return_request=return_request, actor="user:ops", reason="  ")
    assert error.value.errors == {"reason": ["This field is required."]}
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "requested"

    return_reject(return_request=return_request, actor="user:ops", reason="Worn and washed")

    return_request.refresh_from_db()
    assert (return_request.status, return_request.rejection_reason) == (
        "rejected", "Worn and washed"
    )
    email = EmailMessage.objects.order_by("-id").first()
    assert email.template == "return_rejected"
    assert "Reason: Worn and washed" in email.body_text
    # A rejected return no longer holds its units: they may be requested again.
    assert request_return(delivered, A=2).status == "requested"


def test_receive_restocks_resellable_records_damaged_and_counts_returned(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=2, B=3)
    return_approve(return_request=return_request, actor="user:ops")
    on_hand_a, on_hand_b = east("A").on_hand, east("B").on_hand

    return_receive(
        return_request=return_request,
        actor="user:dock",
        lines=[
            {"line_id": lines["A"].pk, "condition": "resellable", "quantity": 1,
             "location": "EAST"},
            {"line_id": lines["A"].pk, "condition": "damaged", "quantity": 1},
            {"line_id": lines["B"].pk, "condition": "resellable", "quantity": 2,
             "location": "WEST"},
            {"line_id": lines["B"].pk, "condition": "missing", "quantity": 1},
        ],
    )

    return_request.refresh_from_db()
    assert return_request.status == "received"
    assert return_request.received_at is not None
    rows = {
        line.order_line.sku: (
            line.quantity_resellable, line.quantity_damaged, line.quantity_missing,
            line.restock_location.code if line.restock_location else None,
        )
        for line in ReturnLine.objects.filter(return_request=return_request)
    }
    assert rows == {"A": (1, 1, 0, "EAST"), "B": (2, 0, 1, "WEST")}
    assert east("A").on_hand == on_hand_a + 1  # the damaged unit is not sellable stock
    assert east("B").on_hand == on_hand_b
    west_b = StockLevel.objects.get(product__sku="B", warehouse__code="WEST")
    assert west_b.on_hand == 2
    movements = StockMovement.objects.filter(reason="return_restock").order_by("pk")
    assert [(m.stock_level.product.sku, m.stock_level.warehouse.code, m.delta_on_hand,
             m.reference) for m in movements] == [
        ("A", "EAST", 1, f"return:{return_request.number}"),
        ("B", "WEST", 2, f"return:{return_request.number}"),
    ]
    quantities = dict(OrderLine.objects.filter(order=delivered).values_list(
        "sku", "quantity_returned"))
    assert quantities == {"A": 2, "B": 2}  # missing units did not come back
    delivered.refresh_from_db()
    assert delivered.status == "complete"  # the order status itself is untouched
    assert order_return_status(delivered.lines.all()) == "partially_returned"
    assert OutboxEvent.objects.filter(topic="return.received").count() == 1


def test_receive_before_approval_is_an_invalid_transition(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=1)
    with pytest.raises(InvalidTransition):
        return_receive(
            return_request=return_request,
            actor="user:dock",
            lines=[{"line_id": lines["A"].pk, "condition": "resellable", "quantity": 1,
                    "location": "EAST"}],
        )
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "requested"
    assert not StockMovement.objects.filter(reason="return_restock").exists()


@pytest.mark.parametrize(
    ("entries", "field_error"),
    [
        ([{"condition": "resellable", "quantity": 1, "location": "EAST"}], "accounted"),
        ([{"condition": "resellable", "quantity": 2}], "location"),
        ([{"condition": "resellable", "quantity": 2, "location": "NOWHERE"}], "Unknown"),
        ([{"condition": "broken", "quantity": 2}], "Condition"),
        ([{"condition": "damaged", "quantity": 2, "location": "EAST"}], "Only resellable"),
        ([{"condition": "damaged", "quantity": 3}], "accounted"),
    ],
)
def test_bad_receipts_are_refused_and_change_nothing(delivered, entries, field_error):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=2)
    return_approve(return_request=return_request, actor="user:ops")
    on_hand = east("A").on_hand
    with pytest.raises(ReturnValidationError) as error:
        return_receive(
            return_request=return_request,
            actor="user:dock",
            lines=[{"line_id": lines["A"].pk, **entry} for entry in entries],
        )
    assert field_error in str(error.value.errors)
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "approved"
    assert east("A").on_hand == on_hand
    assert ReturnLine.objects.get(return_request=return_request).quantity_missing == 0
    assert OrderLine.objects.get(pk=lines["A"].pk).quantity_returned == 0


def test_receiving_a_line_not_on_the_return_is_refused(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=1)
    return_approve(return_request=return_request, actor="user:ops")
    with pytest.raises(ReturnValidationError) as error:
        return_receive(
            return_request=return_request,
            actor="user:dock",
            lines=[
                {"line_id": lines["A"].pk, "condition": "damaged", "quantity": 1},
                {"line_id": lines["B"].pk, "condition": "damaged", "quantity": 1},
            ],
        )
    assert error.value.errors == {
        "lines": {"1": [f"Line {lines['B'].pk} is not part of this return."]}
    }


def test_full_flow_refund_then_close(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=2, B=3)
    return_approve(return_request=return_request, actor="user:ops")
    return_receive(
        return_request=return_request,
        actor="user:dock",
        lines=[
            {"line_id": lines["A"].pk, "condition": "resellable", "quantity": 2,
             "location": "EAST"},
            {"line_id": lines["B"].pk, "condition": "resellable", "quantity": 3,
             "location": "EAST"},
        ],
    )
    refund = return_refund(
        return_request=return_request, actor="user:ops", refund_shipping=True,
        processor_reference="re_1",
    )
    assert refund.amount == Decimal("38.32")  # everything, to the cent
    assert (refund.goods_amount, refund.tax_amount, refund.shipping_amount) == (
        Decimal("33.32"), Decimal("2.72"), Decimal("5.00")
    )
    assert refund.method == "card"
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "refunded"
    assert order_return_status(delivered.lines.all()) == "returned"

    return_close(return_request=return_request, actor="user:ops")

    assert ReturnRequest.objects.get(pk=return_request.pk).status == "closed"
    assert list(
        ReturnEvent.objects.filter(return_request=return_request, type="status_changed")
        .values_list("from_status", "to_status")
    ) == [("requested", "approved"), ("approved", "received"), ("received", "refunded"),
          ("refunded", "closed")]
    order_types = list(OrderEvent.objects.filter(order=delivered).values_list("type", flat=True))
    for expected in ("return_requested", "return_approved", "lines_returned", "return_received",
                     "refund_created", "return_closed"):
        assert expected in order_types


def test_a_received_return_with_nothing_to_refund_closes(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=1)
    return_approve(return_request=return_request, actor="user:ops")
    return_receive(
        return_request=return_request, actor="user:dock",
        lines=[{"line_id": lines["A"].pk, "condition": "missing", "quantity": 1}],
    )
    with pytest.raises(ReturnValidationError) as error:
        return_refund(return_request=return_request, actor="user:ops")
    assert "close the return" in error.value.detail
    assert not Refund.objects.exists()

    return_close(return_request=return_request, actor="user:ops", note="Parcel lost")
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "closed"


def test_a_received_return_with_money_to_refund_cannot_be_closed(delivered):
    lines = lines_by_sku(delivered)
    return_request = request_return(delivered, A=1)
    return_approve(return_request=return_request, actor="user:ops")
    return_receive(
        return_request=return_request, actor="user:dock",
        lines=[{"line_id": lines["A"].pk, "condition": "resellable", "quantity": 1,
                "location": "EAST"}],
    )

    with pytest.raises(InvalidTransition) as refused:
        return_close(return_request=return_request, actor="user:ops")

    assert "9.80 USD to refund" in refused.value.detail
    assert refused.value.extra["to_refund"] == "9.80"
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "received"
    assert not return_request.events.filter(to_status="closed").exists()


def test_cancel_frees_the_units_and_cannot_follow_receipt(delivered):
    return_request = request_return(delivered, A=2)
    with pytest.raises(InvalidTransition):
        request_return(delivered, A=1)
    return_cancel(return_request=return_request, actor="api_key:web", reason="Kept it")
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "cancelled"
    assert request_return(delivered, A=2).status == "requested"
    with pytest.raises(InvalidTransition):
        return_close(return_request=return_request, actor="user:ops")


def test_returning_more_than_shipped_is_an_invalid_transition(delivered):
    with pytest.raises(InvalidTransition) as error:
        request_return(delivered, A=3)
    assert error.value.extra == {"line_id": lines_by_sku(delivered)["A"].pk, "returnable": 2}
    assert not ReturnRequest.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="return.").exists()


def test_unshipped_units_cannot_be_returned(shop, stock):
    from tests.orders.shipping import paid_order

    order = paid_order(shop, stock, quantity_a=2)
    with pytest.raises(InvalidTransition):
        request_return(order, A=1)
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"line_id": 999999, "quantity": 1, "reason": "other"}, "No line 999999"),
        ({"quantity": 0, "reason": "other"}, "positive whole number"),
        ({"quantity": 1, "reason": "because"}, "Reason must be one of"),
    ],
)
def test_bad_lines_are_refused_and_write_nothing(delivered, line, message):
    line = {"line_id": lines_by_sku(delivered)["A"].pk, **line}
    with pytest.raises(ReturnValidationError) as error:
        return_create(order=delivered, actor="test", lines=[line])
    assert message in str(error.value.errors)
    assert not ReturnRequest.objects.exists()


def test_the_same_line_twice_is_refused(delivered):
    line_id = lines_by_sku(delivered)["A"].pk
    with pytest.raises(ReturnValidationError) as error:
        return_create(order=delivered, actor="test", lines=[
            {"line_id": line_id, "quantity": 1, "reason": "other"},
            {"line_id": line_id, "quantity": 1, "reason": "other"},
        ])
    assert error.value.errors == {
        "lines": {"1": {"line_id": [f"Line {line_id} is listed twice (first at position 0)."]}}
    }


def test_outside_the_window_only_an_override_reason_opens_a_return(shop, stock):
    order = deliver_order(shop, stock, delivered_days_ago=31)  # the channel allows 30 days
    with pytest.raises(ReturnWindowClosed) as error:
        request_return(order, A=1)
    assert error.value.code == "return_window_closed"
    assert not ReturnRequest.objects.exists()

    return_request = return_create(
        order=order, actor="user:ops", window_override_reason="Loyal customer",
        lines=[{"line_id": lines_by_sku(order)["A"].pk, "quantity": 1, "reason": "defective"}],
    )
    assert return_request.window_override_reason == "Loyal customer"
    assert "outside the return window" in ReturnEvent.objects.get().message


def test_the_window_counts_from_delivery(shop, stock):
    order = deliver_order(shop, stock, delivered_days_ago=29)
    assert request_return(order, A=1).status == "requested"
    Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - timedelta(days=90))
    assert request_return(order, A=1).status == "requested"


def test_every_state_refuses_moves_outside_the_table(delivered):
    from returns.services import return_transition
    from returns.states import TRANSITIONS, ReturnStatus

    return_request = request_return(delivered, A=1)
    for from_status in ReturnStatus.values:
        for to_status in ReturnStatus.values:
            ReturnRequest.objects.filter(pk=return_request.pk).update(status=from_status)
            if to_status in TRANSITIONS[from_status]:
                return_transition(
                    return_request=return_request, to_status=to_status, actor="test"
                )
                assert ReturnRequest.objects.get(pk=return_request.pk).status == to_status
            else:
                with pytest.raises(InvalidTransition):
                    return_transition(
                        return_request=return_request, to_status=to_status, actor="test"
                    )
                assert ReturnRequest.objects.get(pk=return_request.pk).status == from_status
