"""Warehouses (CRUD, `warehouses:write` to change) and carriers (read) over the API."""

import json

import pytest

from inventory.models import StockLevel
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    ServiceLevelFactory,
    StockLevelFactory,
    WarehouseFactory,
)
from tests.oms_project.test_api_auth import assert_problem
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

URL = "/api/v1/warehouses/"


def valid_payload(**overrides) -> dict:
    payload = {
        "code": "RENO-1",
        "name": "Reno fulfilment centre",
        "kind": "warehouse",
        "country": "us",
        "city": "Reno",
        "latitude": "39.529600",
        "longitude": "-119.813800",
        "priority": 5,
        "timezone": "America/Los_Angeles",
        "order_cutoff_time": "15:30:00",
        "ships_to_countries": ["us", "CA"],
        "accepted_freight_classes": ["hazmat"],
        "contact_emails": ["reno@example.com"],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def writer(make_client):
    return make_client(scopes=["warehouses:write"])


def post_json(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


# --- writes and scopes ---------------------------------------------------------------------


def test_create_with_write_scope_stores_every_field(writer):
    response = post_json(writer, URL, valid_payload())

    assert response.status_code == 201, response.content
    warehouse = Warehouse.objects.get(code="RENO-1")
    assert warehouse.country.code == "US"
    assert warehouse.ships_to_countries == ["US", "CA"]
    assert warehouse.accepted_freight_classes == ["hazmat"]
    assert warehouse.timezone == "America/Los_Angeles"
    assert str(warehouse.order_cutoff_time) == "15:30:00"
    body = response.json()
    assert body["country"] == "US"
    assert body["priority"] == 5
    assert body["latitude"] == "39.529600"


def test_channel_key_reads_but_cannot_write(channel_client):
    assert channel_client.get(URL).status_code == 200
    response = post_json(channel_client, URL, valid_payload())
    assert_problem(response, 403, "permission_denied")
    assert "warehouses:write" in response.json()["detail"]
    assert not Warehouse.objects.filter(code="RENO-1").exists()


def test_channel_key_sees_only_its_channels_locations(channel_client, staff_client):
    from tests.factories import WarehouseFactory

    WarehouseFactory(code="ELSEWHERE")
    codes = [row["code"] for row in channel_client.get(URL).json()["results"]]
    assert codes == ["MAIN"]
    assert channel_client.get(f"{URL}ELSEWHERE/").status_code == 404
    staff_codes = {row["code"] for row in staff_client.get(URL).json()["results"]}
    assert staff_codes == {"MAIN", "ELSEWHERE"}


def test_read_scope_key_cannot_patch_or_delete(make_client):
    warehouse = WarehouseFactory(code="KEEP", name="Keep")
    client = make_client(scopes=["warehouses:read"])
    response = client.patch(f"{URL}KEEP/", {"name": "Changed"}, format="json")
    assert_problem(response, 403, "permission_denied")
    assert_problem(client.delete(f"{URL}KEEP/"), 403, "permission_denied")
    warehouse.refresh_from_db()
    assert warehouse.name == "Keep"


def test_patch_changes_only_given_fields(writer):
    WarehouseFactory(code="PATCH", name="Before", priority=50)
    response = writer.patch(f"{URL}PATCH/", {"name": "After"}, format="json")
    assert response.status_code == 200, response.content
    warehouse = Warehouse.objects.get(code="PATCH")
    assert (warehouse.name, warehouse.priority) == ("After", 50)


def test_put_replaces_the_record(writer):
    WarehouseFactory(code="RENO-1", name="Before")
    response = writer.put(f"{URL}RENO-1/", valid_payload(name="Replaced"), format="json")
    assert response.status_code == 200, response.content
    assert Warehouse.objects.get(code="RENO-1").name == "Replaced"


def test_delete_empty_location(writer):
    WarehouseFactory(code="GONE")
    assert writer.delete(f"{URL}GONE/").status_code == 204
    assert not Warehouse.objects.filter(code="GONE").exists()


def test_delete_location_with_stock_is_409_and_keeps_it(writer):
    warehouse = WarehouseFactory(code="STOCKED")
    StockLevelFactory(warehouse=warehouse, product=ProductFactory())
    assert_problem(writer.delete(f"{URL}STOCKED/"), 409, "conflict")
    assert Warehouse.objects.filter(code="STOCKED").exists()
    assert StockLevel.objects.count() == 1


def test_unknown_warehouse_is_404(writer):
    assert_problem(writer.get(f"{URL}NOPE/"), 404, "not_found")


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "x" * 41}, "code"),
        ({"code": "bad code!"}, "code"),
        ({"name": "n" * 201}, "name"),
        ({"name": ""}, "name"),
        ({"country": "XX"}, "country"),
        ({"country": "USA"}, "country"),
        ({"country": 1}, "country"),
        ({"ships_to_countries": ["US", "ZZ"]}, "ships_to_countries"),
        ({"ships_to_countries": "US"}, "ships_to_countries"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "Europe/" + "x" * 60}, "timezone"),
        ({"priority": "first"}, "priority"),
        ({"priority": -1}, "priority"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"kind": "castle"}, "kind"),
        ({"latitude": "91"}, "latitude"),
        ({"longitude": "-180.5"}, "longitude"),
        ({"latitude": "1.1234567"}, "latitude"),
        ({"latitude": "NaN"}, "latitude"),
        ({"order_cutoff_time": "25:00"}, "order_cutoff_time"),
        ({"daily_order_capacity": 10**12}, "daily_order_capacity"),
        ({"accepted_freight_classes": ["standard"]}, "accepted_freight_classes"),
        ({"accepted_freight_classes": ["explosive"]}, "accepted_freight_classes"),
        ({"contact_emails": ["not-an-email"]}, "contact_emails"),
        ({"contact_emails": "ops@example.com"}, "contact_emails"),
        ({"city": "Reno\x00"}, "city"),
    ],
)
def test_invalid_field_is_400_with_field_error(writer, overrides, field):
    response = post_json(writer, URL, valid_payload(**overrides))
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == [field]
    assert Warehouse.objects.count() == 0


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at"])
def test_read_only_field_on_write_is_400(writer, field):
    response = post_json(writer, URL, valid_payload(**{field: 7}))
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {field: ["This field is read-only."]}
    assert Warehouse.objects.count() == 0


