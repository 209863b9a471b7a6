"""CSV import of suppliers and supplier products: per-row messages that name the column and
the bad value, nothing written from a file with any bad row, and the preferred supplier of a
SKU handed over by the import."""

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import Supplier, SupplierProduct
from inventory.purchasing_resources import SupplierProductResource, SupplierResource
from tests.factories import ProductFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

SUPPLIER_HEADERS = [
    "code", "name", "contact_emails", "lead_time_days", "currency", "minimum_order_value",
    "over_receipt_percent", "is_active",
]
OFFER_HEADERS = [
    "supplier", "sku", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
    "is_preferred",
]


def supplier_row(code="ACME", **cells) -> list[str]:
    values = {
        "code": code, "name": code.title(), "contact_emails": f"orders@{code.lower()}.test",
        "lead_time_days": "7", "currency": "USD", "minimum_order_value": "0",
        "over_receipt_percent": "0", "is_active": "1", **cells,
    }
    return [values[header] for header in SUPPLIER_HEADERS]


def offer_row(supplier="ACME", sku="SKU-A", **cells) -> list[str]:
    values = {
        "supplier": supplier, "sku": sku, "supplier_sku": "", "unit_cost": "2.50",
        "pack_size": "1", "minimum_quantity": "1", "is_preferred": "0", **cells,
    }
    return [values[header] for header in OFFER_HEADERS]


def row_messages(result) -> dict[int, dict[str, list[str]]]:
    """{row number: {column: [messages]}} of every invalid row; no row may have crashed."""
    assert not result.has_errors(), [
        (number, [str(error.error) for error in errors]) for number, errors in result.row_errors()
    ]
    return {row.number: row.error.message_dict for row in result.invalid_rows}


def snapshot_offers():
    return sorted(SupplierProduct.objects.values_list(
        "supplier__code", "product__sku", "unit_cost", "pack_size", "is_preferred"))


# --- suppliers --------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [True, False])
def test_supplier_rows_with_bad_numbers_name_the_column_and_the_value(dry_run):
    SupplierFactory(code="KEEP", lead_time_days=3)
    data = tablib.Dataset(
        supplier_row("ACME"),
        supplier_row("BAD", minimum_order_value="abc"),
        supplier_row("SLOW", lead_time_days="900", over_receipt_percent="1.5"),
        supplier_row("KEEP", lead_time_days="5", minimum_order_value="-1", is_active="maybe"),
        headers=SUPPLIER_HEADERS,
    )
    result = SupplierResource().import_data(data, dry_run=dry_run)
    assert row_messages(result) == {
        3: {"minimum_order_value": ["'abc' is not a number."]},
        4: {"lead_time_days": ["must be at most 365."],
            "over_receipt_percent": ["'1.5' is not a whole number."]},
        5: {"minimum_order_value": ["must be at least 0."],
            "is_active": ["'maybe' is not 1 or 0."]},
    }
    assert list(Supplier.objects.values_list("code", "lead_time_days")) == [("KEEP", 3)]


def test_supplier_model_errors_show_the_bad_value_under_their_column():
    data = tablib.Dataset(
        supplier_row("BAD", contact_emails="not an email", currency="usd"),
        headers=SUPPLIER_HEADERS,
    )
    result = SupplierResource().import_data(data, dry_run=True)
    assert row_messages(result) == {
        2: {"contact_emails": ["'not an email': Enter a valid email address."],
            "currency": ["'usd' is not an ISO 4217 currency code in capitals, e.g. USD."]},
    }


def test_a_supplier_code_twice_in_one_file_is_refused():
    data = tablib.Dataset(supplier_row("ACME"), supplier_row("ACME", lead_time_days="9"),
                          headers=SUPPLIER_HEADERS)
    result = SupplierResource().import_data(data, dry_run=False)
    assert row_messages(result) == {3: {"code": ["'ACME' already appears in row 2."]}}
    assert not Supplier.objects.exists()


