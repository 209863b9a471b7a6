"""Replenishment fixes: safety stock in projections, supplier minimums on grown draft lines,
drafts re-dated when sent, and supplier documents whose lines add up to their total."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from inventory.models import PurchaseOrder, PurchaseOrderLine, StockLevel
from inventory.purchasing.emails import purchase_order_csv, purchase_order_lines_for_document
from inventory.purchasing.errors import BelowMinimumOrderValue
from inventory.purchasing.projections import projected_stock, reorder_quantity_suggest
from inventory.purchasing.selectors import purchase_order_total
from inventory.purchasing.services import (
    PurchaseItem,
    purchase_order_create,
    purchase_order_send,
)
from inventory.purchasing.suggestions import replenishment_suggest
from oms_project.models import EmailMessage
from orders.replenishment import purchase_order_send_and_date, replenishment_run
from tests.factories import ProductFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from tests.orders import conftest as orders_fixtures
from tests.orders.test_backorder_dates import backordered, line_of

pytestmark = pytest.mark.django_db

# The orders tests' shop (channel, EAST and WEST, products A-C) and its stock helper.
shop = orders_fixtures.shop
stock = orders_fixtures.stock


def test_backorder_waiting_behind_safety_stock_is_reordered(shop, stock):
    """Safety stock is not allocatable, so an order waits; the projection must not count it
    as free stock."""
    product = shop["products"]["A"]
    stock("A", "EAST", 5)
    StockLevel.objects.filter(product=product, warehouse=shop["east"]).update(safety_stock=5)
    order = backordered(shop, "OLD", 2, days_ago=1)
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product)

    replenishment_run(actor="test")

    ordered = sum(
        PurchaseOrderLine.objects.filter(product=product).values_list("quantity", flat=True)
    )
    assert line_of(order).quantity_open == 2
    assert ordered >= 2, "2 units wait for stock but no purchase order line was suggested"


def test_grown_need_raises_an_existing_draft_line_by_the_need_only(shop, stock):
    """The supplier minimum is per order line; a line already above it grows by the need."""
    product = shop["products"]["A"]
    level, _ = StockLevel.objects.get_or_create(product=product, warehouse=shop["east"])
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=5, reorder_quantity=0)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME"), product=product, minimum_quantity=10
    )
    replenishment_suggest(backordered_demand=lambda ids=None: {}, actor="test")
    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [10]

    key = (product.pk, shop["east"].pk)
    # Projected 10 - 6 = 4 <= 5: 2 more units bring it to 6, strictly above the point.
    replenishment_suggest(backordered_demand=lambda ids=None: {key: 6}, actor="test")

    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [12]


def test_draft_sent_days_later_is_dated_from_the_send_day(shop):
    """A suggested draft is dated creation day + lead time; sent ten days later it is
    re-dated send day + lead time, for the supplier and for waiting customers."""
    product = shop["products"]["A"]
    order = backordered(shop, "OLD", 2, days_ago=1)
    supplier = SupplierFactory(code="ACME", lead_time_days=7)
    SupplierProductFactory(supplier=supplier, product=product)
    replenishment_run(actor="test")
    draft = PurchaseOrder.objects.get(supplier=supplier)

    with time_machine.travel(timezone.now() + timedelta(days=10), tick=False):
        sent = purchase_order_send_and_date(purchase_order=draft, actor="test")
        today = timezone.localdate()
        supplier_email = EmailMessage.objects.get(template="purchase_order")
        assert sent.expected_date >= today + timedelta(days=7), (
            f"sent on {today} with lead time 7 but expected {sent.expected_date}:\n"
            f"{supplier_email.body_text}"
        )
        assert line_of(order).backorder_expected_date >= today


def test_supplier_document_line_totals_add_up_to_its_total(shop):
    supplier = SupplierFactory(code="ACME")
    items = [
        PurchaseItem(product=ProductFactory(sku=f"P{i}"), quantity=1, unit_cost=Decimal("0.3333"))
        for i in range(3)
    ]
    purchase_order = purchase_order_create(
        supplier=supplier, warehouse=shop["east"], items=items, actor="test"
    )
    lines = purchase_order_lines_for_document(purchase_order)
    total = purchase_order_total(lines=purchase_order.lines.all())
    assert sum(line["line_total"] for line in lines) == total, purchase_order_csv(
        purchase_order=purchase_order
    )


def test_projection_counts_safety_stock_as_not_free():
    assert projected_stock(on_hand=5, allocated=0, on_order=0, backordered=2, safety_stock=5) == -2
    assert projected_stock(on_hand=10, allocated=4, on_order=20, backordered=7) == 19


def test_stock_below_its_safety_stock_is_topped_up_without_reorder_settings(shop, stock):
    product = shop["products"]["A"]
    stock("A", "EAST", 3)
    StockLevel.objects.filter(product=product, warehouse=shop["east"]).update(safety_stock=5)
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product)

    replenishment_suggest(backordered_demand=lambda ids=None: {}, actor="test")

    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [2]


@pytest.mark.parametrize(
    ("on_line", "projected", "pack", "minimum", "added"),
    [
        (10, 4, 1, 10, 2),  # line 10 grows to 12: the minimum is already met
        (12, 4, 6, 10, 6),  # packs of 6: 12 + 2 needed -> 18
        (0, 4, 6, 10, 12),  # a new line: 2 needed, minimum 10, packs of 6 -> 12
        (10, 6, 1, 10, 0),  # above the point: nothing
    ],
)
def test_minimum_and_packs_apply_to_the_resulting_line(on_line, projected, pack, minimum, added):
    assert (
        reorder_quantity_suggest(
            projected=projected, reorder_point=5, reorder_quantity=0,
            pack_size=pack, minimum_quantity=minimum, on_line=on_line,
        )
        == added
    )


def test_grown_need_keeps_a_draft_line_in_whole_packs(shop):
    product = shop["products"]["A"]
    level, _ = StockLevel.objects.get_or_create(product=product, warehouse=shop["east"])
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=5, reorder_quantity=0)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME"), product=product, minimum_quantity=10, pack_size=4
    )
    replenishment_suggest(backordered_demand=lambda ids=None: {}, actor="test")
    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [12]

    key = (product.pk, shop["east"].pk)
    # Projected 12 - 9 = 3: 3 more units make 6, so the line grows to 16 (whole packs of 4).
    replenishment_suggest(backordered_demand=lambda ids=None: {key: 9}, actor="test")

    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [16]


def test_sending_keeps_a_later_date_staff_chose_and_audits_a_re_date(shop):
    supplier = SupplierFactory(code="ACME", lead_time_days=7)
    chosen = timezone.localdate() + timedelta(days=30)
    kept = purchase_order_create(
        supplier=supplier, warehouse=shop["east"], expected_date=chosen,
        items=[PurchaseItem(product=shop["products"]["A"], quantity=2, unit_cost=1)],
    )
    purchase_order_send(purchase_order=kept, actor="test")
    kept.refresh_from_db()
    assert kept.expected_date == chosen
    assert not kept.events.filter(type="expected_date_changed").exists()

    stale = purchase_order_create(
        supplier=supplier, warehouse=shop["west"],
        items=[PurchaseItem(product=shop["products"]["A"], quantity=2, unit_cost=1)],
    )
    created_on = stale.expected_date
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        sent = purchase_order_send(purchase_order=stale, actor="user:ops")
        earliest = timezone.localdate() + timedelta(days=7)
    assert sent.expected_date == earliest
    [event] = sent.events.filter(type="expected_date_changed")
    assert event.actor == "user:ops"
    assert event.data == {"before": created_on.isoformat(), "after": earliest.isoformat()}
    [email] = EmailMessage.objects.filter(reference=f"po:{sent.number}")
    assert earliest.isoformat() in email.attachments[0]["content"]


def test_line_totals_round_half_up_and_the_minimum_is_checked_on_the_document_total(shop):
    supplier = SupplierFactory(code="ACME", minimum_order_value=Decimal("0.03"))
    purchase_order = purchase_order_create(
        supplier=supplier, warehouse=shop["east"],
        items=[
            PurchaseItem(product=ProductFactory(sku=f"P{i}"), quantity=1,
                         unit_cost=Decimal("0.0125"))
            for i in range(2)
        ],
    )
    # 0.0125 each rounds half-up to 0.01 per line: 0.02 in all, not 0.025 -> 0.03.
    lines = purchase_order_lines_for_document(purchase_order)
    assert [line["line_total"] for line in lines] == [Decimal("0.01"), Decimal("0.01")]
    assert purchase_order_total(lines=purchase_order.lines.all()) == Decimal("0.02")
    with pytest.raises(BelowMinimumOrderValue):
        purchase_order_send(purchase_order=purchase_order, actor="test")
    purchase_order.refresh_from_db()
    assert purchase_order.status == "draft"
