"""`POST /api/v1/inventory/adjustments/`: bulk set/delta with per-item results."""

import pytest

from inventory.adjustments import Adjustment, stock_adjust_batch
from inventory.models import StockLevel, StockMovement
from inventory.services import Hold, stock_allocate
from oms_project.errors import ValidationFailed

pytestmark = pytest.mark.django_db

URL = "/api/v1/inventory/adjustments/"


@pytest.fixture
def writer(make_client):
    return make_client(scopes=["inventory:write"])


@pytest.fixture
def levels(stock):
    first = stock("SKU-A", "MAIN", on_hand=10)
    second = stock("SKU-B", "MAIN", on_hand=5)
    stock_allocate(holds=[Hold(second.product_id, second.warehouse_id, 4, "order_line:1")])
    return first, second


def post(client, body, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def numbers():
    return dict(StockLevel.objects.values_list("product__sku", "on_hand"))


def test_items_apply_independently(writer, levels):
    response = post(writer, {"items": [
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 7, "reason": "count", "note": "aisle 3"},
        {"sku": "SKU-B", "warehouse": "MAIN", "set": 2, "reason": "count"},
        {"sku": "SKU-A", "warehouse": "EAST", "delta": 1, "reason": "receipt"},
        {"sku": "NOPE", "warehouse": "MAIN", "delta": 1, "reason": "receipt"},
    ]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["applied"], body["failed"], body["unchanged"]) == (1, 3, 0)
    results = body["results"]
    assert results[0] == {"index": 0, "sku": "SKU-A", "warehouse": "MAIN", "status": "applied",
                          "on_hand": 7, "allocated": 0, "available": 7, "error": None}
    assert results[1]["error"]["code"] == "below_allocated"
    assert results[2]["error"]["code"] == "unknown_warehouse"
    assert results[3]["error"]["code"] == "unknown_sku"
    assert numbers() == {"SKU-A": 7, "SKU-B": 5}
    movement = StockMovement.objects.filter(reason="count").get()
    assert (movement.delta_on_hand, movement.note, movement.reference) == (
        -3, "aisle 3", "adjustments:key-1"
    )
    assert movement.actor == f"api_key:{writer.api_key.prefix}"


def test_stale_expected_on_hand_is_409_for_that_item(writer, levels):
    response = post(writer, {"items": [
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 3, "expected_on_hand": 9, "reason": "count"},
        {"sku": "SKU-B", "warehouse": "MAIN", "delta": 2, "expected_on_hand": 5,
         "reason": "adjustment"},
    ]})
    results = response.json()["results"]
    assert results[0]["error"] == {"code": "stock_changed", "status": 409,
                                   "detail": "Expected 9 on hand but found 10.",
                                   "current_on_hand": 10}
    assert results[1]["status"] == "applied"
    assert numbers() == {"SKU-A": 10, "SKU-B": 7}


