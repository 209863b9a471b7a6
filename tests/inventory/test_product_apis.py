"""Products (CRUD with `catalog:write`) and stock levels (read, filtered) over the API."""

import json

import pytest
from django.core.exceptions import ValidationError

from inventory import services
from inventory.models import Product, StockLevel
from tests.factories import ProductFactory, StockLevelFactory, WarehouseFactory
from tests.oms_project.test_api_auth import assert_problem

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
STOCK = "/api/v1/stock-levels/"


def post_json(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def valid_product(**overrides) -> dict:
    payload = {
        "sku": "TEE-RED-M",
        "name": "Red tee, medium",
        "external_id": "P-100",
        "barcode": "0123456789012",
        "weight_grams": 180,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 10,
        "freight_class": "standard",
        "low_stock_threshold": 3,
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def catalog_writer(make_client):
    return make_client(scopes=["catalog:write"])


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


# --- products: writes and scopes -----------------------------------------------------------


def test_create_product_with_catalog_write(catalog_writer):
    response = post_json(catalog_writer, PRODUCTS, valid_product())
    assert response.status_code == 201, response.content
    product = Product.objects.get(sku="TEE-RED-M")
    assert (product.weight_grams, product.freight_class, product.is_active) == (
        180, "standard", True
    )
    assert response.json()["sku"] == "TEE-RED-M"


@pytest.mark.parametrize("scopes", [["catalog:read"], ["inventory:write"]])
def test_create_product_without_catalog_write_is_403(make_client, scopes):
    response = post_json(make_client(scopes=scopes), PRODUCTS, valid_product())
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Product.objects.count() == 0


def test_channel_key_reads_catalog_but_cannot_change_it(channel_client):
    ProductFactory(sku="READ-ME", name="Readable")
    assert skus(channel_client.get(PRODUCTS)) == ["READ-ME"]
    response = channel_client.patch(f"{PRODUCTS}READ-ME/", {"name": "X"}, format="json")
    assert_problem(response, 403, "permission_denied")
    assert Product.objects.get().name == "Readable"


def test_patch_and_delete_product(catalog_writer):
    ProductFactory(sku="EDIT", name="Before")
    response = catalog_writer.patch(f"{PRODUCTS}EDIT/", {"name": "After"}, format="json")
    assert response.status_code == 200, response.content
    assert Product.objects.get(sku="EDIT").name == "After"
    assert catalog_writer.delete(f"{PRODUCTS}EDIT/").status_code == 204
    assert Product.objects.count() == 0


def test_delete_product_with_stock_is_409_and_keeps_it(catalog_writer):
    product = ProductFactory(sku="STOCKED")
    StockLevelFactory(product=product, warehouse=WarehouseFactory(code="MAIN"))
    assert_problem(catalog_writer.delete(f"{PRODUCTS}STOCKED/"), 409, "conflict")
    assert Product.objects.filter(sku="STOCKED").exists()


def test_renaming_a_sku_in_use_is_409_and_keeps_it(catalog_writer):
    product = ProductFactory(sku="STOCKED")
    StockLevelFactory(product=product, warehouse=WarehouseFactory(code="MAIN"))
    response = catalog_writer.patch(f"{PRODUCTS}STOCKED/", {"sku": "RENAMED"}, format="json")
    assert_problem(response, 409, "conflict")
    assert "create a product with the new SKU" in response.json()["errors"]["sku"][0]
    assert Product.objects.get(pk=product.pk).sku == "STOCKED"
    # Other fields of a product in use still change; an unused product's SKU may change.
    response = catalog_writer.patch(f"{PRODUCTS}STOCKED/", {"name": "New name"}, format="json")
    assert response.status_code == 200, response.content
    ProductFactory(sku="FRESH")
    response = catalog_writer.patch(f"{PRODUCTS}FRESH/", {"sku": "FRESH-2"}, format="json")
    assert response.status_code == 200, response.content


def test_full_clean_refuses_renaming_a_sku_in_use():
    product = ProductFactory(sku="INUSE")
    StockLevelFactory(product=product, warehouse=WarehouseFactory(code="MAIN"))
    product.sku = "OTHER"
    with pytest.raises(ValidationError) as raised:
        product.full_clean()
    assert "cannot be renamed" in raised.value.message_dict["sku"][0]


# --- products: bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sku": "S" * 65}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"name": "n" * 256}, "name"),
        ({"barcode": "1" * 65}, "barcode"),
        ({"external_id": "e" * 101}, "external_id"),
        ({"weight_grams": -1}, "weight_grams"),
        ({"weight_grams": "heavy"}, "weight_grams"),
        ({"weight_grams": 2**31}, "weight_grams"),
        ({"weight_grams": 1.5}, "weight_grams"),
        ({"freight_class": "explosive"}, "freight_class"),
        ({"is_active": "maybe"}, "is_active"),
        ({"low_stock_threshold": None}, "low_stock_threshold"),
        ({"name": {"en": "Tee"}}, "name"),
    ],
)
def test_invalid_product_field_is_400(catalog_writer, overrides, field):
    response = post_json(catalog_writer, PRODUCTS, valid_product(**overrides))
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == [field]
    assert Product.objects.count() == 0


