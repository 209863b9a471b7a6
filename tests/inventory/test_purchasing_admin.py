"""Purchasing admin pages, receiving and suggestions from the admin, and CSV import of
suppliers and supplier products (dry run, per-row errors, nothing written on a bad file)."""

from datetime import timedelta

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

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
from oms_project.models import EmailMessage
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
    assert bad_rows == {3: {"contact_emails", "currency"}, 4: {"lead_time_days"}}
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
    assert failed == {3, 4, 5}  # file rows: the header is row 1
    assert SupplierProduct.objects.count() == 0


def change_form(purchase_order, **fields) -> dict:
    return {
        "note": purchase_order.note,
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-0-id": purchase_order.lines.get().pk, "lines-0-purchase_order": purchase_order.pk,
        "receipts-TOTAL_FORMS": "0", "receipts-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "2", "events-INITIAL_FORMS": "2",
        "events-0-id": "", "events-1-id": "",
        **fields,
    }


def test_admin_note_and_expected_date_changes_are_audited(admin_client, sent_order):
    url = reverse("admin:inventory_purchaseorder_change", args=[sent_order.pk])
    later = (timezone.localdate() + timedelta(days=60)).isoformat()
    response = admin_client.post(
        url, change_form(sent_order, expected_date=later, note="Dock 3 please")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sent_order.refresh_from_db()
    assert (str(sent_order.expected_date), sent_order.note) == (later, "Dock 3 please")
    types = list(PurchaseOrderEvent.objects.filter(purchase_order=sent_order)
                 .values_list("type", flat=True))
    assert types[-2:] == ["expected_date_changed", "note_changed"]


def test_admin_refuses_a_past_expected_date_and_changes_nothing(admin_client, sent_order):
    url = reverse("admin:inventory_purchaseorder_change", args=[sent_order.pk])
    expected, events = sent_order.expected_date, sent_order.events.count()
    response = admin_client.post(
        url, change_form(sent_order, expected_date="2001-01-01", note="Dock 3 please"),
        follow=True,
    )
    assert "expected_date: Give a date from" in response.content.decode()
    sent_order.refresh_from_db()
    assert (sent_order.expected_date, sent_order.note) == (expected, "")
    assert sent_order.events.count() == events


# --- The preferred supplier of a SKU is handed over from the change page ----------------------


@pytest.fixture
def big_1001_offers():
    """BIG-1001 bought from ACME (preferred) and GLOBEX."""
    product = ProductFactory(sku="BIG-1001")
    acme = SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product,
                                  is_preferred=True)
    globex = SupplierProductFactory(supplier=SupplierFactory(code="GLOBEX"), product=product,
                                    is_preferred=False, unit_cost="4.2000")
    return acme, globex


def offer_form(offer, **changes) -> dict:
    data = {
        "supplier": offer.supplier_id, "product": offer.product_id,
        "supplier_sku": offer.supplier_sku, "unit_cost": str(offer.unit_cost),
        "pack_size": offer.pack_size, "minimum_quantity": offer.minimum_quantity,
        **changes,
    }
    if data.pop("is_preferred", offer.is_preferred):
        data["is_preferred"] = "on"
    return data


def preferred_by_supplier() -> dict[str, bool]:
    return dict(SupplierProduct.objects.values_list("supplier__code", "is_preferred"))


def test_admin_ticking_is_preferred_hands_the_role_over(admin_client, big_1001_offers):
    _, globex = big_1001_offers
    url = reverse("admin:inventory_supplierproduct_change", args=[globex.pk])
    response = admin_client.post(url, offer_form(globex, is_preferred=True))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert preferred_by_supplier() == {"ACME": False, "GLOBEX": True}
    assert SupplierProduct.objects.count() == 2


