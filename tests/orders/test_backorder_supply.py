"""Which purchase orders may give a backordered customer a date: only those sent to the
supplier and not yet fully received. A draft is a plan, not a promise."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import PurchaseOrder
from inventory.purchasing.receiving import ReceiptItem
from inventory.purchasing.selectors import incoming_supply
from inventory.purchasing.services import PurchaseItem, purchase_order_create
from orders.models import OrderEvent, OrderLine
from orders.replenishment import (
    purchase_order_cancel_and_redate,
    purchase_order_close_and_redate,
    purchase_order_receive_and_fill,
    purchase_order_send_and_date,
    replenishment_run,
)
from orders.services.backorder_dates import backorder_dates_refresh
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from tests.orders.test_backorder_dates import backordered, delay_emails, line_of, sent_order

pytestmark = pytest.mark.django_db


def draft_order(shop, quantity: int, *, days: int = 10, code: str = "DRAFTS"):
    return purchase_order_create(
        supplier=SupplierFactory(code=code, lead_time_days=days), warehouse=shop["east"],
        items=[PurchaseItem(product=shop["products"]["A"], quantity=quantity, unit_cost=2)],
        actor="test",
    )


def dated_events(order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, type="backorder_dated").order_by("pk"))


def test_incoming_supply_leaves_out_drafts(shop):
    draft = draft_order(shop, 5)
    sent = sent_order(shop, 7)
    assert [(supply.purchase_order_id, supply.quantity) for supply in incoming_supply()] == [
        (sent.pk, 7)
    ]
    assert draft.status == "draft"


def test_suggested_drafts_date_no_backorder_and_email_nobody(shop):
    order = backordered(shop, "HOM-1194", 2, days_ago=2)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME", lead_time_days=12), product=shop["products"]["A"]
    )

    result = replenishment_run(actor="user:admin")

    draft = PurchaseOrder.objects.get()
    assert draft.status == "draft" and result["purchase_orders"] == [draft.number]
    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (None, None)
    assert result["notices"] == 0
    assert delay_emails(order) == []
    assert dated_events(order) == []


def test_a_draft_never_dates_a_backorder_on_a_refresh(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    draft_order(shop, 10)
    assert backorder_dates_refresh(actor="test") == {"dated": 0, "notices": 0}
    assert line_of(order).backorder_expected_date is None
    assert delay_emails(order) == []


def test_a_date_an_earlier_version_took_from_a_draft_is_withdrawn(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    draft = draft_order(shop, 10)
    OrderLine.objects.filter(order=order).update(
        backorder_purchase_order=draft, backorder_expected_date=draft.expected_date
    )

    assert backorder_dates_refresh(actor="test") == {"dated": 1, "notices": 0}

    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (None, None)
    [event] = dated_events(order)
    assert event.message == "A: expected date unknown"


def test_sending_the_draft_dates_the_lines_it_covers_and_tells_the_customer(shop):
    order = backordered(shop, "HOM-1194", 2, days_ago=2)
    draft = draft_order(shop, 10, days=12)
    backorder_dates_refresh(actor="test")
    assert delay_emails(order) == []

    sent = purchase_order_send_and_date(purchase_order=draft, actor="user:admin")

    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (
        sent.pk, timezone.localdate() + timedelta(days=12)
    )
    [email] = delay_emails(order)
    assert sent.expected_date.strftime("%-d %B %Y") in email.body_text
    [event] = dated_events(order)
    assert (event.actor, event.message) == (
        "user:admin", f"A: expected {sent.expected_date.isoformat()}"
    )


def test_cancelling_a_sent_order_withdraws_the_dates_it_gave(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10)
    assert line_of(order).backorder_purchase_order_id == purchase_order.pk

    purchase_order_cancel_and_redate(purchase_order=purchase_order, actor="user:ops")

    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (None, None)
    event = dated_events(order)[-1]
    assert (event.actor, event.message) == ("user:ops", "A: expected date unknown")
    assert len(delay_emails(order)) == 2  # the first date, then that it no longer holds


def test_cancelling_a_sent_order_moves_its_lines_to_the_next_sent_one_not_to_a_draft(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    soon = sent_order(shop, 10, days=5)
    draft_order(shop, 10, days=6)  # sooner than `later`, but only a draft
    later = purchase_order_send_and_date(
        purchase_order=purchase_order_create(
            supplier=SupplierFactory(code="LATER", lead_time_days=20), warehouse=shop["west"],
            items=[PurchaseItem(product=shop["products"]["A"], quantity=10, unit_cost=2)],
        ),
        actor="test",
    )
    assert line_of(order).backorder_purchase_order_id == soon.pk

    purchase_order_cancel_and_redate(purchase_order=soon, actor="test")

    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (
        later.pk, later.expected_date
    )
    assert len(delay_emails(order)) == 2


def test_closing_a_partly_received_order_withdraws_the_dates_of_what_will_not_come(shop):
    older = backordered(shop, "OLD", 3, days_ago=3)
    newer = backordered(shop, "NEW", 3, days_ago=1)
    purchase_order = sent_order(shop, 10)
    purchase_order_receive_and_fill(
        purchase_order=purchase_order,
        items=[ReceiptItem(product=shop["products"]["A"], quantity_received=4)],
        actor="test",
    )
    assert line_of(newer).backorder_purchase_order_id == purchase_order.pk

    purchase_order_close_and_redate(purchase_order=purchase_order, actor="user:ops")

    assert line_of(newer).backorder_purchase_order_id is None
    assert line_of(newer).backorder_expected_date is None
    assert line_of(older).quantity_allocated == 3
