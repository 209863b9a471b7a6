"""Writes to locations and products go through services that refuse clashes cleanly."""

import pytest

from inventory.catalog import product_create, product_delete, product_update
from inventory.models import Product
from inventory.services import stock_receive
from oms_project.errors import Conflict, ValidationFailed
from warehouses.models import Warehouse
from warehouses.services import warehouse_create, warehouse_delete, warehouse_update

pytestmark = pytest.mark.django_db


def test_duplicate_codes_and_skus_are_conflicts_and_write_nothing():
    warehouse_create(code="EAST", name="East", country="US")
    product_create(sku="A", name="A")
    with pytest.raises(Conflict) as error:
        warehouse_create(code="EAST", name="Again", country="US")
    assert error.value.errors == {"code": ["A location with this code already exists."]}
    with pytest.raises(Conflict):
        product_create(sku="A", name="Again")
    assert Warehouse.objects.count() == 1 and Product.objects.count() == 1


def test_renaming_onto_a_taken_code_is_refused():
    warehouse_create(code="EAST", name="East", country="US")
    west = warehouse_create(code="WEST", name="West", country="US")
    with pytest.raises(Conflict):
        warehouse_update(warehouse=west, code="EAST")
    assert Warehouse.objects.get(pk=west.pk).code == "WEST"
    other = product_create(sku="B", name="B")
    product_create(sku="A", name="A")
    with pytest.raises(Conflict):
        product_update(product=other, sku="A")
    assert Product.objects.get(pk=other.pk).sku == "B"


def test_locations_and_products_with_stock_cannot_be_deleted():
    warehouse = warehouse_create(code="EAST", name="East", country="US")
    product = product_create(sku="A", name="A")
    stock_receive(product=product, warehouse=warehouse, quantity=1, actor="test")
    with pytest.raises(Conflict):
        warehouse_delete(warehouse=warehouse)
    with pytest.raises(Conflict):
        product_delete(product=product)
    assert Warehouse.objects.count() == 1 and Product.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ships_to_countries": "US"}, "ships_to_countries"),
        ({"accepted_freight_classes": 5}, "accepted_freight_classes"),
        ({"contact_emails": ["nobody"]}, "contact_emails"),
    ],
)
def test_location_list_settings_must_be_valid_lists(changes, field):
    west = warehouse_create(code="WEST", name="West", country="US", ships_to_countries=["US"])
    with pytest.raises(ValidationFailed) as error:
        warehouse_update(warehouse=west, **changes)
    assert list(error.value.errors) == [field]
    with pytest.raises(ValidationFailed):
        warehouse_create(code="EAST", name="East", country="US", **changes)
    west.refresh_from_db()
    assert west.ships_to_countries == ["US"]
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["WEST"]