def test_atomic_mode_is_all_or_nothing(writer, levels):
    response = post(writer, {"atomic": True, "items": [
        {"sku": "SKU-A", "warehouse": "MAIN", "delta": 5, "reason": "receipt"},
        {"sku": "SKU-B", "warehouse": "MAIN", "delta": -2, "reason": "adjustment"},
    ]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "adjustments_rejected"
    assert [row["status"] for row in body["errors"]] == ["not_applied", "failed"]
    assert body["errors"][1]["error"]["code"] == "below_allocated"
    assert numbers() == {"SKU-A": 10, "SKU-B": 5}
    assert StockMovement.objects.filter(reason__in=["receipt", "adjustment"]).count() == 2


def test_atomic_mode_applies_everything_when_all_succeed(writer, levels):
    response = post(writer, {"atomic": True, "items": [
        {"sku": "SKU-B", "warehouse": "MAIN", "delta": 1, "reason": "return_restock"},
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 10, "reason": "count"},
    ]})
    assert response.status_code == 200
    assert [row["status"] for row in response.json()["results"]] == ["applied", "unchanged"]
    assert numbers() == {"SKU-A": 10, "SKU-B": 6}


def test_idempotency_key_required_and_replayed(writer, levels):
    body = {"items": [{"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}]}
    missing = writer.post(URL, body, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    first = post(writer, body, key="same")
    second = post(writer, body, key="same")
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert numbers()["SKU-A"] == 11


@pytest.mark.parametrize(
    "item",
    [
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 1, "delta": 1, "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "set": -1, "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 1.5, "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "set": "4", "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "set": 10**9 + 1, "reason": "count"},
        {"sku": "SKU-A", "warehouse": "MAIN", "delta": 0, "reason": "adjustment"},
        {"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "allocation"},
        {"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt", "extra": 1},
    ],
)
def test_malformed_items_refuse_the_whole_request(writer, levels, item):
    good = {"sku": "SKU-B", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}
    response = post(writer, {"items": [good, item]})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert numbers() == {"SKU-A": 10, "SKU-B": 5}


def test_duplicate_items_and_too_many_items_are_refused(writer, levels):
    item = {"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}
    duplicate = post(writer, {"items": [item, item]}, key="dup")
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"1": ["SKU-A at MAIN already appears as item 0."]}
    too_many = post(writer, {"items": [item] * 1001}, key="many")
    assert too_many.status_code == 400
    assert "items" in too_many.json()["errors"]
    assert numbers() == {"SKU-A": 10, "SKU-B": 5}


def test_more_items_than_the_bulk_limit_are_refused(writer, levels, settings):
    assert settings.OMS_MAX_BULK_ITEMS == 500
    items = [
        {"sku": f"SKU-{number:03d}", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}
        for number in range(501)
    ]
    movements_before = StockMovement.objects.count()

    response = post(writer, {"items": items}, key="too-many")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"]["items"] == ["At most 500 items per request; 501 given."]
    assert numbers() == {"SKU-A": 10, "SKU-B": 5}
    assert StockMovement.objects.count() == movements_before


def test_the_bulk_limit_of_items_is_accepted(writer, levels):
    items = [{"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}] + [
        {"sku": f"SKU-{number:03d}", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}
        for number in range(499)
    ]

    response = post(writer, {"items": items}, key="at-limit")

    assert response.status_code != 400, response.json()
    assert len(response.json()["results"]) == 500
    assert numbers()["SKU-A"] == 11


def test_the_batch_service_refuses_more_items_than_the_bulk_limit(levels):
    item = Adjustment(sku="SKU-A", warehouse="MAIN", reason="receipt", delta=1)
    with pytest.raises(ValidationFailed) as error:
        stock_adjust_batch(adjustments=[item] * 501, actor="test")
    assert error.value.detail == "At most 500 items per request."
    assert numbers() == {"SKU-A": 10, "SKU-B": 5}


def test_needs_inventory_write(make_client, levels):
    reader = make_client(scopes=["inventory:read"])
    body = {"items": [{"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"}]}
    assert post(reader, body).status_code == 403
    assert numbers()["SKU-A"] == 10


def test_on_hand_cannot_rise_over_the_limit(writer, levels):
    """Deltas within the per-quantity limit that would add up past it are refused per item."""
    big = {"sku": "SKU-A", "warehouse": "MAIN", "delta": 600_000_000, "reason": "receipt"}
    first = post(writer, {"items": [big]}, key="big-1").json()
    assert first["results"][0]["status"] == "applied"
    second = post(writer, {"items": [big]}, key="big-2").json()
    error = second["results"][0]["error"]
    assert error["code"] == "invalid_quantity"
    assert error["detail"] == (
        "On hand would become 1,200,000,010, over the limit of 1,000,000,000 (600,000,010 now)."
    )
    assert numbers()["SKU-A"] == 600_000_010
    assert not StockMovement.objects.filter(reference="adjustments:big-2").exists()


def test_the_database_refuses_on_hand_over_the_limit(levels):
    from django.db import IntegrityError, transaction
    from django.db.models import F

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=levels[0].pk).update(on_hand=F("on_hand") + 10**9)


@pytest.mark.parametrize("atomic", [False, True])
def test_an_inactive_warehouse_fails_its_items(writer, levels, stock, atomic):
    from warehouses.models import Warehouse

    stock("SKU-A", "EAST", on_hand=3)
    Warehouse.objects.filter(code="EAST").update(is_active=False)
    response = post(writer, {"atomic": atomic, "items": [
        {"sku": "SKU-A", "warehouse": "MAIN", "delta": 1, "reason": "receipt"},
        {"sku": "SKU-A", "warehouse": "EAST", "set": 0, "reason": "count"},
    ]}, key=f"inactive-{atomic}")
    rows = response.json()["errors" if atomic else "results"]
    assert rows[1]["status"] == "failed"
    assert rows[1]["error"] == {"code": "inactive_warehouse", "status": 400,
                                "detail": "Warehouse EAST is inactive."}
    assert dict(StockLevel.objects.filter(warehouse__code="EAST")
                .values_list("product__sku", "on_hand")) == {"SKU-A": 3}
    assert StockMovement.objects.filter(stock_level__warehouse__code="EAST").count() == 1
    if atomic:
        assert response.status_code == 400
        assert StockLevel.objects.get(product__sku="SKU-A", warehouse__code="MAIN").on_hand == 10
    else:
        assert response.json()["failed"] == 1
        assert StockLevel.objects.get(product__sku="SKU-A", warehouse__code="MAIN").on_hand == 11