def test_a_clean_supplier_file_is_imported():
    data = tablib.Dataset(supplier_row("ACME", minimum_order_value="100.50", is_active="true"),
                          headers=SUPPLIER_HEADERS)
    result = SupplierResource().import_data(data, dry_run=False)
    assert row_messages(result) == {}
    supplier = Supplier.objects.get()
    assert (supplier.code, str(supplier.minimum_order_value), supplier.is_active) == (
        "ACME", "100.50", True)


def test_an_import_keeps_a_suppliers_currency_while_it_has_open_orders():
    from datetime import timedelta

    from django.utils import timezone

    from inventory.models import PurchaseOrder
    from tests.factories import WarehouseFactory

    supplier = SupplierFactory(code="ACME", currency="USD")
    PurchaseOrder.objects.create(
        number="PO-OPEN", supplier=supplier, warehouse=WarehouseFactory(code="MAIN"),
        currency="USD", expected_date=timezone.localdate() + timedelta(days=7),
    )
    data = tablib.Dataset(supplier_row("ACME", currency="EUR"), headers=SUPPLIER_HEADERS)
    result = SupplierResource().import_data(data, dry_run=False)
    [messages] = row_messages(result).values()
    assert "ACME has open purchase orders in USD: PO-OPEN." in messages["currency"][0]
    assert Supplier.objects.get().currency == "USD"


# --- supplier products --------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [True, False])
def test_supplier_product_rows_name_unknown_keys_and_bad_terms(dry_run):
    SupplierFactory(code="ACME")
    ProductFactory(sku="SKU-A")
    ProductFactory(sku="SKU-B")
    data = tablib.Dataset(
        offer_row("ACME", "SKU-A", is_preferred="1"),
        offer_row("NOPE", "SKU-A"),
        offer_row("ACME", "NOPE"),
        offer_row("ACME", "SKU-B", unit_cost="-1", pack_size="0", minimum_quantity="x"),
        offer_row("", "SKU-B", unit_cost="1.23456"),
        headers=OFFER_HEADERS,
    )
    result = SupplierProductResource().import_data(data, dry_run=dry_run)
    assert row_messages(result) == {
        3: {"supplier": ["no supplier with code 'NOPE'."]},
        4: {"sku": ["no product with SKU 'NOPE'."]},
        5: {"unit_cost": ["must be at least 0."], "pack_size": ["must be at least 1."],
            "minimum_quantity": ["'x' is not a number."]},
        6: {"supplier": ["is empty."], "unit_cost": ["'1.23456' has more than 4 decimal places."]},
    }
    assert SupplierProduct.objects.count() == 0


def test_a_supplier_product_twice_in_one_file_is_refused():
    SupplierFactory(code="ACME")
    ProductFactory(sku="SKU-A")
    data = tablib.Dataset(offer_row("ACME", "SKU-A"), offer_row("ACME", "SKU-A", unit_cost="3"),
                          headers=OFFER_HEADERS)
    result = SupplierProductResource().import_data(data, dry_run=False)
    assert row_messages(result) == {3: {"sku": ["ACME SKU-A already appears in row 2."]}}
    assert SupplierProduct.objects.count() == 0


def test_two_preferred_suppliers_for_one_sku_in_one_file_are_refused():
    SupplierFactory(code="ACME")
    SupplierFactory(code="BOLT")
    ProductFactory(sku="SKU-A")
    data = tablib.Dataset(offer_row("ACME", "SKU-A", is_preferred="1"),
                          offer_row("BOLT", "SKU-A", is_preferred="1"), headers=OFFER_HEADERS)
    result = SupplierProductResource().import_data(data, dry_run=True)
    assert row_messages(result) == {
        3: {"is_preferred": ["SKU-A is already made preferred for ACME in row 2."]}
    }