def test_unknown_field_is_400(writer):
    response = post_json(writer, URL, valid_payload(colour="blue"))
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"colour": ["Unknown field."]}
    assert Warehouse.objects.count() == 0


def test_unknown_field_on_patch_is_400_and_changes_nothing(writer):
    WarehouseFactory(code="SAME", name="Same")
    response = writer.patch(f"{URL}SAME/", {"name": "New", "colour": "blue"}, format="json")
    assert_problem(response, 400, "validation_error")
    assert Warehouse.objects.get(code="SAME").name == "Same"


def test_duplicate_code_is_400_with_field_error(writer):
    WarehouseFactory(code="RENO-1", name="Existing")
    response = post_json(writer, URL, valid_payload())
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["code"]
    assert Warehouse.objects.get().name == "Existing"


def test_renaming_code_onto_another_is_400(writer):
    WarehouseFactory(code="A1")
    WarehouseFactory(code="B1")
    response = writer.patch(f"{URL}B1/", {"code": "A1"}, format="json")
    assert_problem(response, 400, "validation_error")
    assert sorted(Warehouse.objects.values_list("code", flat=True)) == ["A1", "B1"]


def test_form_encoded_body_is_415(writer):
    response = writer.post(URL, valid_payload(ships_to_countries="US"), format="multipart")
    assert_problem(response, 415, "unsupported_media_type")
    assert Warehouse.objects.count() == 0


# --- list filters --------------------------------------------------------------------------


