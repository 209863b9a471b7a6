"""Packing over the API takes what a scanner reads: a SKU or a barcode per unit, or
{"sku", "quantity"} for several units, mixed freely, as the pack service counts them."""

import pytest

from orders.models import FulfillmentOrder, OrderEvent
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(make_client):
    return make_client(scopes=["orders:write"], name="wms")


@pytest.fixture
def picking(shop, stock, wms):
    """A fulfillment order of 2 x A at EAST, being picked."""
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert wms.post(f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/pick/").status_code == 200
    return fulfillment_order


def pack(client, fulfillment_order, items):
    return client.post(
        f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/pack/", {"items": items},
        format="json",
    )


def test_pack_accepts_plain_skus_one_unit_each(picking, wms):
    response = pack(wms, picking, ["A", "A"])

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "packed"
    event = OrderEvent.objects.get(order_id=picking.order_id, to_status="packed")
    assert event.data["items"] == {"A": 2}


def test_pack_accepts_a_barcode_string(picking, wms, shop):
    product = shop["products"]["A"]
    product.barcode = "4006381333931"
    product.save(update_fields=["barcode"])

    response = pack(wms, picking, ["4006381333931", "A"])

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "packed"


def test_pack_accepts_the_dict_form_and_mixes_both(picking, wms):
    response = pack(wms, picking, [{"sku": "A"}, "A"])

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "packed"


def test_pack_accepts_the_dict_form_with_a_quantity(picking, wms):
    response = pack(wms, picking, [{"sku": "A", "quantity": 2}])

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "packed"


def test_plain_skus_are_verified_like_counted_ones(picking, wms):
    response = pack(wms, picking, ["A", "A", "A", "B"])

    assert response.status_code == 400
    assert response.json()["code"] == "pack_mismatch"
    assert response.json()["errors"] == {
        "items": {"A": ["Expected 2, scanned 3."], "B": ["Not on this fulfillment order "
                                                        "(scanned 1)."]}
    }
    picking.refresh_from_db()
    assert (picking.status, picking.packed_at) == ("picking", None)


@pytest.mark.parametrize(
    ("items", "errors"),
    [
        ([], {"items": ["This list may not be empty."]}),
        (["A", ""], {"items": {"1": ["This field may not be blank."]}}),
        (["A", 7], {"items": {"1": ['Give a SKU, a barcode or {"sku": ..., "quantity": ...}.']}}),
        (["A", {"quantity": 1}], {"items": {"1": {"sku": ["This field is required."]}}}),
        (["A", {"sku": "A", "quantity": 0}],
         {"items": {"1": {"quantity": ["Ensure this value is greater than or equal to 1."]}}}),
        (["x" * 65], {"items": {"0": ["Ensure this field has no more than 64 characters."]}}),
    ],
)
def test_malformed_scans_are_refused_item_by_item(picking, wms, items, errors):
    response = pack(wms, picking, items)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == errors
    picking.refresh_from_db()
    assert (picking.status, picking.packed_at) == ("picking", None)


def test_pack_schema_documents_both_item_forms(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/fulfillment-orders/{id}/pack/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]

    forms = component["properties"]["items"]["items"]["oneOf"]

    assert [form["type"] for form in forms] == ["string", "object"]
    assert forms[1]["required"] == ["sku"]