def test_duplicate_sku_is_400_with_field_error(catalog_writer):
    ProductFactory(sku="TEE-RED-M", name="Original")
    response = post_json(catalog_writer, PRODUCTS, valid_product())
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["sku"]
    assert Product.objects.get().name == "Original"


@pytest.mark.parametrize("field", ["id", "created_at"])
def test_read_only_product_field_is_400(catalog_writer, field):
    response = post_json(catalog_writer, PRODUCTS, valid_product(**{field: 1}))
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {field: ["This field is read-only."]}
    assert Product.objects.count() == 0


def test_unknown_product_field_is_400(catalog_writer):
    response = post_json(catalog_writer, PRODUCTS, valid_product(colour="red"))
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"colour": ["Unknown field."]}
    assert Product.objects.count() == 0


def test_plain_text_body_is_415(catalog_writer):
    response = catalog_writer.post(PRODUCTS, "sku=TEE", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")
    assert Product.objects.count() == 0


def test_form_encoded_product_body_is_415(catalog_writer):
    response = catalog_writer.post(PRODUCTS, valid_product(), format="multipart")
    assert_problem(response, 415, "unsupported_media_type")
    assert Product.objects.count() == 0


# --- products: filters, pagination, query counts ------------------------------------------


@pytest.fixture
def catalog(db):
    ProductFactory(sku="TEE-RED", name="Red tee", external_id="P1", barcode="111")
    ProductFactory(sku="TEE-BLUE", name="Blue tee", external_id="P2", barcode="222")
    ProductFactory(
        sku="GAS-CAN", name="Camping gas", external_id="P3", barcode="333",
        freight_class="hazmat",
    )
    ProductFactory(
        sku="SOFA", name="Corner sofa", external_id="P4", barcode="444",
        freight_class="oversize", is_active=False,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["SOFA", "GAS-CAN", "TEE-BLUE", "TEE-RED"]),
        ("sku=TEE-RED", ["TEE-RED"]),
        ("sku=tee-red", []),
        ("barcode=222", ["TEE-BLUE"]),
        ("external_id=P3", ["GAS-CAN"]),
        ("freight_class=hazmat", ["GAS-CAN"]),
        ("is_active=false", ["SOFA"]),
        ("is_active=true", ["GAS-CAN", "TEE-BLUE", "TEE-RED"]),
        ("search=tee", ["TEE-BLUE", "TEE-RED"]),
        ("search=gas-can", ["GAS-CAN"]),
        ("search=444", ["SOFA"]),
        ("search=P2", ["TEE-BLUE"]),
        ("search=sofa&is_active=true", []),
    ],
)
def test_product_list_filters(staff_client, catalog, query, expected):
    assert skus(staff_client.get(f"{PRODUCTS}?{query}")) == expected


def test_invalid_product_filter_value_is_400(staff_client, catalog):
    assert_problem(staff_client.get(f"{PRODUCTS}?freight_class=nuclear"), 400, "validation_error")


