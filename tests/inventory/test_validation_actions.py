"""Every write of transfers, adjustments, suppliers and purchase orders refuses a body field it
does not know, before it acts: 400 `validation_error` naming the field, nothing changed."""

import pytest

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierProduct,
    Transfer,
)
from inventory.purchasing.services import PurchaseItem, purchase_order_create
from inventory.transfers import TransferItem, transfer_create, transfer_ship
from tests.factories import WarehouseFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def world(stock):
    """MAIN holds 10 x SKU-A below its reorder point (a suggestion would add to the draft);
    a draft and an in-transit transfer to EAST; ACME's draft and sent purchase orders."""
    level = stock("SKU-A", "MAIN", on_hand=10, reorder_point=50, reorder_quantity=10)
    east = WarehouseFactory(code="EAST")
    product, main = level.product, level.warehouse
    numbers = {
        "draft_transfer": transfer_create(
            source=main, destination=east, items=[TransferItem(product, 2)]
        ).number,
        "shipped_transfer": transfer_ship(
            transfer=transfer_create(source=main, destination=east,
                                     items=[TransferItem(product, 3)])
        ).number,
    }
    acme = SupplierFactory(code="ACME")
    SupplierProductFactory(supplier=acme, product=product)
    numbers["draft_order"] = purchase_order_create(
        supplier=acme, warehouse=main, items=[PurchaseItem(product, 5)]
    ).number
    sent = purchase_order_create(supplier=acme, warehouse=east, items=[PurchaseItem(product, 5)])
    from orders.replenishment import purchase_order_send_and_date

    purchase_order_send_and_date(purchase_order=sent, actor="test")
    numbers["sent_order"] = sent.number
    return numbers


def snapshot():
    return (
        list(Transfer.objects.values_list("number", "status").order_by("pk")),
        list(StockLevel.objects.values_list("pk", "on_hand", "allocated").order_by("pk")),
        StockMovement.objects.count(),
        list(Supplier.objects.values_list("code", "name", "currency").order_by("pk")),
        list(SupplierProduct.objects.values_list("pk", "unit_cost").order_by("pk")),
        list(PurchaseOrder.objects.values_list("number", "status", "expected_date")
             .order_by("pk")),
        list(PurchaseOrderLine.objects.values_list("pk", "quantity", "quantity_received")
             .order_by("pk")),
        PurchaseOrderEvent.objects.count(),
    )


SUPPLIER = {"code": "BOLT", "name": "Bolt", "contact_emails": "orders@bolt.test"}
ADJUSTMENT = {"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}

ACTIONS = [
    pytest.param("post", "/api/v1/transfers/",
                 {"source": "MAIN", "destination": "EAST",
                  "lines": [{"sku": "SKU-A", "quantity": 1}]}, id="transfer-create"),
    pytest.param("post", "/api/v1/transfers/{draft_transfer}/ship/", {}, id="transfer-ship"),
    pytest.param("post", "/api/v1/transfers/{draft_transfer}/cancel/", {},
                 id="transfer-cancel"),
    pytest.param("post", "/api/v1/transfers/{shipped_transfer}/receive/", {},
                 id="transfer-receive"),
    pytest.param("post", "/api/v1/inventory/adjustments/", {"items": [ADJUSTMENT]},
                 id="adjustments"),
    pytest.param("post", "/api/v1/suppliers/", SUPPLIER, id="supplier-create"),
    pytest.param("put", "/api/v1/suppliers/ACME/", {**SUPPLIER, "code": "ACME"},
                 id="supplier-update"),
    pytest.param("patch", "/api/v1/suppliers/ACME/", {"name": "Acme 2"},
                 id="supplier-partial-update"),
    pytest.param("post", "/api/v1/supplier-products/",
                 {"supplier": "ACME", "sku": "SKU-A", "unit_cost": "9.00"},
                 id="supplier-product-save"),
    pytest.param("post", "/api/v1/purchase-orders/",
                 {"supplier": "ACME", "warehouse": "EAST",
                  "lines": [{"sku": "SKU-A", "quantity": 1}]}, id="purchase-order-create"),
    pytest.param("post", "/api/v1/purchase-orders/{draft_order}/lines/",
                 {"sku": "SKU-A", "quantity": 7}, id="purchase-order-lines"),
    pytest.param("post", "/api/v1/purchase-orders/{sent_order}/expected-date/",
                 {"expected_date": "2099-01-01"}, id="purchase-order-expected-date"),
    pytest.param("post", "/api/v1/purchase-orders/{draft_order}/send/", {},
                 id="purchase-order-send"),
    pytest.param("post", "/api/v1/purchase-orders/{draft_order}/cancel/", {},
                 id="purchase-order-cancel"),
    pytest.param("post", "/api/v1/purchase-orders/{sent_order}/close/", {},
                 id="purchase-order-close"),
    pytest.param("post", "/api/v1/purchase-orders/{sent_order}/receipts/",
                 {"lines": [{"sku": "SKU-A", "quantity_received": 1}]},
                 id="purchase-order-receipts"),
    pytest.param("post", "/api/v1/purchase-orders/suggest/", {}, id="purchase-order-suggest"),
]


@pytest.mark.parametrize(("method", "url", "body"), ACTIONS)
def test_unknown_body_field_is_refused_before_the_action_runs(
    make_client, world, method, url, body
):
    client = make_client(scopes=["inventory:write", "purchasing:write"])
    before = snapshot()
    response = getattr(client, method)(
        url.format(**world), {**body, "bogus": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {"bogus": ["Unknown field."]}
    assert snapshot() == before


def test_transfer_action_serializer_takes_no_fields():
    from inventory.serializers import TransferActionSerializer

    assert TransferActionSerializer(data={}).is_valid()
    refused = TransferActionSerializer(data={"bogus": 1})
    assert not refused.is_valid()
    assert refused.errors == {"bogus": ["Unknown field."]}
