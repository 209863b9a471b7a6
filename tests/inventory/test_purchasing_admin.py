"""Purchasing admin pages, receiving and suggestions from the admin, and CSV import of
suppliers and supplier products (dry run, per-row errors, nothing written on a bad file)."""

import pytest
import tablib
from django.urls import reverse

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierProduct,
)
from inventory.purchasing.services import PurchaseItem, purchase_order_create, purchase_order_send
from inventory.purchasing_resources import SupplierProductResource, SupplierResource
from tests.factories import ProductFactory, WarehouseFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_order():
    supplier = SupplierFactory(code="ACME")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=supplier, product=product)
    purchase_order = purchase_order_create(
        supplier=supplier, warehouse=WarehouseFactory(code="MAIN"),
        items=[PurchaseItem(product=product, quantity=5)],
    )
    return purchase_order_send(purchase_order=purchase_order)


def test_purchasing_pages_render(admin_client, sent_order):
    for name in ("supplier", "supplierproduct", "purchaseorder"):
        assert admin_client.get(reverse(f"admin:inventory_{name}_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[sent_order.pk]))
    assert page.status_code == 200
    assert b"Receive a delivery" in page.content and b"Suggest" not in page.content
    listing = admin_client.get(reverse("admin:inventory_purchaseorder_changelist"))
    assert b"Suggest replenishment" in listing.content
    search = admin_client.get(
        reverse("admin:inventory_purchaseorder_changelist"), {"q": sent_order.number}
    )
    assert sent_order.number.encode() in search.content


def test_receiving_page_books_stock_and_refuses_over_receipt(admin_client, sent_order):
    url = reverse("admin:inventory_purchaseorder_receive", args=[sent_order.pk])
    line = sent_order.lines.get()
    assert admin_client.get(url).status_code == 200
    refused = admin_client.post(url, {f"received_{line.pk}": "6", "reference": "DN-1"})
    assert refused.status_code == 200
    assert b"at most 5 more may be received" in refused.content
    assert StockMovement.objects.count() == 0
    done = admin_client.post(url, {f"received_{line.pk}": "3", f"damaged_{line.pk}": "2",
                                   "reference": "DN-1"})
    assert done.status_code == 302
    sent_order.refresh_from_db()
    assert sent_order.status == "received"
    assert StockLevel.objects.get(product=line.product).on_hand == 3


def test_admin_suggest_replenishment_makes_drafts(admin_client):
    product = ProductFactory(sku="SKU-A")
    StockLevel.objects.create(
        product=product, warehouse=WarehouseFactory(code="MAIN"), reorder_point=4,
        reorder_quantity=6,
    )
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product)
    response = admin_client.post(reverse("admin:inventory_purchaseorder_suggest"), follow=True)
    draft = PurchaseOrder.objects.get()
    assert draft.number in response.content.decode()
    assert list(draft.lines.values_list("quantity", flat=True)) == [11]
    assert admin_client.get(reverse("admin:inventory_purchaseorder_suggest")).status_code == 405


def test_admin_draft_lines_are_saved_through_the_service(admin_client):
    supplier = SupplierFactory(code="ACME")
    warehouse = WarehouseFactory(code="MAIN")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=supplier, product=product, unit_cost="3.0000")
    response = admin_client.post(
        reverse("admin:inventory_purchaseorder_add"),
        {
            "supplier": supplier.pk, "warehouse": warehouse.pk, "expected_date": "",
            "note": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk, "lines-0-quantity": "7", "lines-0-unit_cost": "",
            "receipts-TOTAL_FORMS": "0", "receipts-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = PurchaseOrder.objects.get()
    assert draft.number == f"PO{draft.pk:06d}"
    assert list(draft.lines.values_list("quantity", "unit_cost")) == [(7, 3)]
    assert list(
        PurchaseOrderEvent.objects.filter(purchase_order=draft).values_list("type", flat=True)
    ) == ["created", "line_changed"]


def test_admin_send_button(admin_client):
    supplier = SupplierFactory(code="ACME")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=supplier, product=product)
    draft = purchase_order_create(
        supplier=supplier, warehouse=WarehouseFactory(code="MAIN"),
        items=[PurchaseItem(product=product, quantity=2)],
    )
    url = reverse("admin:inventory_purchaseorder_object_action", args=[draft.pk, "send"])
    assert admin_client.post(url).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "sent"


def dataset(headers, *rows) -> tablib.Dataset:
    return tablib.Dataset(*rows, headers=headers)


def test_supplier_csv_dry_run_reports_each_bad_row_and_writes_nothing():
    data = dataset(
        ["code", "name", "contact_emails", "lead_time_days", "currency",
         "minimum_order_value", "over_receipt_percent", "is_active"],
        ["ACME", "Acme", "orders@acme.test", "7", "USD", "0", "5", "1"],
        ["BAD", "Bad", "not an email", "7", "usd", "0", "0", "1"],
        ["SLOW", "Slow", "a@slow.test", "900", "EUR", "0", "0", "1"],
    )
    result = SupplierResource().import_data(data, dry_run=True)
    assert result.has_validation_errors()
    bad_rows = {row.number: set(row.error.message_dict) for row in result.invalid_rows}
    assert bad_rows == {2: {"contact_emails", "currency"}, 3: {"lead_time_days"}}
    assert Supplier.objects.count() == 0


def test_supplier_product_csv_import_by_natural_keys_hands_over_the_preferred_role():
    acme, bolt = SupplierFactory(code="ACME"), SupplierFactory(code="BOLT")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=acme, product=product, is_preferred=True, pack_size=1)
    data = dataset(
        ["supplier", "sku", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
         "is_preferred"],
        ["ACME", "SKU-A", "A-1", "2.5", "6", "12", "0"],
        ["BOLT", "SKU-A", "B-1", "2.4", "1", "1", "1"],
    )
    result = SupplierProductResource().import_data(data, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert sorted(
        SupplierProduct.objects.values_list("supplier__code", "pack_size", "is_preferred")
    ) == [("ACME", 6, False), ("BOLT", 1, True)]
    assert SupplierProduct.objects.filter(supplier=bolt).get().supplier_sku == "B-1"


def test_supplier_product_csv_with_unknown_keys_or_bad_numbers_writes_nothing():
    SupplierFactory(code="ACME")
    ProductFactory(sku="SKU-A")
    data = dataset(
        ["supplier", "sku", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
         "is_preferred"],
        ["ACME", "SKU-A", "A-1", "2.5", "6", "12", "1"],
        ["NOPE", "SKU-A", "", "1", "1", "1", "0"],
        ["ACME", "NOPE", "", "1", "1", "1", "0"],
        ["ACME", "SKU-A", "", "-1", "0", "1", "0"],
    )
    result = SupplierProductResource().import_data(data, dry_run=False)
    assert result.has_errors() or result.has_validation_errors()
    failed = {row.number for row in result.invalid_rows} | {
        number for number, _ in result.row_errors()
    }
    assert failed == {2, 3, 4}
    assert SupplierProduct.objects.count() == 0


def test_admin_note_and_expected_date_changes_are_audited(admin_client, sent_order):
    url = reverse("admin:inventory_purchaseorder_change", args=[sent_order.pk])
    response = admin_client.post(url, {
        "expected_date": "2031-01-15", "note": "Dock 3 please",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-0-id": sent_order.lines.get().pk, "lines-0-purchase_order": sent_order.pk,
        "receipts-TOTAL_FORMS": "0", "receipts-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "2", "events-INITIAL_FORMS": "2",
        "events-0-id": "", "events-1-id": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    sent_order.refresh_from_db()
    assert (str(sent_order.expected_date), sent_order.note) == ("2031-01-15", "Dock 3 please")
    types = list(PurchaseOrderEvent.objects.filter(purchase_order=sent_order)
                 .values_list("type", flat=True))
    assert types[-2:] == ["expected_date_changed", "note_changed"]
