"""Purchasing API: suppliers, supplier products, purchase orders through their states, and
receipts — bad input is refused with nothing written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseReceipt,
    StockLevel,
    StockMovement,
    SupplierProduct,
)
from oms_project.models import EmailMessage
from tests.factories import ProductFactory, WarehouseFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/purchase-orders/"


@pytest.fixture
def buyer(make_client):
    return make_client(scopes=["purchasing:write"])


@pytest.fixture
def sent(buyer):
    """A sent purchase order PO for 10 x SKU-A and 4 x SKU-B to MAIN from ACME (10% tolerance)."""
    supplier = SupplierFactory(
        code="ACME", over_receipt_percent=10, contact_emails="a@acme.test, b@acme.test"
    )
    WarehouseFactory(code="MAIN")
    for sku in ("SKU-A", "SKU-B"):
        SupplierProductFactory(supplier=supplier, product=ProductFactory(sku=sku))
    response = buyer.post(
        URL,
        {"supplier": "ACME", "warehouse": "MAIN",
         "lines": [{"sku": "SKU-A", "quantity": 10}, {"sku": "SKU-B", "quantity": 4}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    assert buyer.post(f"{URL}{number}/send/", {}, format="json").status_code == 200
    return PurchaseOrder.objects.get(number=number)


def snapshot():
    return (
        list(StockLevel.objects.values_list("product__sku", "on_hand").order_by("pk")),
        StockMovement.objects.count(),
        PurchaseReceipt.objects.count(),
        list(PurchaseOrder.objects.values_list("status", flat=True)),
        list(
            PurchaseOrder.objects.values_list(
                "lines__quantity_received", "lines__quantity_damaged"
            ).order_by("lines__pk")
        ),
    )


def test_create_a_draft_with_supplier_prices_and_lead_time(buyer):
    SupplierFactory(code="ACME", lead_time_days=14)
    WarehouseFactory(code="MAIN")
    SupplierProductFactory(
        supplier__code="ACME", product=ProductFactory(sku="SKU-A"), unit_cost="2.5000",
        supplier_sku="V-1",
    )
    response = buyer.post(
        URL, {"supplier": "ACME", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 4}]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["expected_date"] == (timezone.localdate() + timedelta(days=14)).isoformat()
    assert body["total"] == "10.00"
    assert body["lines"] == [
        {"sku": "SKU-A", "supplier_sku": "V-1", "quantity": 4, "unit_cost": "2.5000",
         "quantity_received": 0, "quantity_damaged": 0, "quantity_outstanding": 4}
    ]


def test_sending_emails_every_contact_the_order_as_html_and_csv(sent):
    emails = EmailMessage.objects.filter(template="purchase_order").order_by("to")
    assert [email.to for email in emails] == ["a@acme.test", "b@acme.test"]
    email = emails[0]
    assert sent.number in email.subject and "SKU-A" in email.body_html
    [attachment] = email.attachments
    assert attachment["filename"] == f"{sent.number}.csv"
    assert attachment["mimetype"] == "text/csv"
    rows = attachment["content"].splitlines()
    assert rows[0].startswith("purchase_order,line,sku,supplier_sku")
    assert rows[1].startswith(f"{sent.number},1,SKU-A,V-SKU-A,")
    assert sent.status == "sent" and sent.sent_at is not None
    types = list(PurchaseOrderEvent.objects.filter(purchase_order=sent).values_list(
        "type", "from_status", "to_status"))
    assert types == [("created", "", "draft"), ("status_changed", "draft", "sent")]


def test_partial_then_full_receipt_moves_the_states_and_books_stock(buyer, sent):
    url = f"{URL}{sent.number}/receipts/"
    first = buyer.post(
        url, {"reference": "DN-1", "lines": [{"sku": "SKU-A", "quantity_received": 6,
                                              "quantity_damaged": 1}]}, format="json",
    )
    assert first.status_code == 201, first.json()
    assert first.json()["purchase_order"]["status"] == "partially_received"
    assert first.json()["receipt"]["lines"] == [
        {"sku": "SKU-A", "quantity_received": 6, "quantity_damaged": 1}
    ]
    second = buyer.post(
        url, {"reference": "DN-2", "lines": [{"sku": "SKU-A", "quantity_received": 4},
                                             {"sku": "SKU-B", "quantity_received": 4}]},
        format="json",
    )
    assert second.status_code == 201
    body = second.json()["purchase_order"]
    assert body["status"] == "received"
    # 11 of SKU-A arrived against 10 ordered: within the 10% tolerance (1 unit).
    assert [(line["quantity_received"], line["quantity_damaged"], line["quantity_outstanding"])
            for line in body["lines"]] == [(10, 1, 0), (4, 0, 0)]
    on_hand = dict(StockLevel.objects.values_list("product__sku", "on_hand"))
    assert on_hand == {"SKU-A": 10, "SKU-B": 4}
    assert set(StockMovement.objects.values_list("reason", "reference")) == {
        ("receipt", f"po:{sent.number}")
    }
    close = buyer.post(f"{URL}{sent.number}/close/", {}, format="json")
    assert close.status_code == 200 and close.json()["status"] == "closed"


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([{"sku": "SKU-A", "quantity_received": -1}], 400, "validation_error"),
        ([{"sku": "SKU-A", "quantity_received": 1.5}], 400, "validation_error"),
        ([{"sku": "SKU-A", "quantity_received": "3"}], 400, "validation_error"),
        ([{"sku": "SKU-A", "quantity_received": 0}], 400, "validation_error"),
        ([{"sku": "NOPE", "quantity_received": 1}], 400, "validation_error"),
        ([{"sku": "SKU-A", "quantity_received": 12}], 400, "over_receipt"),
        ([{"sku": "SKU-A", "quantity_received": 10, "quantity_damaged": 2}], 400, "over_receipt"),
        # A valid line does not save a bad one: nothing of the delivery is written.
        ([{"sku": "SKU-B", "quantity_received": 2},
          {"sku": "SKU-A", "quantity_received": 99}], 400, "over_receipt"),
        ([{"sku": "SKU-B", "quantity_received": 2}, {"sku": "SKU-C", "quantity_received": 1}],
         400, "validation_error"),
        ([], 400, "validation_error"),
        ([{"sku": "SKU-A", "quantity_received": 1, "bin": "X"}], 400, "validation_error"),
    ],
)
def test_bad_receipts_are_refused_and_write_nothing(buyer, sent, lines, status, code):
    ProductFactory(sku="SKU-C")  # exists, but is not on the purchase order
    before = snapshot()
    response = buyer.post(
        f"{URL}{sent.number}/receipts/", {"lines": lines}, format="json",
        HTTP_IDEMPOTENCY_KEY="bad-receipt",
    )
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert snapshot() == before


def test_the_same_delivery_note_twice_is_refused(buyer, sent):
    url = f"{URL}{sent.number}/receipts/"
    body = {"reference": "DN-1", "lines": [{"sku": "SKU-A", "quantity_received": 2}]}
    assert buyer.post(url, body, format="json").status_code == 201
    before = snapshot()
    response = buyer.post(url, body, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_receipt")
    assert snapshot() == before


def test_a_receipt_without_delivery_note_or_idempotency_key_is_refused(buyer, sent):
    before = snapshot()
    response = buyer.post(
        f"{URL}{sent.number}/receipts/",
        {"lines": [{"sku": "SKU-A", "quantity_received": 2}]}, format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_required"
    assert "Idempotency-Key" in response.json()["detail"]
    assert "reference" in response.json()["detail"]
    assert snapshot() == before


def test_a_retried_receipt_with_the_same_idempotency_key_books_once(buyer, sent):
    url = f"{URL}{sent.number}/receipts/"
    body = {"lines": [{"sku": "SKU-A", "quantity_received": 2}]}
    first = buyer.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="3pl-receipt-1")
    assert first.status_code == 201, first.json()
    after_first = snapshot()

    retry = buyer.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="3pl-receipt-1")

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert snapshot() == after_first
    assert StockLevel.objects.get(product__sku="SKU-A").on_hand == 2
    assert PurchaseReceipt.objects.count() == 1


def test_a_receipt_with_a_delivery_note_needs_no_idempotency_key(buyer, sent):
    response = buyer.post(
        f"{URL}{sent.number}/receipts/",
        {"reference": "DN-7", "lines": [{"sku": "SKU-A", "quantity_received": 2}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert StockLevel.objects.get(product__sku="SKU-A").on_hand == 2


def test_a_draft_cannot_be_received_and_a_received_order_cannot_be_cancelled(buyer, sent):
    draft = buyer.post(
        URL, {"supplier": "ACME", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 1}]},
        format="json",
    ).json()["number"]
    before = snapshot()
    response = buyer.post(
        f"{URL}{draft}/receipts/", {"lines": [{"sku": "SKU-A", "quantity_received": 1}]},
        format="json", HTTP_IDEMPOTENCY_KEY="draft-receipt",
    )
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert snapshot() == before
    buyer.post(f"{URL}{sent.number}/receipts/",
               {"reference": "DN-1", "lines": [{"sku": "SKU-A", "quantity_received": 1}]},
               format="json")
    response = buyer.post(f"{URL}{sent.number}/cancel/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert PurchaseOrder.objects.get(pk=sent.pk).status == "partially_received"


def test_editing_a_draft_line_is_audited_and_refused_once_sent(buyer, sent):
    draft = buyer.post(
        URL, {"supplier": "ACME", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 1}]},
        format="json",
    ).json()["number"]
    response = buyer.post(f"{URL}{draft}/lines/", {"sku": "SKU-B", "quantity": 6}, format="json")
    assert [line["quantity"] for line in response.json()["lines"]] == [1, 6]
    response = buyer.post(f"{URL}{draft}/lines/", {"sku": "SKU-A", "quantity": 0}, format="json")
    assert [line["sku"] for line in response.json()["lines"]] == ["SKU-B"]
    assert PurchaseOrderEvent.objects.filter(
        purchase_order__number=draft, type="line_changed"
    ).count() == 2
    refused = buyer.post(f"{URL}{sent.number}/lines/", {"sku": "SKU-A", "quantity": 3},
                         format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    assert sent.lines.get(product__sku="SKU-A").quantity == 10


def test_a_second_draft_for_the_same_supplier_and_warehouse_is_a_conflict(buyer, sent):
    body = {"supplier": "ACME", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 1}]}
    assert buyer.post(URL, body, format="json").status_code == 201
    response = buyer.post(URL, body, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert PurchaseOrder.objects.filter(status="draft").count() == 1


def test_below_the_minimum_order_value_is_refused_unless_accepted(buyer):
    SupplierFactory(code="BIG", minimum_order_value="100.00")
    WarehouseFactory(code="MAIN")
    SupplierProductFactory(supplier__code="BIG", product=ProductFactory(sku="SKU-A"),
                           unit_cost="2.0000")
    number = buyer.post(
        URL, {"supplier": "BIG", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 5}]},
        format="json",
    ).json()["number"]
    response = buyer.post(f"{URL}{number}/send/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "below_minimum_order_value")
    assert PurchaseOrder.objects.get(number=number).status == "draft"
    assert not EmailMessage.objects.exists()
    response = buyer.post(f"{URL}{number}/send/", {"accept_below_minimum": True}, format="json")
    assert response.json()["status"] == "sent"


def test_expected_date_can_move_until_received(buyer, sent):
    new_date = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = buyer.post(f"{URL}{sent.number}/expected-date/", {"expected_date": new_date},
                          format="json")
    assert response.json()["expected_date"] == new_date
    assert PurchaseOrderEvent.objects.filter(type="expected_date_changed").count() == 1


def test_purchase_order_list_uses_constant_queries(buyer, sent, django_assert_max_num_queries):
    for index in range(3):
        SupplierFactory(code=f"S{index}")
        buyer.post(URL, {"supplier": f"S{index}", "warehouse": "MAIN",
                         "lines": [{"sku": "SKU-A", "quantity": 1, "unit_cost": "1.00"}]},
                   format="json")
    with django_assert_max_num_queries(6):
        response = buyer.get(URL)
    assert len(response.json()["results"]) == 4


def test_purchasing_needs_its_scope(make_client, sent):
    reader = make_client(scopes=["purchasing:read"])
    assert reader.get(URL).status_code == 200
    response = reader.post(f"{URL}{sent.number}/cancel/", {}, format="json")
    assert response.status_code == 403
    assert make_client(scopes=["inventory:write"]).get(URL).status_code == 403


def test_supplier_products_make_one_preferred_supplier_per_sku(buyer):
    SupplierFactory(code="ACME")
    SupplierFactory(code="BOLT")
    ProductFactory(sku="SKU-A")
    url = "/api/v1/supplier-products/"
    first = buyer.post(url, {"supplier": "ACME", "sku": "SKU-A", "unit_cost": "1.50",
                             "pack_size": 6, "is_preferred": True}, format="json")
    assert first.status_code == 201, first.json()
    second = buyer.post(url, {"supplier": "BOLT", "sku": "SKU-A", "unit_cost": "1.40",
                              "is_preferred": True}, format="json")
    assert second.status_code == 201
    assert dict(SupplierProduct.objects.values_list("supplier__code", "is_preferred")) == {
        "ACME": False, "BOLT": True,
    }
    bad = buyer.post(url, {"supplier": "ACME", "sku": "SKU-A", "unit_cost": "-1",
                           "pack_size": 0}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"unit_cost", "pack_size"}
    assert SupplierProduct.objects.get(supplier__code="ACME").pack_size == 6


def test_suppliers_validate_emails_and_currency(buyer):
    response = buyer.post(
        "/api/v1/suppliers/",
        {"code": "ACME", "name": "Acme", "contact_emails": "orders@acme.test, not-an-email",
         "currency": "usd"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"contact_emails", "currency"}
    response = buyer.post(
        "/api/v1/suppliers/",
        {"code": "ACME", "name": "Acme", "contact_emails": "orders@acme.test", "currency": "EUR",
         "lead_time_days": 21},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["lead_time_days"] == 21


def test_suggest_endpoint_drafts_for_stock_at_its_reorder_point(buyer):
    product = ProductFactory(sku="SKU-R")
    StockLevel.objects.create(
        product=product, warehouse=WarehouseFactory(code="MAIN"), reorder_point=3,
        reorder_quantity=9,
    )
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product, pack_size=5)
    response = buyer.post(f"{URL}suggest/", format="json")
    assert response.status_code == 200
    draft = PurchaseOrder.objects.get()
    assert response.json() == {
        "purchase_orders": [draft.number], "lines_added": 1, "lines_increased": 0,
        "without_supplier": [], "notices": 0,
    }
    assert list(draft.lines.values_list("quantity", flat=True)) == [15]  # 13, packs of 5
    again = buyer.post(f"{URL}suggest/", format="json").json()
    assert again["purchase_orders"] == [] and PurchaseOrder.objects.count() == 1


def test_marking_an_existing_offer_preferred_hands_the_role_over(buyer):
    """BIG-1001 is bought from ACME (preferred) and GLOBEX; GLOBEX becomes the preferred one."""
    product = ProductFactory(sku="BIG-1001")
    SupplierProductFactory(supplier=SupplierFactory(code="ACME"), product=product,
                           is_preferred=True)
    globex = SupplierProductFactory(supplier=SupplierFactory(code="GLOBEX"), product=product,
                                    is_preferred=False)
    response = buyer.post("/api/v1/supplier-products/", {
        "supplier": "GLOBEX", "sku": "BIG-1001", "unit_cost": "4.10", "is_preferred": True,
    }, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["id"] == globex.pk and response.json()["is_preferred"] is True
    assert dict(SupplierProduct.objects.values_list("supplier__code", "is_preferred")) == {
        "ACME": False, "GLOBEX": True,
    }


def test_below_minimum_refusal_says_how_to_override_and_the_override_is_audited(buyer):
    SupplierFactory(code="ACME", minimum_order_value="100.00")
    WarehouseFactory(code="MAIN")
    SupplierProductFactory(supplier__code="ACME", product=ProductFactory(sku="SKU-A"),
                           unit_cost="6.4500")
    number = buyer.post(
        URL, {"supplier": "ACME", "warehouse": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 10}]},
        format="json",
    ).json()["number"]
    refused = buyer.post(f"{URL}{number}/send/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Purchase order {number} is worth 64.50 USD; ACME takes orders from 100.00 USD. "
        "To send it anyway, send again with \"accept_below_minimum\": true."
    )
    assert not PurchaseOrderEvent.objects.filter(type="below_minimum_accepted").exists()
    assert buyer.post(f"{URL}{number}/send/", {"accept_below_minimum": True},
                      format="json").status_code == 200
    event = PurchaseOrderEvent.objects.get(type="below_minimum_accepted")
    assert event.actor == buyer.api_key.actor
    assert event.data == {"total": "64.50", "minimum_order_value": "100.00"}
