"""What a channel key may read of inventory: stock at the locations its channel sells from.

Stock levels (list, detail, summary) and availability are confined to the channel's own
locations; other locations' rows are filtered out or 404. Transfers and stock import jobs are
back-office work: a channel key gets 403 unless `inventory:read` was granted on the key itself.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import StockLevel, Transfer
from inventory.transfers import TransferItem, transfer_create
from tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db

STOCK = "/api/v1/stock-levels/"
IMPORTS = "/api/v1/inventory/imports/"


@pytest.fixture
def levels(channel, stock):
    """`web` sells from MAIN only; STORE-SFO is a retail store of another channel."""
    stock("SKU-A", "MAIN", on_hand=5)
    stock("SKU-A", "STORE-SFO", on_hand=9)
    stock("SKU-B", "STORE-SFO", on_hand=4)
    return channel


@pytest.fixture
def transfer(levels):
    source = StockLevel.objects.get(product__sku="SKU-A", warehouse__code="STORE-SFO")
    return transfer_create(
        source=source.warehouse, destination=WarehouseFactory(code="MAIN"),
        items=[TransferItem(product=source.product, quantity=2)], actor="ops",
    )


@pytest.fixture
def import_job(levels, staff_client):
    upload = SimpleUploadedFile(
        "stock.csv", b"sku,warehouse,on_hand\nNOPE,STORE-SFO,1\n", content_type="text/csv"
    )
    response = staff_client.post(IMPORTS, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def places(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(f"{row['sku']}@{row['warehouse']}" for row in response.json()["results"])


def assert_forbidden(response) -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "permission_denied"


# --- stock levels ----------------------------------------------------------------------------


def test_channel_key_lists_stock_of_its_own_locations_only(channel_client, levels):
    assert places(channel_client.get(STOCK)) == ["SKU-A@MAIN"]
    assert places(channel_client.get(f"{STOCK}?warehouse=STORE-SFO")) == []
    assert places(channel_client.get(f"{STOCK}?sku=SKU-B")) == []


def test_channel_key_gets_404_for_a_level_at_another_location(channel_client, levels):
    theirs = StockLevel.objects.get(product__sku="SKU-A", warehouse__code="STORE-SFO")
    mine = StockLevel.objects.get(product__sku="SKU-A", warehouse__code="MAIN")

    response = channel_client.get(f"{STOCK}{theirs.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert channel_client.get(f"{STOCK}{mine.pk}/").json()["on_hand"] == 5


def test_channel_key_summary_counts_its_own_locations_only(channel_client, levels):
    response = channel_client.get(f"{STOCK}summary/")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(row["sku"], row["on_hand"]) for row in rows] == [("SKU-A", 5)]
    assert [place["warehouse"] for place in rows[0]["warehouses"]] == ["MAIN"]


def test_integration_key_sees_stock_everywhere(make_client, levels):
    reader = make_client(scopes=["inventory:read"])
    assert places(reader.get(STOCK)) == ["SKU-A@MAIN", "SKU-A@STORE-SFO", "SKU-B@STORE-SFO"]


def test_channel_key_availability_breakdown_lists_its_own_locations_only(channel_client, levels):
    response = channel_client.get("/api/v1/availability/?skus=SKU-A,SKU-B&breakdown=1")
    assert response.status_code == 200, response.content
    assert "STORE-SFO" not in response.content.decode()


# --- transfers and import jobs -----------------------------------------------------------


def test_channel_key_cannot_read_or_create_transfers(channel_client, transfer):
    assert_forbidden(channel_client.get("/api/v1/transfers/"))
    assert_forbidden(channel_client.get(f"/api/v1/transfers/{transfer.number}/"))
    assert_forbidden(channel_client.post(
        "/api/v1/transfers/",
        {"source": "STORE-SFO", "destination": "MAIN", "lines": [{"sku": "SKU-A", "quantity": 1}]},
        format="json",
    ))
    assert_forbidden(channel_client.post(f"/api/v1/transfers/{transfer.number}/cancel/"))
    assert list(Transfer.objects.values_list("status", flat=True)) == ["draft"]


def test_channel_key_cannot_read_import_jobs(channel_client, import_job):
    assert_forbidden(channel_client.get(f"{IMPORTS}{import_job}/"))
    assert_forbidden(channel_client.get(f"{IMPORTS}{import_job}/errors.csv",
                                        HTTP_ACCEPT="text/csv"))


def test_channel_key_granted_inventory_read_reads_transfers_and_import_jobs(
    make_client, channel, transfer, import_job
):
    granted = make_client(channel=channel, scopes=["inventory:read"])
    assert granted.get(f"/api/v1/transfers/{transfer.number}/").status_code == 200
    assert granted.get(f"{IMPORTS}{import_job}/").status_code == 200
    assert_forbidden(granted.post(f"/api/v1/transfers/{transfer.number}/cancel/"))


def test_integration_key_reads_transfers_and_import_jobs(make_client, transfer, import_job):
    reader = make_client(scopes=["inventory:read"])
    assert [row["number"] for row in reader.get("/api/v1/transfers/").json()["results"]] == [
        transfer.number
    ]
    assert reader.get(f"{IMPORTS}{import_job}/").json()["error_rows"] == 1
    response = reader.get(f"{IMPORTS}{import_job}/errors.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
