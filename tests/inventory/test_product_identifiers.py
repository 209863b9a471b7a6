"""A scan names one product: a barcode is unique and never another product's SKU, and a SKU
is never another product's barcode (found by fuzzing: a second product with a known barcode
blocked packing of the first)."""

import pytest
from django.db import IntegrityError

from inventory.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(make_client):
    return make_client(scopes=["catalog:write", "catalog:read"])


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"sku": "B-1", "barcode": "0123456789012"}, "barcode",
         "'0123456789012' is already the barcode of A-1."),
        ({"sku": "B-1", "barcode": "A-1"}, "barcode", "'A-1' is already the SKU of A-1."),
        ({"sku": "0123456789012"}, "sku", "'0123456789012' is already the barcode of A-1."),
    ],
)
def test_a_product_known_by_another_products_identifier_is_refused(client, body, field, message):
    ProductFactory(sku="A-1", barcode="0123456789012")
    response = client.post("/api/v1/products/", {"name": "B"} | body, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["errors"][field] == [message]
    assert Product.objects.count() == 1


def test_a_product_cannot_take_another_products_barcode_by_update(client):
    ProductFactory(sku="A-1", barcode="0123456789012")
    other = ProductFactory(sku="B-1", barcode="")
    response = client.patch(
        f"/api/v1/products/{other.sku}/", {"barcode": "0123456789012"}, format="json"
    )
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.barcode == ""


def test_products_without_a_barcode_are_many_and_the_database_refuses_a_shared_one():
    ProductFactory(sku="A-1", barcode="")
    ProductFactory(sku="B-1", barcode="")
    ProductFactory(sku="C-1", barcode="111")
    with pytest.raises(IntegrityError):
        Product.objects.create(sku="D-1", name="D", barcode="111")


def test_the_admin_form_names_the_product_that_has_the_barcode(admin_client):
    ProductFactory(sku="A-1", barcode="0123456789012")
    response = admin_client.post(
        "/admin/inventory/product/add/",
        {"sku": "B-1", "name": "B", "barcode": "0123456789012", "freight_class": "standard",
         "low_stock_threshold": 5, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "is already the barcode of A-1" in response.content.decode()
    assert Product.objects.count() == 1
