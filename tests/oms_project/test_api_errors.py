"""Every failure under /api/ is problem+json: bad bodies, wrong media types, unknown URLs,
oversized requests, unexpected crashes, forged cursors. Nothing is written on the way."""

import base64
import json

import pytest
from django.db import DataError

from customers import selectors as customer_selectors
from customers.models import Customer
from inventory.models import Product
from tests.factories import ProductFactory, WarehouseFactory
from tests.oms_project.test_api_auth import assert_problem
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

WRITE_SCOPES = ["warehouses:write", "catalog:write", "customers:write"]
ENDPOINTS = ["/api/v1/warehouses/", "/api/v1/products/", "/api/v1/customers/"]


@pytest.fixture
def writer(make_client):
    return make_client(scopes=WRITE_SCOPES)


def nothing_written() -> bool:
    return not (Warehouse.objects.exists() or Product.objects.exists()
                or Customer.objects.exists())


# --- request bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("body", ['{"code": ', "{'code': 'A'}", '{"a": 1,}', "\x00", "NaN"])
def test_malformed_json_is_400_malformed_request(writer, url, body):
    response = writer.post(url, body, content_type="application/json")
    assert_problem(response, 400, "malformed_request")
    assert nothing_written()


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_400(writer, url, body):
    response = writer.post(url, body, content_type="application/json")
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["non_field_errors"]
    assert nothing_written()


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "code=A"),
        ("application/xml", "<code>A</code>"),
        ("text/csv", "code\nA"),
        ("application/x-www-form-urlencoded", "code=A&name=B"),
        ("multipart/form-data; boundary=xyz", "--xyz\r\n\r\ncode\r\n--xyz--"),
    ],
)
def test_non_json_content_type_is_415(writer, url, content_type, body):
    response = writer.post(url, body, content_type=content_type)
    assert_problem(response, 415, "unsupported_media_type")
    assert content_type in response.json()["detail"]
    assert nothing_written()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_json_nested_too_deeply_is_a_malformed_request(writer, url):
    response = writer.post(url, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert_problem(response, 400, "malformed_request")
    assert "nested too deeply" in response.json()["detail"]
    assert nothing_written()


def test_body_over_the_upload_limit_is_413(writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    payload = {"code": "BIG", "name": "x" * 3_000, "country": "US"}
    response = writer.post(
        "/api/v1/warehouses/", json.dumps(payload), content_type="application/json"
    )
    assert_problem(response, 413, "payload_too_large")
    assert nothing_written()


def test_unacceptable_accept_header_is_406_problem(writer):
    response = writer.get("/api/v1/warehouses/", HTTP_ACCEPT="application/xml")
    assert_problem(response, 406, "not_acceptable")


# --- URLs and methods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/nothing-here/", "/api/v2/orders/", "/api/", "/api/v1/warehouses/a/b/c/"]
)
def test_unknown_api_url_is_404_problem_not_html(writer, url):
    response = writer.get(url)
    assert_problem(response, 404, "not_found")
    assert b"<html" not in response.content.lower()


def test_unknown_url_outside_the_api_is_left_alone(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/warehouses/"),
        ("put", "/api/v1/products/"),
        ("post", "/api/v1/carriers/"),
        ("patch", "/api/v1/stock-levels/"),
    ],
)
def test_method_not_allowed_is_405_problem(staff_client, method, url):
    response = getattr(staff_client, method)(url, {}, format="json")
    assert_problem(response, 405, "method_not_allowed")
    assert method.upper() in response.json()["detail"]
    assert nothing_written()


@pytest.mark.parametrize("url", ["/api/v1/warehouses/%00/", "/api/v1/products/A%00B/",
                                 "/api/v1/orders/%00/"])
def test_nul_byte_in_a_lookup_is_404(staff_client, url):
    assert_problem(staff_client.get(url), 404, "not_found")


