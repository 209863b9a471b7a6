"""Reorder suggestions: grouped per preferred supplier, never two drafts for one need."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from inventory.purchasing.services import purchase_order_send
from inventory.purchasing.suggestions import replenishment_suggest
from tests.factories import WarehouseFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory


def no_backorders(product_ids=None):
    return {}


def lines_of(purchase_order: PurchaseOrder) -> dict[str, int]:
    return {
        line.product.sku: line.quantity
        for line in purchase_order.lines.select_related("product").order_by("pk")
    }


@pytest.mark.django_db
def test_suggestions_group_per_preferred_supplier_and_round_to_packs(stock):
    acme, bolt = SupplierFactory(code="ACME", lead_time_days=10), SupplierFactory(code="BOLT")
    first = stock("SKU-1", "MAIN", on_hand=3, reorder_point=5, reorder_quantity=20)
    second = stock("SKU-2", "MAIN", on_hand=0, reorder_point=1, reorder_quantity=0)
    third = stock("SKU-3", "MAIN", on_hand=4, reorder_point=5, reorder_quantity=5)
    stock("SKU-4", "MAIN", on_hand=50, reorder_point=5, reorder_quantity=5)  # above the point
    SupplierProductFactory(supplier=acme, product=first.product, pack_size=12)
    SupplierProductFactory(supplier=acme, product=second.product, minimum_quantity=10)
    SupplierProductFactory(supplier=bolt, product=first.product, is_preferred=False)
    SupplierProductFactory(supplier=bolt, product=third.product, pack_size=4)

    result = replenishment_suggest(backordered_demand=no_backorders, actor="test")

    acme_draft = PurchaseOrder.objects.get(supplier=acme)
    bolt_draft = PurchaseOrder.objects.get(supplier=bolt)
    assert sorted(result.purchase_orders) == sorted([acme_draft.number, bolt_draft.number])
    # SKU-1: 3 -> above 5 + 20 needs 23, packs of 12 -> 24; SKU-2: needs 2, minimum 10.
    assert lines_of(acme_draft) == {"SKU-1": 24, "SKU-2": 10}
    # SKU-3: 4 -> above 5 + 5 needs 7, packs of 4 -> 8.
    assert lines_of(bolt_draft) == {"SKU-3": 8}
    assert acme_draft.status == "draft"
    assert acme_draft.number == f"PO{acme_draft.pk:06d}"
    assert acme_draft.expected_date == timezone.localdate() + timedelta(days=10)
    assert result.lines_added == 3 and result.without_supplier == []
    assert PurchaseOrderEvent.objects.filter(purchase_order=acme_draft, type="created").count() == 1


@pytest.mark.django_db
def test_a_second_run_adds_nothing_for_the_same_need(stock):
    level = stock("SKU-1", "MAIN", on_hand=0, reorder_point=5, reorder_quantity=10)
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=level.product)
    replenishment_suggest(backordered_demand=no_backorders, actor="test")
    again = replenishment_suggest(backordered_demand=no_backorders, actor="test")
    assert again.purchase_orders == [] and again.lines_added == again.lines_increased == 0
    assert PurchaseOrder.objects.count() == 1
    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [16]


@pytest.mark.django_db
def test_a_grown_need_grows_the_existing_draft_line(stock):
    level = stock("SKU-1", "MAIN", on_hand=0, reorder_point=5, reorder_quantity=10)
    SupplierProductFactory(
        supplier=SupplierFactory(code="ACME"), product=level.product, pack_size=5
    )
    replenishment_suggest(backordered_demand=no_backorders, actor="test")
    key = (level.product_id, level.warehouse_id)
    result = replenishment_suggest(
        backordered_demand=lambda product_ids=None: {key: 7}, actor="test"
    )
    # 20 on the draft; 7 backordered -> projected 13 <= 5? no: 13 > 5, nothing more.
    assert result.lines_increased == 0
    result = replenishment_suggest(
        backordered_demand=lambda product_ids=None: {key: 17}, actor="test"
    )
    # projected 20 - 17 = 3 -> needs 13 more, packs of 5 -> 15; the line becomes 35.
    assert result.lines_increased == 1
    assert PurchaseOrder.objects.count() == 1
    assert list(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [35]


@pytest.mark.django_db
def test_a_sent_order_counts_and_the_next_need_starts_a_new_draft(stock):
    level = stock("SKU-1", "MAIN", on_hand=0, reorder_point=5, reorder_quantity=10)
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=level.product)
    replenishment_suggest(backordered_demand=no_backorders, actor="test")
    purchase_order_send(purchase_order=PurchaseOrder.objects.get())
    key = (level.product_id, level.warehouse_id)
    assert replenishment_suggest(backordered_demand=no_backorders).purchase_orders == []
    result = replenishment_suggest(backordered_demand=lambda product_ids=None: {key: 30})
    assert len(result.purchase_orders) == 1
    assert PurchaseOrder.objects.filter(status="draft").count() == 1
    # 16 on the way - 30 backordered = -14 -> 5 + 10 + 1 + 14 = 30.
    assert lines_of(PurchaseOrder.objects.get(status="draft")) == {"SKU-1": 30}


@pytest.mark.django_db
def test_needs_without_a_preferred_supplier_are_reported_not_ordered(stock):
    level = stock("SKU-1", "MAIN", on_hand=0, reorder_point=5)
    SupplierProductFactory(product=level.product, is_preferred=False)
    result = replenishment_suggest(backordered_demand=no_backorders)
    assert result.without_supplier == [
        {"product_id": level.product_id, "warehouse_id": level.warehouse_id, "projected": 0}
    ]
    assert PurchaseOrder.objects.count() == 0


@pytest.mark.django_db
def test_the_database_refuses_a_second_draft_and_a_second_line_per_sku(stock):
    level = stock("SKU-1", "MAIN")
    supplier = SupplierFactory(code="ACME")
    first = PurchaseOrder.objects.create(
        number="PO-A", supplier=supplier, warehouse=level.warehouse, currency="USD",
        expected_date=timezone.localdate(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrder.objects.create(
            number="PO-B", supplier=supplier, warehouse=level.warehouse, currency="USD",
            expected_date=timezone.localdate(),
        )
    PurchaseOrderLine.objects.create(
        purchase_order=first, product=level.product, quantity=1, unit_cost=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrderLine.objects.create(
            purchase_order=first, product=level.product, quantity=2, unit_cost=1
        )
    # A draft for another warehouse is a different need.
    PurchaseOrder.objects.create(
        number="PO-C", supplier=supplier, warehouse=WarehouseFactory(code="WEST"),
        currency="USD", expected_date=timezone.localdate(),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_suggestion_runs_make_one_draft_with_one_quantity(stock):
    levels = [
        stock(f"SKU-{index}", "MAIN", on_hand=0, reorder_point=5, reorder_quantity=10)
        for index in range(5)
    ]
    supplier = SupplierFactory(code="ACME")
    for level in levels:
        SupplierProductFactory(supplier=supplier, product=level.product, pack_size=4)
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[str] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            replenishment_suggest(backordered_demand=no_backorders, actor="race")
        except Exception as error:  # recorded, then asserted on
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert PurchaseOrder.objects.count() == 1
    # Each SKU needs 16 (above 5 + 10 from 0), packs of 4: 16, once, whoever won.
    assert sorted(PurchaseOrderLine.objects.values_list("quantity", flat=True)) == [16] * 5
