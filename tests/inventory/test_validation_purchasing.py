"""Purchasing input rules: line errors aligned with the lines, inactive warehouses, amount
bounds, expected dates, pack sizes, supplier currency and supplier codes, strict filters."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockLevel,
    Supplier,
)
from inventory.purchasing.services import (
    PurchaseItem,
    purchase_order_create,
    purchase_order_expected_date_set,
)
from oms_project.errors import ValidationFailed
from tests.factories import ProductFactory, WarehouseFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

URL = "/api/v1/purchase-orders/"


@pytest.fixture
def buyer(make_client):
    return make_client(scopes=["purchasing:write"])


@pytest.fixture
def acme():
    """ACME sells SKU-A (4.50) and SKU-P (packs of 6, at least 12) to MAIN."""
    supplier = SupplierFactory(code="ACME")
    WarehouseFactory(code="MAIN")
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="SKU-A"))
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="SKU-P"), pack_size=6,
                           minimum_quantity=12)
    return supplier


def create(client, lines, **fields):
    return client.post(URL, {"supplier": "ACME", "warehouse": "MAIN", "lines": lines, **fields},
                       format="json")


def draft(client, lines=({"sku": "SKU-A", "quantity": 2},)):
    response = create(client, list(lines))
    assert response.status_code == 201, response.json()
    return response.json()["number"]


def state():
    return (
        list(PurchaseOrder.objects.values_list("number", "status", "expected_date")
             .order_by("pk")),
        list(PurchaseOrderLine.objects.values_list("pk", "quantity", "unit_cost").order_by("pk")),
        PurchaseOrderEvent.objects.count(),
    )


# --- Line errors ----------------------------------------------------------------------------


def test_create_line_errors_are_a_list_aligned_with_the_request(buyer, acme):
    ProductFactory(sku="SKU-X")  # exists; ACME has no price for it
    response = create(buyer, [
        {"sku": "SKU-A", "quantity": 1}, {"sku": "NOPE", "quantity": 1},
        {"sku": "SKU-A", "quantity": 1},
    ])
    assert response.status_code == 400
    assert response.json()["errors"] == {"lines": [{}, {"sku": ["Unknown SKU 'NOPE'."]}, {}]}
    response = create(buyer, [
        {"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-X", "quantity": 1},
        {"sku": "SKU-A", "quantity": 1},
    ])
    assert response.status_code == 400
    assert response.json()["errors"] == {"lines": [
        {},
        {"unit_cost": ["ACME has no price for SKU-X; give a unit cost."]},
        {"sku": ["SKU-A appears more than once."]},
    ]}
    assert state() == ([], [], 0)


def test_receipt_line_errors_are_a_list_aligned_with_the_request(buyer, acme):
    from orders.replenishment import purchase_order_send_and_date

    number = draft(buyer, [{"sku": "SKU-A", "quantity": 2}])
    purchase_order_send_and_date(purchase_order=PurchaseOrder.objects.get(), actor="test")
    before = state()
    url = f"{URL}{number}/receipts/"
    response = buyer.post(url, {"lines": [
        {"sku": "SKU-A", "quantity_received": 1}, {"sku": "NOPE", "quantity_received": 1},
    ]}, format="json", HTTP_IDEMPOTENCY_KEY="receipt-1")
    assert response.json()["errors"] == {"lines": [{}, {"sku": ["Unknown SKU 'NOPE'."]}]}
    response = buyer.post(url, {"lines": [
        {"sku": "SKU-P", "quantity_received": 1}, {"sku": "SKU-A", "quantity_received": 1},
    ]}, format="json", HTTP_IDEMPOTENCY_KEY="receipt-2")
    assert response.json()["errors"] == {
        "lines": [{"sku": [f"SKU-P is not on purchase order {number}."]}, {}]
    }
    response = buyer.post(url, {"lines": [
        {"sku": "SKU-A", "quantity_received": 1}, {"sku": "SKU-A", "quantity_received": 5},
    ]}, format="json", HTTP_IDEMPOTENCY_KEY="receipt-3")
    assert response.json()["code"] == "over_receipt"
    assert response.json()["errors"] == {"lines": [{}, {"quantity_received": [
        "SKU-A: 6 unit(s) arrived but at most 2 more may be received (2 ordered, 0 already "
        "received, 0% over-receipt allowed)."
    ]}]}
    assert state() == before
    assert not StockLevel.objects.exists()


# --- Inactive warehouses --------------------------------------------------------------------


def test_create_refuses_an_inactive_warehouse(buyer, acme):
    Warehouse.objects.filter(code="MAIN").update(is_active=False)
    response = create(buyer, [{"sku": "SKU-A", "quantity": 1}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"warehouse": ["Warehouse MAIN is inactive."]}
    assert state() == ([], [], 0)


def test_a_draft_for_a_warehouse_deactivated_since_cannot_be_sent(buyer, acme):
    number = draft(buyer)
    Warehouse.objects.filter(code="MAIN").update(is_active=False)
    before = state()
    response = buyer.post(f"{URL}{number}/send/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"warehouse": ["Warehouse MAIN is inactive."]}
    assert state() == before


def test_goods_on_the_way_are_received_into_a_warehouse_deactivated_since(buyer, acme):
    """Deliberately allowed: the supplier delivers what was sent before the deactivation."""
    number = draft(buyer)
    assert buyer.post(f"{URL}{number}/send/", {}, format="json").status_code == 200
    Warehouse.objects.filter(code="MAIN").update(is_active=False)
    response = buyer.post(f"{URL}{number}/receipts/",
                          {"reference": "DN-1",
                           "lines": [{"sku": "SKU-A", "quantity_received": 2}]},
                          format="json")
    assert response.status_code == 201, response.json()
    assert StockLevel.objects.get().on_hand == 2


# --- Amounts --------------------------------------------------------------------------------


def test_a_line_worth_more_than_the_bound_is_refused(buyer, acme):
    number = draft(buyer)
    before = state()
    response = buyer.post(f"{URL}{number}/lines/", {
        "sku": "SKU-A", "quantity": 1000000000, "unit_cost": "9999999999.9999",
    }, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"quantity": [
        "The line comes to 9999999999999900000.00, over the limit of 9999999999.99."
    ]}
    assert state() == before


def test_a_total_above_the_bound_is_refused_on_create_and_on_edit(buyer, acme):
    half = {"quantity": 1000, "unit_cost": "6000000.0000"}  # 6,000,000,000.00 a line
    response = create(buyer, [{"sku": "SKU-A", **half}, {"sku": "SKU-P", **half, "quantity": 1002}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"total": [
        "The purchase order comes to 12012000000.00, over the limit of 9999999999.99."
    ]}
    assert state() == ([], [], 0)
    number = draft(buyer, [{"sku": "SKU-A", **half}])
    before = state()
    response = buyer.post(f"{URL}{number}/lines/", {"sku": "SKU-P", **half, "quantity": 1002},
                          format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"quantity": [
        "The purchase order comes to 12012000000.00, over the limit of 9999999999.99."
    ]}
    assert state() == before


def test_an_order_above_the_bound_is_not_sent(buyer, acme):
    number = draft(buyer)
    PurchaseOrderLine.objects.update(quantity=10**9, unit_cost=Decimal("9999999999.9999"))
    before = state()
    response = buyer.post(f"{URL}{number}/send/", {}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["total"]
    assert state() == before


# --- Expected dates -------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["yesterday", "year one", "two years and a day ahead"])
def test_expected_date_must_be_from_today_to_two_years_ahead(buyer, acme, when):
    today = timezone.localdate()
    given = {
        "yesterday": (today - timedelta(days=1)).isoformat(),
        "year one": "0001-01-01",
        "two years and a day ahead": (today + timedelta(days=731)).isoformat(),
    }[when]
    number = draft(buyer)
    before = state()
    response = buyer.post(f"{URL}{number}/expected-date/", {"expected_date": given},
                          format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"] == {"expected_date": [
        f"Give a date from {today.isoformat()} to "
        f"{(today + timedelta(days=730)).isoformat()}."
    ]}
    assert state() == before
    response = create(buyer, [{"sku": "SKU-P", "quantity": 12}], expected_date=given)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expected_date"]
    assert state() == before


def test_expected_date_today_and_at_the_horizon_are_accepted(buyer, acme):
    today = timezone.localdate()
    number = draft(buyer)
    for day in (today, today + timedelta(days=730)):
        response = buyer.post(f"{URL}{number}/expected-date/",
                              {"expected_date": day.isoformat()}, format="json")
        assert response.json()["expected_date"] == day.isoformat()


def test_a_past_expected_date_does_not_redate_waiting_backorders(acme):
    purchase_order = purchase_order_create(
        supplier=acme, warehouse=Warehouse.objects.get(code="MAIN"),
        items=[PurchaseItem(acme.products.get(product__sku="SKU-A").product, 3)],
    )
    with pytest.raises(ValidationFailed) as caught:
        purchase_order_expected_date_set(
            purchase_order=purchase_order, expected_date=timezone.localdate() - timedelta(days=1)
        )
    assert list(caught.value.errors) == ["expected_date"]
    purchase_order.refresh_from_db()
    assert purchase_order.expected_date == timezone.localdate() + timedelta(days=10)


# --- Pack sizes and minimum quantities ------------------------------------------------------


PACK_ERROR = "SKU-P is sold in packs of 6, at least 12 units: order 12, 18, 24, ... units."


@pytest.mark.parametrize("quantity", [10, 6, 13])
def test_quantities_outside_the_packs_and_minimum_are_refused(buyer, acme, quantity):
    response = create(buyer, [{"sku": "SKU-A", "quantity": 1},
                              {"sku": "SKU-P", "quantity": quantity}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"lines": [{}, {"quantity": [PACK_ERROR]}]}
    assert state() == ([], [], 0)
    number = draft(buyer)
    before = state()
    response = buyer.post(f"{URL}{number}/lines/", {"sku": "SKU-P", "quantity": quantity},
                          format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"quantity": [PACK_ERROR]}
    assert state() == before


def test_minimum_that_is_not_a_whole_pack_names_the_first_allowed_quantity(buyer, acme):
    SupplierProductFactory(supplier=acme, product=ProductFactory(sku="SKU-Q"), pack_size=6,
                           minimum_quantity=10)
    response = create(buyer, [{"sku": "SKU-Q", "quantity": 10}])
    assert response.json()["errors"] == {"lines": [{"quantity": [
        "SKU-Q is sold in packs of 6, at least 10 units: order 12, 18, 24, ... units."
    ]}]}


@pytest.mark.parametrize("quantity", [12, 18, 600])
def test_whole_packs_from_the_minimum_are_accepted(buyer, acme, quantity):
    number = draft(buyer, [{"sku": "SKU-P", "quantity": quantity}])
    response = buyer.post(f"{URL}{number}/lines/", {"sku": "SKU-P", "quantity": quantity + 6},
                          format="json")
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantity"] == quantity + 6


# --- Suppliers ------------------------------------------------------------------------------


def test_currency_cannot_change_while_purchase_orders_are_open(buyer, acme):
    first = draft(buyer)
    buyer.post(f"{URL}{first}/send/", {}, format="json")
    second = draft(buyer, [{"sku": "SKU-P", "quantity": 12}])
    response = buyer.patch("/api/v1/suppliers/ACME/", {"currency": "EUR"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"currency": [
        f"ACME has open purchase orders in USD: {first}, {second}. Receive, close or cancel "
        "them first."
    ]}
    assert Supplier.objects.get().currency == "USD"
    # Changing something else, or sending the same currency, is fine.
    response = buyer.patch("/api/v1/suppliers/ACME/", {"currency": "USD", "name": "Acme Inc"},
                           format="json")
    assert response.status_code == 200, response.json()


def test_currency_may_change_once_nothing_is_open_and_prices_follow_it(buyer, acme):
    """The supplier's prices carry no currency of their own: they are read in its currency,
    so they are to be re-entered after the change (documented on the field)."""
    number = draft(buyer)
    buyer.post(f"{URL}{number}/cancel/", {}, format="json")
    response = buyer.patch("/api/v1/suppliers/ACME/", {"currency": "EUR"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["currency"] == "EUR"
    assert PurchaseOrder.objects.get().currency == "USD"  # what was ordered stays as ordered
    assert acme.products.get(product__sku="SKU-A").unit_cost == Decimal("4.5000")


SUPPLIER = {"name": "Acme", "contact_emails": "orders@acme.test"}


def test_supplier_codes_are_unique_whatever_their_case(buyer, acme):
    response = buyer.post("/api/v1/suppliers/", {**SUPPLIER, "code": "acme"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "code": ["A supplier with this code already exists (codes ignore case)."]
    }
    SupplierFactory(code="BOLT")
    response = buyer.patch("/api/v1/suppliers/BOLT/", {"code": "Acme"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["code"]
    assert response_ok(buyer.patch("/api/v1/suppliers/BOLT/", {"code": "bolt"}, format="json"))
    assert sorted(Supplier.objects.values_list("code", flat=True)) == ["ACME", "bolt"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Supplier.objects.create(code="Acme", name="Clash", contact_emails="x@acme.test")


def response_ok(response) -> bool:
    assert response.status_code == 200, response.json()
    return True


def test_the_migration_names_case_insensitive_duplicates(acme):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("inventory.migrations.0006_supplier_code_unique_ignoring_case")
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX supplier_code_unique_ignoring_case")
    Supplier.objects.create(code="acme", name="Copy", contact_emails="x@acme.test")
    Supplier.objects.create(code="Bolt", name="Bolt", contact_emails="x@bolt.test")
    with pytest.raises(RuntimeError) as caught:
        migration.refuse_duplicate_supplier_codes(apps, None)
    assert str(caught.value) == (
        "Supplier codes must be unique ignoring case; rename or merge these first: "
        "ACME / acme."
    )


# --- Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/v1/suppliers/?is_active=maybe", "/api/v1/supplier-products/?is_preferred=maybe"],
)
def test_boolean_filters_refuse_values_that_are_not_booleans(buyer, acme, url):
    response = buyer.get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == [url.split("?")[1].split("=")[0]]


@pytest.mark.parametrize(("value", "count"), [("true", 1), ("FALSE", 0), ("1", 1), ("0", 0),
                                              ("", 1)])
def test_boolean_filters_take_true_false_1_0_or_nothing(buyer, acme, value, count):
    response = buyer.get(f"/api/v1/suppliers/?is_active={value}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


def test_the_admin_keeps_a_suppliers_currency_while_orders_are_open(buyer, acme, admin_client):
    from django.urls import reverse

    first = draft(buyer)
    supplier = Supplier.objects.get()
    url = reverse("admin:inventory_supplier_change", args=[supplier.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({
        "currency": "EUR",
        "contact_emails": supplier.contact_emails,
        "supplier_products-TOTAL_FORMS": "0", "supplier_products-INITIAL_FORMS": "0",
    })
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert f"ACME has open purchase orders in USD: {first}." in response.content.decode()
    assert Supplier.objects.get().currency == "USD"