@pytest.mark.parametrize("query", ["code=%00", "country=U%00"])
def test_nul_byte_in_a_filter_is_400(staff_client, query):
    WarehouseFactory()
    assert_problem(staff_client.get(f"/api/v1/warehouses/?{query}"), 400, "validation_error")


# --- unexpected failures -------------------------------------------------------------------


def test_unexpected_exception_is_500_problem_without_internals(channel_client, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("database password is hunter2 at /srv/oms/settings.py")

    monkeypatch.setattr(customer_selectors, "customers_visible", explode)
    response = channel_client.get("/api/v1/customers/")
    assert_problem(response, 500, "server_error")
    body = response.content.decode()
    assert "hunter2" not in body
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert response.json()["detail"] == "An unexpected error occurred."


def test_unexpected_exception_during_a_write_writes_nothing(channel_client, monkeypatch):
    from customers import services

    def explode(**kwargs):
        raise ValueError("unexpected")

    monkeypatch.setattr(services, "customer_link", explode)  # what a channel key's create runs
    response = channel_client.post(
        "/api/v1/customers/", json.dumps({"email": "boom@example.com"}),
        content_type="application/json",
    )
    assert_problem(response, 500, "server_error")
    assert not Customer.objects.exists()


def test_value_the_database_refuses_is_400_without_internals(channel_client, monkeypatch):
    def refuse(**kwargs):
        raise DataError("value too long for type character varying(40)")

    monkeypatch.setattr(customer_selectors, "customers_visible", refuse)
    response = channel_client.get("/api/v1/customers/")
    assert_problem(response, 400, "invalid_value")
    assert "varying" not in response.content.decode()


# --- cursor pagination ---------------------------------------------------------------------


def forged_cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("url", ["/api/v1/warehouses/", "/api/v1/products/",
                                 "/api/v1/stock-levels/", "/api/v1/customers/",
                                 "/api/v1/orders/", "/api/v1/carriers/"])
@pytest.mark.parametrize(
    "cursor",
    ["garbage", forged_cursor("p=abc"), forged_cursor("p=1.5"), forged_cursor("o=-1"),
     forged_cursor("p=1&o=x"), forged_cursor("p=%00")],
)
def test_bad_cursor_is_a_400_on_cursor(staff_client, url, cursor):
    response = staff_client.get(f"{url}?cursor={cursor}")
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {
        "cursor": ["Not a cursor this list gave out; start again without one."]
    }


def test_limit_above_500_is_capped(staff_client):
    Product.objects.bulk_create(
        Product(sku=f"BULK-{index:04d}", name=f"Bulk {index}") for index in range(502)
    )
    body = staff_client.get("/api/v1/products/?limit=100000").json()
    assert len(body["results"]) == 500
    assert body["next"] is not None
    rest = staff_client.get(body["next"]).json()
    assert len(rest["results"]) == 2
    assert rest["next"] is None
    seen = {row["sku"] for row in body["results"] + rest["results"]}
    assert len(seen) == 502


@pytest.mark.parametrize(("limit", "expected"), [("", 50), ("7", 7), ("007", 7)])
def test_limits_set_the_page_size(staff_client, limit, expected):
    Product.objects.bulk_create(
        Product(sku=f"ODD-{index:03d}", name=f"Odd {index}") for index in range(60)
    )
    response = staff_client.get(f"/api/v1/products/?limit={limit}")
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize("limit", ["abc", "0", "-3", "1.5", "%20"])
def test_odd_limits_are_a_400_on_limit(staff_client, limit):
    response = staff_client.get(f"/api/v1/products/?limit={limit}")
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"limit": ["A whole number from 1 to 500."]}


def test_previous_link_walks_back(staff_client):
    for _ in range(6):
        ProductFactory()
    first = staff_client.get("/api/v1/products/?limit=4").json()
    second = staff_client.get(first["next"]).json()
    back = staff_client.get(second["previous"]).json()
    assert [row["sku"] for row in back["results"]] == [row["sku"] for row in first["results"]]