@pytest.mark.parametrize("dry_run", [True, False])
def test_import_marking_another_supplier_preferred_hands_the_role_over(dry_run):
    """BIG-1001 is bought from ACME (preferred); a file marking GLOBEX preferred is valid."""
    acme, globex = SupplierFactory(code="ACME"), SupplierFactory(code="GLOBEX")
    product = ProductFactory(sku="BIG-1001")
    SupplierProductFactory(supplier=acme, product=product, is_preferred=True)
    SupplierProductFactory(supplier=globex, product=product, is_preferred=False)
    before = snapshot_offers()
    data = tablib.Dataset(offer_row("GLOBEX", "BIG-1001", unit_cost="4.5", is_preferred="1"),
                          headers=OFFER_HEADERS)
    result = SupplierProductResource().import_data(data, dry_run=dry_run)
    assert row_messages(result) == {}
    if dry_run:
        assert snapshot_offers() == before
    else:
        assert dict(SupplierProduct.objects.values_list("supplier__code", "is_preferred")) == {
            "ACME": False, "GLOBEX": True,
        }


def test_admin_import_preview_lists_row_errors_and_writes_nothing(admin_client):
    SupplierFactory(code="ACME")
    ProductFactory(sku="SKU-A")
    upload = SimpleUploadedFile(
        "offers.csv",
        b"supplier,sku,supplier_sku,unit_cost,pack_size,minimum_quantity,is_preferred\n"
        b"ACME,SKU-A,,2.50,1,1,1\nNOPE,SKU-A,,1,0,1,0\n",
        content_type="text/csv",
    )
    response = admin_client.post(
        reverse("admin:inventory_supplierproduct_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "no supplier with code &#x27;NOPE&#x27;." in page
    assert "must be at least 1." in page
    assert "Confirm import" not in page
    assert SupplierProduct.objects.count() == 0


def test_admin_confirmed_import_of_a_file_gone_bad_since_its_preview_writes_nothing(admin_client):
    acme = SupplierFactory(code="ACME")
    ProductFactory(sku="SKU-A")
    ProductFactory(sku="SKU-B")
    upload = SimpleUploadedFile(
        "offers.csv",
        b"supplier,sku,supplier_sku,unit_cost,pack_size,minimum_quantity,is_preferred\n"
        b"ACME,SKU-A,,2.50,1,1,1\nACME,SKU-B,,1,1,1,0\n",
        content_type="text/csv",
    )
    preview = admin_client.post(
        reverse("admin:inventory_supplierproduct_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )
    confirm_form = preview.context["confirm_form"]
    ProductFactory(sku="SKU-B").delete()  # someone removes a SKU before the import is confirmed
    response = admin_client.post(
        reverse("admin:inventory_supplierproduct_process_import"),
        {**confirm_form.initial}, follow=True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        "Nothing was imported: row 3: sku: no product with SKU 'SKU-B'."
    ], messages
    assert not SupplierProduct.objects.filter(supplier=acme).exists()


def test_a_file_with_an_unknown_column_imports_nothing_and_says_why():
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=ProductFactory(
        sku="SKU-A"), unit_cost="12.5000")
    data = tablib.Dataset(["ACME", "SKU-A", "99"], headers=["supplier", "sku", "Unit Cost"])
    result = SupplierProductResource().import_data(data, dry_run=False)
    [error] = result.base_errors
    assert str(error.error).startswith("Nothing was imported: unknown column(s): Unit Cost.")
    assert error.traceback == ""
    assert str(SupplierProduct.objects.get().unit_cost) == "12.5000"


def test_a_file_without_its_key_columns_names_them():
    data = tablib.Dataset(["x", "y"], headers=["foo", "bar"])
    result = SupplierResource().import_data(data, dry_run=True)
    [error] = result.base_errors
    assert "unknown column(s): foo, bar; missing column(s): code." in str(error.error)
    assert not Supplier.objects.exists()


def test_an_exported_file_imports_back_unchanged():
    SupplierFactory(code="ACME", name='=HYPERLINK("http://x","y")')
    exported = SupplierResource().export()
    assert exported.dict[0]["name"].startswith("'=")  # neutralised for spreadsheets
    result = SupplierResource().import_data(exported, dry_run=False)
    assert not result.has_errors()
    assert Supplier.objects.get().name == '=HYPERLINK("http://x","y")'
