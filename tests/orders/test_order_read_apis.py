"""Reading orders over the API: list filters, detail by number, confinement, pagination."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import OrderEvent, Payment
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    SalesChannelFactory,
    ServiceLevelFactory,
    WarehouseFactory,
)
from tests.oms_project.test_api_auth import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"
DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


@pytest.fixture
def orders(channel):
    market = SalesChannelFactory(code="market")
    ground = ServiceLevelFactory(code="ground")
    store = WarehouseFactory(code="STORE", kind="store", pickup_enabled=True)
    ada = CustomerFactory(email="ada@example.com")
    OrderFactory(number="W1", channel=channel, customer=ada, status="created",
                 placed_at=DAY - timedelta(days=2), payment_method="card",
                 shipping_method=ground, channel_order_id="web-1")
    OrderFactory(number="W2", channel=channel, email="Grace@Example.com", status="processing",
                 placed_at=DAY - timedelta(days=1), payment_method="paypal",
                 channel_order_id="web-2")
    OrderFactory(number="W3", channel=channel, customer=ada, status="shipped", placed_at=DAY,
                 fulfillment_method="pickup", pickup_location=store, channel_order_id="web-3")
    OrderFactory(number="M1", channel=market, customer=ada, status="processing",
                 placed_at=DAY - timedelta(days=1), channel_order_id="web-1")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["M1", "W3", "W2", "W1"]),
        ("status=processing", ["M1", "W2"]),
        ("status=processing&status=shipped", ["M1", "W3", "W2"]),
        ("status=cancelled", []),
        ("channel=web", ["W3", "W2", "W1"]),
        ("channel=market", ["M1"]),
        ("channel=unknown", []),
        ("email=ADA@example.com", ["M1", "W3", "W1"]),
        ("email=grace@example.com", ["W2"]),
        ("placed_after=2026-03-09T00:00:00Z", ["M1", "W3", "W2"]),
        ("placed_before=2026-03-09T12:00:00Z", ["W1"]),
        ("placed_after=2026-03-08T12:00:00Z&placed_before=2026-03-10T12:00:00Z",
         ["M1", "W2", "W1"]),
        ("placed_after=2026-03-10T13:00:00%2B01:00", ["W3"]),
        ("fulfillment_method=pickup", ["W3"]),
        ("payment_method=paypal", ["W2"]),
        ("shipping_method=ground", ["W1"]),
        ("channel_order_id=web-1", ["M1", "W1"]),
        ("channel=web&status=processing&email=grace@example.com", ["W2"]),
    ],
)
def test_list_filters_for_staff(staff_client, orders, query, expected):
    assert numbers(staff_client.get(f"{URL}?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["W3", "W2", "W1"]),
        ("channel=market", []),
        ("status=processing", ["W2"]),
        ("channel_order_id=web-1", ["W1"]),
    ],
)
def test_channel_key_lists_only_its_orders(channel_client, orders, query, expected):
    assert numbers(channel_client.get(f"{URL}?{query}")) == expected


@pytest.mark.parametrize(
    "query",
    ["status=lost", "placed_after=yesterday", "placed_before=2026-13-01", "fulfillment_method=fly"],
)
def test_invalid_filter_is_400(staff_client, orders, query):
    response = staff_client.get(f"{URL}?{query}")
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_detail_by_number_has_lines_payments_and_events(channel_client, channel):
    order = OrderFactory(number="D1", channel=channel, status="processing")
    line = OrderLineFactory(order=order, quantity=2, discount=Decimal("0.00"))
    Payment.objects.create(order=order, method="card", amount="20.00", currency="USD",
                           status="captured")
    OrderEvent.objects.create(order=order, type="status", from_status="created",
                              to_status="processing", actor="system")

    response = channel_client.get(f"{URL}D1/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["number"], body["channel"], body["status"]) == ("D1", "web", "processing")
    assert [(row["line_id"], row["sku"], row["quantity"]) for row in body["lines"]] == [
        (line.pk, line.sku, 2)
    ]
    assert [(row["amount"], row["status"]) for row in body["payments"]] == [
        ("20.00", "captured")
    ]
    assert [(row["from_status"], row["to_status"]) for row in body["events"]] == [
        ("created", "processing")
    ]


def test_other_channels_order_is_404_and_integration_key_needs_scope(channel, make_client):
    OrderFactory(number="M9", channel=SalesChannelFactory(code="market"))
    channel_client = make_client(channel=channel)
    assert_problem(channel_client.get(f"{URL}M9/"), 404, "not_found")
    assert_problem(make_client(scopes=["catalog:read"]).get(f"{URL}M9/"), 403,
                   "permission_denied")
    reader = make_client(scopes=["orders:read"])
    assert reader.get(f"{URL}M9/").status_code == 200
    assert numbers(reader.get(URL)) == ["M9"]


def test_unknown_order_is_404(staff_client):
    assert_problem(staff_client.get(f"{URL}NOPE/"), 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_orders_cannot_be_changed_by_verb(staff_client, channel, method):
    OrderFactory(number="R1", channel=channel, status="created")
    response = getattr(staff_client, method)(f"{URL}R1/", {"status": "cancelled"}, format="json")
    assert_problem(response, 405, "method_not_allowed")
    assert channel.orders.get().status == "created"


def test_pagination_walks_every_order_once(channel_client, channel):
    for index in range(12):
        OrderFactory(number=f"P{index:02d}", channel=channel)
    seen, url, pages = [], f"{URL}?limit=5", 0
    while url:
        body = channel_client.get(url).json()
        seen += [row["number"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 12


def test_pagination_keeps_filters_on_next_pages(channel_client, channel):
    for index in range(6):
        OrderFactory(number=f"S{index}", channel=channel,
                     status="processing" if index % 2 else "created")
    seen, url = [], f"{URL}?limit=2&status=processing"
    while url:
        body = channel_client.get(url).json()
        seen += [row["number"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == ["S1", "S3", "S5"]


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_query_count_is_constant(staff_client, channel, django_assert_num_queries):
    """The same number of queries for one order as for a page of them (no N+1)."""
    OrderLineFactory(order=OrderFactory(channel=channel), discount=Decimal("0.00"))
    with_one = count_queries(staff_client, URL)
    assert with_one <= 5
    ground = ServiceLevelFactory(code="ground")
    for _ in range(10):
        order = OrderFactory(channel=channel, shipping_method=ground)
        OrderLineFactory.create_batch(3, order=order, discount=Decimal("0.00"))
        Payment.objects.create(order=order, method="card", amount="1.00", currency="USD",
                               status="captured")
    with django_assert_num_queries(with_one):
        assert len(staff_client.get(URL).json()["results"]) == 11
    with django_assert_num_queries(with_one):
        staff_client.get(f"{URL}?channel=web&status=created&limit=4")


def test_detail_query_count_does_not_grow_with_lines(staff_client, channel):
    order = OrderFactory(number="Q1", channel=channel)
    OrderLineFactory(order=order, discount=Decimal("0.00"))
    with_one = count_queries(staff_client, f"{URL}Q1/")
    OrderLineFactory.create_batch(8, order=order, discount=Decimal("0.00"))
    for index in range(3):
        OrderEvent.objects.create(order=order, type="note", message=f"note {index}")
    assert count_queries(staff_client, f"{URL}Q1/") == with_one