def test_admin_adding_a_preferred_offer_hands_the_role_over(admin_client, big_1001_offers):
    acme, _ = big_1001_offers
    bolt = SupplierFactory(code="BOLT")
    response = admin_client.post(
        reverse("admin:inventory_supplierproduct_add"),
        {"supplier": bolt.pk, "product": acme.product_id, "supplier_sku": "B-1",
         "unit_cost": "4.00", "pack_size": "1", "minimum_quantity": "1", "is_preferred": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert preferred_by_supplier() == {"ACME": False, "BOLT": True, "GLOBEX": False}


def test_admin_offer_with_bad_terms_is_refused_per_field_and_changes_nothing(
    admin_client, big_1001_offers
):
    _, globex = big_1001_offers
    url = reverse("admin:inventory_supplierproduct_change", args=[globex.pk])
    response = admin_client.post(
        url, offer_form(globex, is_preferred=True, pack_size="0", unit_cost="-1")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"pack_size", "unit_cost"}, errors
    assert "supplier_product_terms_positive" not in response.content.decode()
    assert preferred_by_supplier() == {"ACME": True, "GLOBEX": False}
    globex.refresh_from_db()
    assert (globex.pack_size, str(globex.unit_cost)) == (1, "4.2000")


def test_admin_change_page_keeps_the_supplier_and_product_of_an_offer(
    admin_client, big_1001_offers
):
    _, globex = big_1001_offers
    other = ProductFactory(sku="SMALL-1")
    url = reverse("admin:inventory_supplierproduct_change", args=[globex.pk])
    response = admin_client.post(url, offer_form(globex, product=other.pk, unit_cost="5"))
    assert response.status_code == 302, response.content.decode()[:3000]
    globex.refresh_from_db()
    assert (globex.product.sku, str(globex.unit_cost)) == ("BIG-1001", "5.0000")
    assert SupplierProduct.objects.count() == 2


# --- Sending below the supplier's minimum order value ----------------------------------------


@pytest.fixture
def small_draft():
    """A draft worth 64.50 USD to ACME, who takes orders from 100.00 USD."""
    supplier = SupplierFactory(code="ACME", minimum_order_value="100.00")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=supplier, product=product, unit_cost="6.4500")
    return purchase_order_create(
        supplier=supplier, warehouse=WarehouseFactory(code="MAIN"),
        items=[PurchaseItem(product=product, quantity=10)],
    )


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_admin_send_below_minimum_is_refused_with_how_to_override(admin_client, small_draft):
    url = reverse("admin:inventory_purchaseorder_object_action", args=[small_draft.pk, "send"])
    response = admin_client.post(url, {"accept_below_minimum": "1"}, follow=True)
    [message] = shown_messages(response)
    assert "worth 64.50 USD; ACME takes orders from 100.00 USD" in message
    assert "“Send below minimum”" in message
    small_draft.refresh_from_db()
    assert small_draft.status == "draft"
    assert not EmailMessage.objects.exists()
    confirm_url = reverse("admin:inventory_purchaseorder_send_below_minimum",
                          args=[small_draft.pk])
    assert confirm_url in response.content.decode()


def test_admin_send_below_minimum_needs_the_confirmation(admin_client, small_draft):
    url = reverse("admin:inventory_purchaseorder_send_below_minimum", args=[small_draft.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "64.50 USD" in page.content.decode() and "100.00 USD" in page.content.decode()
    refused = admin_client.post(url, {})
    assert refused.status_code == 200
    assert "confirm" in refused.context["form"].errors
    small_draft.refresh_from_db()
    assert small_draft.status == "draft"

    response = admin_client.post(url, {"confirm": "on"}, follow=True)
    small_draft.refresh_from_db()
    assert small_draft.status == "sent"
    assert any("below the minimum order value" in text for text in shown_messages(response))
    event = PurchaseOrderEvent.objects.get(purchase_order=small_draft,
                                           type="below_minimum_accepted")
    assert event.actor == "user:admin"
    assert event.data == {"total": "64.50", "minimum_order_value": "100.00"}
    assert EmailMessage.objects.filter(template="purchase_order").count() == 1


def test_admin_send_below_minimum_is_for_staff_with_change_permission(
    client, django_user_model, small_draft
):
    url = reverse("admin:inventory_purchaseorder_send_below_minimum", args=[small_draft.pk])
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_purchaseorder"))
    client.force_login(viewer)
    assert client.post(url, {"confirm": "on"}).status_code == 403
    outsider = django_user_model.objects.create_user("outsider", password="pw")
    client.force_login(outsider)
    assert client.post(url, {"confirm": "on"}).status_code == 302  # to the admin login
    small_draft.refresh_from_db()
    assert small_draft.status == "draft"
    assert not PurchaseOrderEvent.objects.filter(type="below_minimum_accepted").exists()


def test_admin_send_below_minimum_of_a_sent_order_is_refused(admin_client, sent_order):
    url = reverse("admin:inventory_purchaseorder_send_below_minimum", args=[sent_order.pk])
    response = admin_client.post(url, {"confirm": "on"}, follow=True)
    assert any("only a draft can be sent" in text for text in shown_messages(response))
    assert not PurchaseOrderEvent.objects.filter(type="below_minimum_accepted").exists()


def test_admin_messages_name_the_line_of_a_line_error():
    from inventory.purchasing_admin import _error_text
    from oms_project.errors import ValidationFailed

    error = ValidationFailed(
        "The receipt is not valid.",
        errors={"lines": [{}, {"quantity": ["More than is outstanding."]}]},
    )
    assert _error_text(error) == (
        "The receipt is not valid. lines 2 quantity: More than is outstanding."
    )


def test_a_draft_line_of_zero_units_is_refused_in_plain_words(admin_client):
    supplier = SupplierFactory(code="ACME")
    product = ProductFactory(sku="SKU-A")
    SupplierProductFactory(supplier=supplier, product=product, unit_cost="3.0000")
    response = admin_client.post(
        reverse("admin:inventory_purchaseorder_add"),
        {
            "supplier": supplier.pk, "warehouse": WarehouseFactory(code="MAIN").pk,
            "expected_date": "", "note": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk, "lines-0-quantity": "0", "lines-0-unit_cost": "",
            "receipts-TOTAL_FORMS": "0", "receipts-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Order at least 1 unit" in page
    assert "purchase_order_line_quantity_positive" not in page
    assert not PurchaseOrder.objects.exists()