def test_product_pagination_beyond_first_page(staff_client):
    created = {ProductFactory().sku for _ in range(9)}
    seen, url, pages = [], f"{PRODUCTS}?limit=4", 0
    while url:
        body = staff_client.get(url).json()
        seen += [row["sku"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 9
    assert set(seen) == created


def test_product_list_query_count_is_constant(staff_client, django_assert_num_queries):
    ProductFactory()
    with django_assert_num_queries(1):
        staff_client.get(PRODUCTS)
    ProductFactory.create_batch(15)
    with django_assert_num_queries(1):
        assert len(staff_client.get(PRODUCTS).json()["results"]) == 16


# --- stock levels --------------------------------------------------------------------------


@pytest.fixture
def stock(db):
    main = WarehouseFactory(code="MAIN")
    store = WarehouseFactory(code="STORE")
    red = ProductFactory(sku="TEE-RED", name="Red tee", barcode="111")
    blue = ProductFactory(sku="TEE-BLUE", name="Blue tee", barcode="222")
    services.stock_receive(product=red, warehouse=main, quantity=10)
    services.stock_receive(product=red, warehouse=store, quantity=2)
    services.stock_receive(product=blue, warehouse=main, quantity=1)
    services.stock_level_settings_update(
        level=StockLevel.objects.get(product=red, warehouse=store), reorder_point=5
    )
    services.stock_level_settings_update(
        level=StockLevel.objects.get(product=blue, warehouse=main), safety_stock=1
    )
    StockLevelFactory(product=blue, warehouse=store)


def rows(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return sorted((row["sku"], row["warehouse"]) for row in response.json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [("TEE-BLUE", "MAIN"), ("TEE-BLUE", "STORE"), ("TEE-RED", "MAIN"),
              ("TEE-RED", "STORE")]),
        ("sku=TEE-RED", [("TEE-RED", "MAIN"), ("TEE-RED", "STORE")]),
        ("warehouse=STORE", [("TEE-BLUE", "STORE"), ("TEE-RED", "STORE")]),
        ("sku=TEE-BLUE&warehouse=MAIN", [("TEE-BLUE", "MAIN")]),
        ("sku=NOPE", []),
        ("search=red", [("TEE-RED", "MAIN"), ("TEE-RED", "STORE")]),
        ("search=222", [("TEE-BLUE", "MAIN"), ("TEE-BLUE", "STORE")]),
        ("search=tee-b", [("TEE-BLUE", "MAIN"), ("TEE-BLUE", "STORE")]),
        ("out_of_stock=true", [("TEE-BLUE", "MAIN"), ("TEE-BLUE", "STORE")]),
        ("out_of_stock=false", [("TEE-RED", "MAIN"), ("TEE-RED", "STORE")]),
        ("low_stock=true", [("TEE-BLUE", "MAIN"), ("TEE-BLUE", "STORE"), ("TEE-RED", "STORE")]),
        ("low_stock=false", [("TEE-RED", "MAIN")]),
    ],
)
def test_stock_level_filters(make_client, stock, query, expected):
    # An integration key sees every location (a channel key only its channel's own).
    reader = make_client(scopes=["inventory:read"])
    assert rows(reader.get(f"{STOCK}?{query}")) == expected


def test_stock_level_shows_availability(staff_client, stock):
    response = staff_client.get(STOCK, {"sku": "TEE-BLUE", "warehouse": "MAIN"})
    (row,) = response.json()["results"]
    assert (row["on_hand"], row["allocated"], row["safety_stock"], row["available"]) == (
        1, 0, 1, 0
    )
    detail = staff_client.get(f"{STOCK}{row['id']}/")
    assert detail.status_code == 200
    assert detail.json()["product_name"] == "Blue tee"


def test_stock_levels_are_read_only(make_client, stock):
    client = make_client(scopes=["inventory:write"])
    level = StockLevel.objects.get(product__sku="TEE-RED", warehouse__code="MAIN")
    assert_problem(
        client.patch(f"{STOCK}{level.pk}/", {"on_hand": 99}, format="json"),
        405, "method_not_allowed",
    )
    assert_problem(client.post(STOCK, {}, format="json"), 405, "method_not_allowed")
    level.refresh_from_db()
    assert level.on_hand == 10


def test_stock_levels_need_inventory_read(make_client, stock):
    assert_problem(make_client(scopes=["orders:read"]).get(STOCK), 403, "permission_denied")


def test_stock_level_pagination_beyond_first_page(staff_client):
    warehouse = WarehouseFactory(code="MAIN")
    for _ in range(7):
        StockLevelFactory(product=ProductFactory(), warehouse=warehouse)
    seen, url = [], f"{STOCK}?limit=3"
    while url:
        body = staff_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(StockLevel.objects.values_list("id", flat=True))
    assert len(seen) == len(set(seen)) == 7


def test_stock_level_list_query_count_is_constant(staff_client, django_assert_num_queries):
    StockLevelFactory()
    with django_assert_num_queries(1):
        staff_client.get(STOCK)
    for _ in range(10):
        StockLevelFactory()
    with django_assert_num_queries(1):
        assert len(staff_client.get(STOCK).json()["results"]) == 11
