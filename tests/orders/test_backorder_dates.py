"""Backorders with dates: tied to the purchase order expected to fill them, customers told
once per date, and filled oldest first when the delivery is received."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementReason, PurchaseOrder, StockLevel, StockMovement
from inventory.purchasing.receiving import ReceiptItem
from inventory.purchasing.services import PurchaseItem, purchase_order_create
from oms_project.models import EmailMessage
from orders.models import CustomerNotice, Order, OrderEvent, OrderLine
from orders.replenishment import (
    purchase_order_receive_and_fill,
    purchase_order_reschedule,
    purchase_order_send_and_date,
    replenishment_run,
)
from orders.services import order_create
from orders.services.backorder_dates import backorder_dates_refresh, backordered_demand
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def backordered(shop, reference: str, quantity: int, days_ago: int, sku: str = "A") -> Order:
    order = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            channel_order_id=reference,
            placed_at=timezone.now() - timedelta(days=days_ago),
            lines=[{"sku": sku, "quantity": quantity, "unit_price": Decimal("10.00")}],
            payment={"method": "card", "amount": Decimal(quantity * 10 + 7),
                     "status": "captured", "reference": f"pay-{reference}"},
        ),
    )
    assert order.status == "backordered"
    return order


def sent_order(shop, quantity: int, *, days: int = 10, warehouse: str = "east", sku: str = "A"):
    supplier = SupplierFactory(code="ACME", lead_time_days=days)
    purchase_order = purchase_order_create(
        supplier=supplier, warehouse=shop[warehouse],
        items=[PurchaseItem(product=shop["products"][sku], quantity=quantity, unit_cost=2)],
        actor="test",
    )
    return purchase_order_send_and_date(purchase_order=purchase_order, actor="test")


def line_of(order: Order) -> OrderLine:
    return OrderLine.objects.get(order=order)


def delay_emails(order: Order) -> list[EmailMessage]:
    return list(
        EmailMessage.objects.filter(reference=f"order:{order.number}", template="backorder_delay")
    )


def test_backordered_demand_counts_at_the_first_shipping_warehouse(shop):
    backordered(shop, "OLD", 2, days_ago=2)
    backordered(shop, "NEW", 3, days_ago=1)
    assert backordered_demand() == {(shop["products"]["A"].pk, shop["east"].pk): 5}


def test_sending_a_purchase_order_dates_waiting_lines_and_tells_the_customer(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10)
    line = line_of(order)
    assert line.backorder_purchase_order_id == purchase_order.pk
    assert line.backorder_expected_date == purchase_order.expected_date
    [email] = delay_emails(order)
    assert purchase_order.expected_date.strftime("%-d %B %Y") in email.body_text
    keys = set(CustomerNotice.objects.filter(order=order).values_list("key", flat=True))
    assert keys == {
        f"backorder_date:{line.pk}:{purchase_order.expected_date.isoformat()}",
        f"backorder:{line.pk}",
    }
    assert OrderEvent.objects.filter(order=order, type="backorder_dated").count() == 1


def test_one_notice_per_date_and_another_when_the_date_slips(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10)
    backorder_dates_refresh(actor="test")
    backorder_dates_refresh(actor="test")
    assert len(delay_emails(order)) == 1
    later = purchase_order.expected_date + timedelta(days=5)
    purchase_order_reschedule(purchase_order=purchase_order, expected_date=later, actor="test")
    backorder_dates_refresh(actor="test")
    emails = delay_emails(order)
    assert len(emails) == 2
    assert later.strftime("%-d %B %Y") in emails[0].body_text  # newest first
    assert line_of(order).backorder_expected_date == later
    # Rescheduling to the same date again says nothing new.
    purchase_order_reschedule(purchase_order=purchase_order, expected_date=later, actor="test")
    assert len(delay_emails(order)) == 2


def test_lines_take_incoming_units_oldest_order_first(shop):
    older = backordered(shop, "OLD", 4, days_ago=3)
    newer = backordered(shop, "NEW", 4, days_ago=1)
    soon = sent_order(shop, 5, days=5)
    later = purchase_order_send_and_date(
        purchase_order=purchase_order_create(
            supplier=soon.supplier, warehouse=shop["west"],
            items=[PurchaseItem(product=shop["products"]["A"], quantity=10, unit_cost=2)],
            expected_date=timezone.localdate() + timedelta(days=20),
        ),
        actor="test",
    )
    backorder_dates_refresh(actor="test")
    # The older order's 4 units come on the first order; the newer needs 1 of what is left
    # there and 3 from the later order, so it is dated by the later one.
    assert line_of(older).backorder_purchase_order_id == soon.pk
    assert line_of(newer).backorder_purchase_order_id == later.pk
    assert line_of(newer).backorder_expected_date == later.expected_date


def test_a_line_not_covered_by_anything_coming_has_no_date(shop):
    order = backordered(shop, "OLD", 4, days_ago=3)
    sent_order(shop, 3)
    line = line_of(order)
    assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (None, None)
    assert delay_emails(order) == []


def test_a_purchase_order_for_a_store_that_does_not_ship_dates_nothing(shop):
    order = backordered(shop, "OLD", 2, days_ago=3)
    sent_order(shop, 10, warehouse="store")
    assert line_of(order).backorder_purchase_order_id is None


def test_receiving_fills_backorders_oldest_first_and_moves_orders_on(shop):
    older = backordered(shop, "OLD", 3, days_ago=3)
    newer = backordered(shop, "NEW", 3, days_ago=1)
    purchase_order = sent_order(shop, 10)

    result = purchase_order_receive_and_fill(
        purchase_order=purchase_order,
        items=[ReceiptItem(product=shop["products"]["A"], quantity_received=4,
                           quantity_damaged=1)],
        reference="DN-1", actor="test",
    )

    assert result["orders"] == [older.number, newer.number]
    assert result["filled"] == [older.number]
    assert Order.objects.get(pk=older.pk).status == "processing"
    assert Order.objects.get(pk=newer.pk).status == "backordered"
    assert (line_of(older).quantity_allocated, line_of(newer).quantity_allocated) == (3, 1)
    level = StockLevel.objects.get(product=shop["products"]["A"], warehouse=shop["east"])
    assert (level.on_hand, level.allocated) == (4, 4)
    movement = StockMovement.objects.get(stock_level=level, reason=MovementReason.RECEIPT)
    assert (movement.delta_on_hand, movement.reference) == (4, f"po:{purchase_order.number}")
    purchase_order.refresh_from_db()
    assert purchase_order.status == "partially_received"
    # The filled order loses its date; the waiting one keeps the purchase order's.
    assert line_of(older).backorder_purchase_order_id is None
    assert line_of(newer).backorder_expected_date == purchase_order.expected_date
    filled = EmailMessage.objects.filter(template="backorder_filled").values_list(
        "reference", flat=True
    )
    assert sorted(filled) == sorted([f"order:{older.number}", f"order:{newer.number}"])


def test_replenishment_run_orders_for_backorders_and_sending_dates_them(shop):
    order = backordered(shop, "OLD", 7, days_ago=3)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME", lead_time_days=12),
        product=shop["products"]["A"], pack_size=6,
    )
    result = replenishment_run(actor="test")
    draft = PurchaseOrder.objects.get()
    assert result["purchase_orders"] == [draft.number]
    assert (draft.warehouse, draft.status) == (shop["east"], "draft")
    assert list(draft.lines.values_list("quantity", flat=True)) == [12]  # 7 short, packs of 6
    # The draft is a plan: nobody is given a date until the supplier has the order.
    assert line_of(order).backorder_expected_date is None
    assert result["notices"] == 0 and delay_emails(order) == []
    # Running again orders nothing more and tells nobody anything.
    again = replenishment_run(actor="test")
    assert again["purchase_orders"] == [] and again["notices"] == 0
    assert PurchaseOrder.objects.count() == 1
    purchase_order_send_and_date(purchase_order=draft, actor="test")
    line = line_of(order)
    assert line.backorder_purchase_order_id == draft.pk
    assert line.backorder_expected_date == timezone.localdate() + timedelta(days=12)
    assert len(delay_emails(order)) == 1



def test_an_order_going_on_backorder_is_dated_at_once(shop, django_capture_on_commit_callbacks):
    purchase_order = sent_order(shop, 10)
    with django_capture_on_commit_callbacks(execute=True):
        order = backordered(shop, "LATE", 2, days_ago=0)
    line = line_of(order)
    assert line.backorder_purchase_order_id == purchase_order.pk
    assert line.backorder_expected_date == purchase_order.expected_date
    assert len(delay_emails(order)) == 1