@pytest.fixture
def locations(db):
    return [
        WarehouseFactory(code="W-US", kind="warehouse", country="US", can_ship=True),
        WarehouseFactory(
            code="S-US", kind="store", country="US", pickup_enabled=True, can_ship=False
        ),
        WarehouseFactory(code="T-CA", kind="3pl", country="CA", is_active=False),
        WarehouseFactory(code="D-DE", kind="dropship", country="DE"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["D-DE", "T-CA", "S-US", "W-US"]),
        ("code=S-US", ["S-US"]),
        ("kind=3pl", ["T-CA"]),
        ("kind=store", ["S-US"]),
        ("is_active=false", ["T-CA"]),
        ("is_active=true", ["D-DE", "S-US", "W-US"]),
        ("is_active=TRUE", ["D-DE", "S-US", "W-US"]),
        ("is_active=0", ["T-CA"]),
        ("is_active=", ["D-DE", "T-CA", "S-US", "W-US"]),
        ("pickup_enabled=true", ["S-US"]),
        ("can_ship=false", ["S-US"]),
        ("country=US", ["S-US", "W-US"]),
        ("country=us", ["S-US", "W-US"]),
        ("country=FR", []),
        ("country=US&kind=warehouse", ["W-US"]),
    ],
)
def test_list_filters(staff_client, locations, query, expected):
    assert codes(staff_client.get(f"{URL}?{query}")) == expected


@pytest.mark.parametrize(
    "query",
    ["kind=castle", "kind=WAREHOUSE", "is_active=maybe", "can_ship=yes", "pickup_enabled=2"],
)
def test_invalid_filter_value_is_400(staff_client, locations, query):
    response = staff_client.get(f"{URL}?{query}")
    assert_problem(response, 400, "validation_error")


def test_pagination_walks_every_location_once(staff_client):
    created = {WarehouseFactory().code for _ in range(7)}
    seen, url, pages = [], f"{URL}?limit=3", 0
    while url:
        response = staff_client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [row["code"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_list_query_count_is_constant(staff_client, django_assert_num_queries):
    WarehouseFactory()
    with django_assert_num_queries(1):
        assert len(staff_client.get(URL).json()["results"]) == 1
    WarehouseFactory.create_batch(12)
    with django_assert_num_queries(1):
        assert len(staff_client.get(URL).json()["results"]) == 13


# --- carriers ------------------------------------------------------------------------------


def test_carrier_list_nests_service_levels(channel_client):
    ups = CarrierFactory(code="ups", name="UPS")
    ServiceLevelFactory(carrier=ups, code="ups-ground", transit_days_min=2, transit_days_max=5)
    ServiceLevelFactory(carrier=ups, code="ups-air", transit_days_min=1, transit_days_max=1)
    CarrierFactory(code="dhl", is_active=False)

    response = channel_client.get("/api/v1/carriers/")

    assert response.status_code == 200
    by_code = {row["code"]: row for row in response.json()["results"]}
    assert set(by_code) == {"ups", "dhl"}
    levels = by_code["ups"]["service_levels"]
    assert [level["code"] for level in levels] == ["ups-air", "ups-ground"]
    assert levels[0]["carrier"] == "ups"
    assert by_code["dhl"]["service_levels"] == []


@pytest.mark.parametrize(("query", "expected"), [("is_active=true", ["ups"]),
                                                 ("is_active=false", ["dhl"])])
def test_carrier_filter_is_active(staff_client, query, expected):
    CarrierFactory(code="ups")
    CarrierFactory(code="dhl", is_active=False)
    assert codes(staff_client.get(f"/api/v1/carriers/?{query}")) == expected


def test_carrier_filter_refuses_a_value_that_is_not_yes_or_no(staff_client):
    CarrierFactory(code="ups")
    response = staff_client.get("/api/v1/carriers/?is_active=maybe")
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"is_active": ["Use true, false, 1 or 0."]}


def test_carrier_detail_by_code(staff_client):
    CarrierFactory(code="fedex", name="FedEx")
    response = staff_client.get("/api/v1/carriers/fedex/")
    assert response.status_code == 200
    assert response.json()["name"] == "FedEx"


def test_carriers_are_read_only(make_client):
    client = make_client(scopes=["warehouses:write"])
    response = client.post("/api/v1/carriers/", {"code": "new"}, format="json")
    assert_problem(response, 405, "method_not_allowed")


def test_carrier_list_query_count_is_constant(staff_client, django_assert_num_queries):
    ServiceLevelFactory(carrier=CarrierFactory(code="first"))
    with django_assert_num_queries(2):
        staff_client.get("/api/v1/carriers/")
    for index in range(6):
        carrier = CarrierFactory(code=f"c{index}")
        ServiceLevelFactory.create_batch(3, carrier=carrier)
    with django_assert_num_queries(2):
        assert len(staff_client.get("/api/v1/carriers/").json()["results"]) == 7
