"""Transfers: services and the `/api/v1/transfers/` endpoints."""

import pytest

from inventory.errors import InsufficientStock
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.reconciliation import stock_mismatches
from inventory.services import Hold, stock_allocate
from inventory.transfers import (
    TransferItem,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from oms_project.errors import InvalidTransition, ValidationFailed
from tests.factories import ProductFactory, WarehouseFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def source_level(stock):
    WarehouseFactory(code="EAST")
    return stock("SKU-A", warehouse="MAIN", on_hand=10)


def on_hand(sku, code):
    level = StockLevel.objects.filter(product__sku=sku, warehouse__code=code).first()
    return None if level is None else level.on_hand


def draft(level, quantity=6):
    return transfer_create(
        source=level.warehouse, destination=WarehouseFactory(code="EAST"),
        items=[TransferItem(product=level.product, quantity=quantity)], actor="ops",
    )


def test_ship_then_receive_in_two_parts(source_level):
    transfer = draft(source_level)
    assert transfer.number == f"TR{transfer.pk:06d}"
    assert on_hand("SKU-A", "MAIN") == 10
    transfer = transfer_ship(transfer=transfer, actor="ops")
    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert (on_hand("SKU-A", "MAIN"), on_hand("SKU-A", "EAST")) == (4, None)
    transfer = transfer_receive(
        transfer=transfer, items=[TransferItem(product=source_level.product, quantity=2)]
    )
    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert on_hand("SKU-A", "EAST") == 2
    transfer = transfer_receive(transfer=transfer)
    assert transfer.status == Transfer.Status.RECEIVED
    assert transfer.received_at is not None
    assert on_hand("SKU-A", "EAST") == 6
    movements = StockMovement.objects.filter(reason="transfer").order_by("id")
    assert [(m.stock_level.warehouse.code, m.delta_on_hand, m.reference) for m in movements] == [
        ("MAIN", -6, f"transfer:{transfer.number}"),
        ("EAST", 2, f"transfer:{transfer.number}"),
        ("EAST", 4, f"transfer:{transfer.number}"),
    ]
    assert stock_mismatches() == []


def test_allocated_units_cannot_ship(source_level):
    stock_allocate(holds=[Hold(source_level.product_id, source_level.warehouse_id, 5, "o:1")])
    transfer = draft(source_level, quantity=6)
    with pytest.raises(InsufficientStock) as caught:
        transfer_ship(transfer=transfer)
    assert caught.value.short == [
        {"sku": "SKU-A", "warehouse": "MAIN", "requested": 6, "available": 5}
    ]
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert on_hand("SKU-A", "MAIN") == 10


def test_over_receipt_is_refused(source_level):
    transfer = transfer_ship(transfer=draft(source_level))
    with pytest.raises(ValidationFailed) as caught:
        transfer_receive(transfer=transfer,
                         items=[TransferItem(product=source_level.product, quantity=7)])
    assert caught.value.errors == {
        "lines": {"0": {"quantity": ["Only 6 of SKU-A are still outstanding."]}}
    }
    assert on_hand("SKU-A", "EAST") is None


def test_cancel_only_before_shipping(source_level):
    cancelled = transfer_cancel(transfer=draft(source_level), actor="ops")
    assert cancelled.status == Transfer.Status.CANCELLED
    shipped = transfer_ship(transfer=draft(source_level))
    with pytest.raises(InvalidTransition):
        transfer_cancel(transfer=shipped)
    with pytest.raises(InvalidTransition):
        transfer_ship(transfer=shipped)
    assert on_hand("SKU-A", "MAIN") == 4


def test_create_refuses_bad_input(source_level):
    with pytest.raises(ValidationFailed) as caught:
        transfer_create(source=source_level.warehouse, destination=source_level.warehouse,
                        items=[])
    assert set(caught.value.errors) == {"destination", "lines"}
    assert Transfer.objects.count() == 0


def test_line_errors_are_keyed_by_position(source_level):
    other = ProductFactory(sku="SKU-B")
    with pytest.raises(ValidationFailed) as caught:
        transfer_create(
            source=source_level.warehouse, destination=WarehouseFactory(code="EAST"),
            items=[TransferItem(source_level.product, 1), TransferItem(other, 1),
                   TransferItem(source_level.product, 2)],
        )
    assert caught.value.errors == {"lines": {"2": {"sku": ["SKU-A appears more than once."]}}}
    assert Transfer.objects.count() == 0


def test_receipt_line_errors_are_keyed_by_position(source_level):
    transfer = transfer_ship(transfer=draft(source_level))
    with pytest.raises(ValidationFailed) as caught:
        transfer_receive(transfer=transfer, items=[
            TransferItem(source_level.product, 1),
            TransferItem(ProductFactory(sku="SKU-B"), 1),
            TransferItem(source_level.product, 6),
        ])
    assert caught.value.errors == {"lines": {
        "1": {"sku": ["SKU-B is not on this transfer."]},
        "2": {"quantity": ["Only 6 of SKU-A are still outstanding."]},
    }}
    assert on_hand("SKU-A", "EAST") is None


def deactivate(code):
    Warehouse.objects.filter(code=code).update(is_active=False)


@pytest.mark.parametrize("field", ["source", "destination"])
def test_create_refuses_an_inactive_location(source_level, field):
    deactivate({"source": "MAIN", "destination": "EAST"}[field])
    with pytest.raises(ValidationFailed) as caught:
        draft(source_level)
    code = {"source": "MAIN", "destination": "EAST"}[field]
    assert caught.value.errors == {field: [f"Warehouse {code} is inactive."]}
    assert Transfer.objects.count() == 0


@pytest.mark.parametrize("field", ["source", "destination"])
def test_ship_refuses_a_location_deactivated_after_the_draft(source_level, field):
    transfer = draft(source_level)
    code = {"source": "MAIN", "destination": "EAST"}[field]
    deactivate(code)
    with pytest.raises(ValidationFailed) as caught:
        transfer_ship(transfer=transfer)
    assert caught.value.errors == {field: [f"Warehouse {code} is inactive."]}
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert on_hand("SKU-A", "MAIN") == 10
    assert not StockMovement.objects.filter(reason="transfer").exists()


def test_units_in_transit_are_received_into_a_destination_deactivated_meanwhile(source_level):
    """Deliberately allowed: the units have left the source and cannot go back by themselves;
    refusing them would strand them in transit, counted nowhere."""
    transfer = transfer_ship(transfer=draft(source_level))
    deactivate("EAST")
    transfer = transfer_receive(transfer=transfer)
    assert transfer.status == Transfer.Status.RECEIVED
    assert on_hand("SKU-A", "EAST") == 6
    assert stock_mismatches() == []


# --- API -----------------------------------------------------------------------------------


@pytest.fixture
def writer(make_client):
    return make_client(scopes=["inventory:write"])


def test_api_create_ship_receive(writer, source_level):
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST", "lines": [{"sku": "SKU-A", "quantity": 4}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert response.json()["status"] == "draft"
    assert response.json()["lines"] == [
        {"sku": "SKU-A", "quantity": 4, "quantity_received": 0, "quantity_lost": 0}
    ]
    response = writer.post(f"/api/v1/transfers/{number}/ship/")
    assert response.json()["status"] == "in_transit"
    response = writer.post(
        f"/api/v1/transfers/{number}/receive/",
        {"lines": [{"sku": "SKU-A", "quantity": 4}]}, format="json",
    )
    assert response.json()["status"] == "received"
    assert on_hand("SKU-A", "EAST") == 4
    assert writer.get(f"/api/v1/transfers/{number}/").json()["status"] == "received"
    assert [row["number"] for row in writer.get("/api/v1/transfers/").json()["results"]] == [
        number
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "MAIN", "destination": "NOPE", "lines": [{"sku": "SKU-A", "quantity": 1}]},
         "destination"),
        ({"source": "MAIN", "destination": "EAST", "lines": [{"sku": "X", "quantity": 1}]},
         "lines"),
        ({"source": "MAIN", "destination": "EAST", "lines": [{"sku": "SKU-A", "quantity": 1.5}]},
         "lines"),
        ({"source": "MAIN", "destination": "EAST", "lines": [{"sku": "SKU-A", "quantity": -1}]},
         "lines"),
        ({"source": "MAIN", "destination": "EAST", "lines": []}, "lines"),
    ],
)
def test_api_create_refuses_bad_input(writer, source_level, body, field):
    response = writer.post("/api/v1/transfers/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert Transfer.objects.count() == 0


def test_api_ship_twice_is_invalid_transition(writer, source_level):
    transfer = draft(source_level)
    assert writer.post(f"/api/v1/transfers/{transfer.number}/ship/").status_code == 200
    response = writer.post(f"/api/v1/transfers/{transfer.number}/ship/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert on_hand("SKU-A", "MAIN") == 4


def test_api_read_only_key_cannot_ship(make_client, source_level):
    reader = make_client(scopes=["inventory:read"])
    transfer = draft(source_level)
    response = reader.post(f"/api/v1/transfers/{transfer.number}/ship/")
    assert response.status_code == 403
    assert reader.get(f"/api/v1/transfers/{transfer.number}/").status_code == 200
    transfer.refresh_from_db()
    assert transfer.status == "draft"


def test_api_list_query_count_is_constant(writer, source_level, django_assert_max_num_queries):
    for _ in range(5):
        draft(source_level, quantity=1)
    with django_assert_max_num_queries(4):
        response = writer.get("/api/v1/transfers/")
    assert len(response.json()["results"]) == 5


def run_button(client, transfer, action):
    from django.urls import reverse

    url = reverse("admin:inventory_transfer_object_action", args=[transfer.pk, action])
    return client.post(url, follow=True)


def test_admin_buttons_ship_then_receive_with_ledger_rows(admin_client, admin_user, source_level):
    transfer = draft(source_level)
    page = admin_client.get(f"/admin/inventory/transfer/{transfer.pk}/change/").content.decode()
    assert ">Ship<" in page and ">Cancel<" in page and "Receive all" not in page

    response = run_button(admin_client, transfer, "ship")
    assert "shipped; its units are in transit" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == "in_transit"
    assert (on_hand("SKU-A", "MAIN"), on_hand("SKU-A", "EAST")) == (4, None)

    run_button(admin_client, transfer, "receive")
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert (on_hand("SKU-A", "MAIN"), on_hand("SKU-A", "EAST")) == (4, 6)
    actors = set(
        StockMovement.objects.filter(reason="transfer").values_list("actor", flat=True)
    )
    assert actors == {f"user:{admin_user.username}"}
    assert stock_mismatches() == []


def test_admin_ship_refused_for_allocated_units_changes_nothing(admin_client, source_level):
    stock_allocate(holds=[Hold(source_level.product_id, source_level.warehouse_id, 8, "o:1")])
    transfer = draft(source_level)
    response = run_button(admin_client, transfer, "ship")
    assert "SKU-A" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == "draft"
    assert on_hand("SKU-A", "MAIN") == 10


def test_admin_cancel_and_buttons_that_no_longer_apply(admin_client, source_level):
    transfer = draft(source_level)
    run_button(admin_client, transfer, "cancel")
    transfer.refresh_from_db()
    assert transfer.status == "cancelled"
    response = run_button(admin_client, transfer, "ship")
    assert "does not apply" in response.content.decode()
    assert on_hand("SKU-A", "MAIN") == 10


def test_api_line_errors_are_keyed_by_position_whichever_check_found_them(
    writer, source_level
):
    """README: an error about an item of a list is keyed by its position, then its field."""
    ProductFactory(sku="SKU-B")
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST",
         "lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "NOPE", "quantity": 1},
                   {"sku": "SKU-A", "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"lines": {"1": {"sku": ["Unknown SKU 'NOPE'."]}}}
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST",
         "lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-A", "quantity": 1}]},
        format="json",
    )
    assert response.json()["errors"] == {
        "lines": {"1": {"sku": ["SKU-A appears more than once."]}}
    }
    assert Transfer.objects.count() == 0
    transfer = transfer_ship(transfer=draft(source_level))
    response = writer.post(
        f"/api/v1/transfers/{transfer.number}/receive/",
        {"lines": [{"sku": "SKU-B", "quantity": 1}, {"sku": "GONE", "quantity": 1}]},
        format="json",
    )
    assert response.json()["errors"] == {"lines": {"1": {"sku": ["Unknown SKU 'GONE'."]}}}
    response = writer.post(
        f"/api/v1/transfers/{transfer.number}/receive/",
        {"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}]},
        format="json",
    )
    assert response.json()["errors"] == {
        "lines": {"1": {"sku": ["SKU-B is not on this transfer."]}}
    }
    assert on_hand("SKU-A", "EAST") is None


def test_api_unknown_sku_is_keyed_by_position_like_a_bad_quantity(writer, source_level):
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST",
         "lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "NOPE", "quantity": 1},
                   {"sku": "SKU-A", "quantity": 0}]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["lines"].keys() == {"2"}  # the serializer's own check
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST",
         "lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"lines": {"1": {"sku": ["Unknown SKU 'NOPE'."]}}}
    assert Transfer.objects.count() == 0


@pytest.mark.parametrize(("field", "code"), [("source", "MAIN"), ("destination", "EAST")])
def test_api_refuses_an_inactive_location_on_create_and_ship(writer, source_level, field, code):
    deactivate(code)
    response = writer.post(
        "/api/v1/transfers/",
        {"source": "MAIN", "destination": "EAST", "lines": [{"sku": "SKU-A", "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: [f"Warehouse {code} is inactive."]}
    assert Transfer.objects.count() == 0
    Warehouse.objects.filter(code=code).update(is_active=True)
    transfer = draft(source_level)
    deactivate(code)
    response = writer.post(f"/api/v1/transfers/{transfer.number}/ship/")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: [f"Warehouse {code} is inactive."]}
    assert Transfer.objects.get().status == "draft"
    assert on_hand("SKU-A", "MAIN") == 10


def test_receiving_past_the_on_hand_limit_is_refused_and_changes_nothing(source_level):
    from inventory.errors import InvalidQuantity
    from inventory.quantities import MAX_QUANTITY

    transfer = transfer_ship(transfer=draft(source_level), actor="ops")
    east = StockLevel.objects.create(
        product=source_level.product, warehouse=Warehouse.objects.get(code="EAST"),
        on_hand=MAX_QUANTITY - 1,
    )
    with pytest.raises(InvalidQuantity, match="would exceed 1,000,000,000 units on hand"):
        transfer_receive(transfer=transfer)
    east.refresh_from_db()
    transfer.refresh_from_db()
    assert (east.on_hand, transfer.status) == (MAX_QUANTITY - 1, Transfer.Status.IN_TRANSIT)
