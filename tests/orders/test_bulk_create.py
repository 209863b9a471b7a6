"""Bulk order creation leaves exactly what the same orders sent one by one leave.

Each scenario runs the batch through `POST /api/v1/orders/bulk/`, takes a snapshot of every
row the orders produced (ids and numbers replaced by their positions), rolls back, sends the
same orders one by one to `POST /api/v1/orders/` served by the step-by-step reference path
(`order_create_stepwise`), and compares.
"""

import json
import re
from decimal import Decimal

import pytest
from django.db import transaction

from customers.models import Address, Customer, CustomerChannel
from inventory.models import StockLevel, StockMovement, StockReservation
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Order
from tests.factories import ProductFactory
from tests.orders.shipping import post_json as post

pytestmark = pytest.mark.django_db


def payload(channel_order_id: str, **overrides) -> dict:
    data = {
        "channel_order_id": channel_order_id,
        "customer": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Reno",
            "postal_code": "89501",
            "country": "US",
        },
        "shipping_method": "ground",
        "currency": "USD",
        "lines": [
            {"sku": "A", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B", "quantity": 1, "unit_price": "4.50", "discount": "0.50"},
        ],
        "shipping_total": "5.00",
        "tax_total": "2.00",
        "payment": {"method": "card", "amount": "31.00", "status": "captured", "reference": "p"},
    }
    data.update(overrides)
    return data


def _unpaid(channel_order_id: str, **overrides) -> dict:
    return payload(channel_order_id, payment=None, **overrides)


def snapshot() -> dict:
    """Every order-related row, with ids and numbers replaced by positions."""
    orders = list(Order.objects.order_by("pk"))
    names = {}
    for position, order in enumerate(orders):
        names[order.number] = f"N{position}"
        for line_position, line_id in enumerate(
            order.lines.order_by("pk").values_list("pk", flat=True)
        ):
            names[f"line:{line_id}"] = f"L{position}.{line_position}"
        for fo_position, fo_id in enumerate(
            order.fulfillment_orders.order_by("pk").values_list("pk", flat=True)
        ):
            names[f"fo:{fo_id}"] = f"F{position}.{fo_position}"
        for decision_id in order.routing_decisions.values_list("pk", flat=True):
            names[f"decision:{decision_id}"] = f"D{position}"

    def clean(value, key=""):
        if isinstance(value, dict):
            return {clean_key(k, key): clean(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(item, key) for item in value]
        if isinstance(value, int) and not isinstance(value, bool):
            if key in ("line_id", "line"):
                return names.get(f"line:{value}", value)
            if key == "fulfillment_order":
                return names.get(f"fo:{value}", value)
            if key == "routing_decision":
                return names.get(f"decision:{value}", value)
            if key == "id":
                return "id"
        if isinstance(value, str) and key == "placed_at":
            return value[:10]  # "now" moved on between the two runs
        if isinstance(value, str):
            value = re.sub(r"FO-(\d+)", lambda m: names.get(f"fo:{m.group(1)}", m.group(0)), value)
            for number, name in names.items():
                if not number.startswith(("line:", "fo:", "decision:")):
                    value = value.replace(number, name)
        return value

    def clean_key(key, parent):
        if parent == "short" and str(key).isdigit():
            return names.get(f"line:{key}", key)
        return key

    def rows(queryset, *fields):
        return [clean(dict(zip(fields, row, strict=True))) for row in queryset.values_list(*fields)]

    result = {}
    for position, order in enumerate(orders):
        result[f"order {position}"] = {
            "header": rows(
                Order.objects.filter(pk=order.pk),
                "number",
                "channel_order_id",
                "customer__email",
                "email",
                "status",
                "fulfillment_method",
                "pickup_location__code",
                "shipping_method__code",
                "currency",
                "subtotal",
                "discount_total",
                "shipping_total",
                "tax_total",
                "total",
                "paid_total",
                "payment_method",
                "shipping_address",
                "billing_address",
                "attributes",
                "promised_ship_date",
                "promised_delivery_date",
            ),
            "lines": rows(
                order.lines.order_by("pk"),
                "sku",
                "name",
                "quantity",
                "quantity_allocated",
                "unit_price",
                "discount",
                "line_total",
            ),
            "payments": rows(
                order.payments.order_by("pk"),
                "method",
                "amount",
                "currency",
                "status",
                "reference",
            ),
            "events": rows(
                order.events.order_by("pk"),
                "type",
                "from_status",
                "to_status",
                "message",
                "actor",
                "data",
            ),
            "decisions": rows(
                order.routing_decisions.order_by("pk"),
                "trigger",
                "rules_version",
                "strategies",
                "locations",
                "is_complete",
                "is_split",
                "explanation",
                "actor",
            ),
            "fulfillment": rows(
                order.fulfillment_orders.order_by("pk"),
                "warehouse__code",
                "status",
                "service_level__code",
                "promised_ship_date",
                "promised_delivery_date",
                "routing_decision__trigger",
            ),
            "fulfillment lines": rows(
                order.fulfillment_orders.order_by("pk", "lines__pk"),
                "lines__order_line__sku",
                "lines__quantity",
            ),
            "reservations": rows(
                StockReservation.objects.filter(
                    reference__in=[f"order_line:{pk}" for pk in order.lines.values("pk")]
                ).order_by("reference"),
                "stock_level__product__sku",
                "stock_level__warehouse__code",
                "quantity",
            ),
            "outbox": rows(
                OutboxEvent.objects.filter(reference=order.number).order_by("pk"),
                "topic",
                "payload",
            ),
            "emails": rows(
                EmailMessage.objects.filter(reference=f"order:{order.number}").order_by("pk"),
                "to",
                "template",
                "subject",
                "body_text",
                "body_html",
            ),
        }
    result["customers"] = rows(
        Customer.objects.order_by("email"),
        "email",
        "first_name",
        "last_name",
        "phone",
        "orders_count",
        "lifetime_value",
        "preferred_shipping_method",
        "preferred_payment_method",
    )
    result["customer dates"] = [
        (customer.email, customer.first_order_at is not None, customer.last_order_at is not None)
        for customer in Customer.objects.order_by("email")
    ]
    result["links"] = rows(
        CustomerChannel.objects.order_by("customer__email", "channel_code"),
        "customer__email",
        "channel_code",
        "external_id",
    )
    result["addresses"] = rows(
        Address.objects.order_by("customer__email", "line1"),
        "customer__email",
        "line1",
        "city",
        "postal_code",
        "country",
        "is_default_shipping",
        "is_default_billing",
        "fingerprint",
    )
    result["stock"] = rows(
        StockLevel.objects.order_by("product__sku", "warehouse__code"),
        "product__sku",
        "warehouse__code",
        "on_hand",
        "allocated",
    )
    result["ledger"] = sorted(
        (
            row["stock_level__product__sku"],
            row["stock_level__warehouse__code"],
            row["delta_allocated"],
            row["reason"],
        )
        for row in rows(
            StockMovement.objects.all(),
            "stock_level__product__sku",
            "stock_level__warehouse__code",
            "delta_allocated",
            "reason",
        )
    )
    return result


def assert_same(bulk, single, path="") -> None:
    """Fail at the first place where the two snapshots differ, naming it."""
    if isinstance(single, dict) and isinstance(bulk, dict):
        assert sorted(bulk, key=str) == sorted(single, key=str), path
        for key in single:
            assert_same(bulk[key], single[key], f"{path}/{key}")
    elif isinstance(single, list) and isinstance(bulk, list):
        assert len(bulk) == len(single), (path, bulk, single)
        for position, (left, right) in enumerate(zip(bulk, single, strict=True)):
            assert_same(left, right, f"{path}[{position}]")
    else:
        assert bulk == single, path


def _stepwise(*, with_related: bool = False, **arguments):
    """`order_create_stepwise` in `order_create`'s place (its orders are always read back)."""
    from orders.services.creation import order_create_stepwise

    return order_create_stepwise(**arguments)


@pytest.fixture
def stepwise(monkeypatch):
    """Serve the single-order API with the step-by-step reference path."""
    from orders import services

    monkeypatch.setattr(services, "order_create", _stepwise)


def bulk_and_single(api, orders: list[dict]) -> tuple[list, dict, list, dict]:
    """Results and snapshots of the batch via the bulk API, then (from the same start) one by
    one via the single API."""
    with transaction.atomic():
        response = post(api, "/api/v1/orders/bulk/", {"orders": orders})
        assert response.status_code == 200, response.content
        bulk_results = response.json()["results"]
        bulk = snapshot()
        transaction.set_rollback(True)
    single_results = []
    for order in orders:
        response = post(api, "/api/v1/orders/", order)
        single_results.append((response.status_code, response.json()))
    return bulk_results, bulk, single_results, snapshot()


def test_bulk_leaves_what_single_posts_leave(api, shop, stock, stepwise):
    stock("A", "EAST", 50)
    stock("B", "WEST", 50)
    stock("A", "STORE1", 5)
    orders = [
        payload(
            "M-1",
            customer={
                "email": "Jane@Example.com",
                "first_name": "Jane",
                "channel_customer_id": "c-1",
            },
        ),
        payload(
            "M-2",
            customer={"email": "jane@example.com", "first_name": "Janet", "phone": "555"},
            shipping_address={
                "line1": "9 Elm St",
                "city": "Reno",
                "postal_code": "89502",
                "country": "US",
            },
            billing_address={
                "line1": "1 Main St",
                "city": "Reno",
                "postal_code": "89501",
                "country": "US",
            },
        ),
        _unpaid("M-3", customer={"email": "bob@example.com", "last_name": "Roe"}),
        payload("M-4", payment={"method": "card", "amount": "31.00", "status": "authorized"}),
        payload(
            "M-5",
            fulfillment_method="pickup",
            pickup_location="STORE1",
            shipping_address=None,
            lines=[{"sku": "A", "quantity": 1, "unit_price": "3.00"}],
            payment={"method": "cash", "amount": "10.00", "status": "captured"},
        ),
        payload(
            "M-6",
            customer={"email": "ann@example.com", "channel_customer_id": "c-1"},
            placed_at="2026-01-02T03:04:05+02:00",
            attributes={"gift": "yes"},
        ),
        payload(
            "M-7",
            lines=[{"sku": "A", "quantity": 1, "unit_price": "0.00"}],
            shipping_total="0.00",
            tax_total="0.00",
            payment=None,
        ),
    ]
    bulk_results, bulk, single_results, single = bulk_and_single(api, orders)
    assert [item["status"] for item in bulk_results] == [201] * len(orders)
    assert [status for status, _body in single_results] == [201] * len(orders)
    assert [item["order_status"] for item in bulk_results] == [
        body["status"] for _status, body in single_results
    ]
    assert_same(bulk, single)


def _address(line1: str, postal_code: str = "89501") -> dict:
    return {"line1": line1, "city": "Reno", "postal_code": postal_code, "country": "US"}


def test_bulk_keeps_address_books_as_single_posts_do(api, shop, stock, stepwise):
    """Known customers with addresses on file next to customers the batch creates."""
    stock("A", "EAST", 50)
    stock("B", "WEST", 50)
    for number, email, shipping, billing in [
        ("K-1", "jane@example.com", _address("1 Main St"), _address("2 Oak St")),
        ("K-2", "bob@example.com", _address("5 Pine St"), None),
    ]:
        body = payload(number, customer={"email": email}, shipping_address=shipping)
        if billing:
            body["billing_address"] = billing
        assert post(api, "/api/v1/orders/", body).status_code == 201
    bob, carl = "bob@example.com", "carl@example.com"
    orders = [
        # Jane: a new shipping address, and her old shipping address now for billing.
        payload(
            "A-1",
            shipping_address=_address("9 Elm St", "89502"),
            billing_address=_address("1 Main St"),
        ),
        # Bob: the address he used before, again.
        payload("A-2", customer={"email": bob}, shipping_address=_address("5 Pine St")),
        # Carl is new: two orders, the second to another address, which becomes his default.
        payload("A-3", customer={"email": carl}, shipping_address=_address("3 Ash St")),
        payload(
            "A-4",
            customer={"email": carl},
            shipping_address=_address("4 Fir St"),
            billing_address=_address("3 Ash St"),
        ),
        # Jane again in the same batch: back to her first address.
        payload("A-5", shipping_address=_address("1 Main St")),
    ]
    bulk_results, bulk, single_results, single = bulk_and_single(api, orders)
    assert [item["status"] for item in bulk_results] == [201] * len(orders)
    assert [status for status, _body in single_results] == [201] * len(orders)
    assert_same(bulk, single)
    defaults = {
        (address.customer.email, address.line1): (
            address.is_default_shipping,
            address.is_default_billing,
            address.last_used_at is not None,
        )
        for address in Address.objects.select_related("customer")
    }
    assert defaults == {
        ("jane@example.com", "1 Main St"): (True, True, True),
        ("jane@example.com", "2 Oak St"): (False, False, True),
        ("jane@example.com", "9 Elm St"): (False, False, True),
        ("bob@example.com", "5 Pine St"): (True, False, True),
        ("carl@example.com", "3 Ash St"): (False, True, True),
        ("carl@example.com", "4 Fir St"): (True, False, True),
    }


def test_bulk_matches_single_on_shortage_duplicates_and_errors(api, shop, stock, stepwise):
    shop["products"]["D"] = ProductFactory(sku="D", name="Product D")
    stock("A", "EAST", 3)
    stock("B", "WEST", 20)
    stock("D", "EAST", 1)
    orders = [
        payload(
            "S-1",
            lines=[{"sku": "D", "quantity": 3, "unit_price": "2.00"}],
            payment={"method": "card", "amount": "13.00", "status": "captured"},
        ),
        payload("S-2"),
        payload("S-2", lines=[{"sku": "B", "quantity": 1, "unit_price": "1.00"}]),
        payload("S-3", lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]),
        payload("S-4"),  # A is gone: backordered on this channel
        payload("S-5", payment={"method": "card", "amount": "99.00", "status": "captured"}),
    ]
    bulk_results, bulk, single_results, single = bulk_and_single(api, orders)
    assert [item["status"] for item in bulk_results] == [201, 201, 409, 400, 201, 400]
    assert [status for status, _body in single_results] == [201, 201, 409, 400, 201, 400]
    assert bulk_results[2]["code"] == "duplicate_order"
    assert [item.get("order_status") for item in bulk_results] == [
        "backordered",
        "processing",
        None,
        None,
        "backordered",
        None,
    ]
    assert_same(bulk, single)


def test_bulk_on_a_rejecting_channel_refuses_only_the_short_orders(api, shop, stock, stepwise):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 2)
    stock("B", "WEST", 10)
    orders = [
        payload("R-1"),
        payload("R-2"),
        payload("R-3", lines=[{"sku": "B", "quantity": 1, "unit_price": "26.00"}]),
    ]
    bulk_results, bulk, single_results, single = bulk_and_single(api, orders)
    assert [item["status"] for item in bulk_results] == [201, 409, 201]
    assert bulk_results[1]["code"] == "insufficient_stock"
    assert [status for status, _body in single_results] == [201, 409, 201]
    # The set-based refusal and the step-by-step one name the same line the same way.
    shortage = [{"sku": "A", "line": 0, "warehouse": None, "requested": 2, "available": 0}]
    assert bulk_results[1]["errors"] == shortage
    assert single_results[1][1]["errors"] == shortage
    assert_same(bulk, single)


def test_bulk_writes_in_constant_queries(api, shop, stock, django_assert_max_num_queries):
    stock("A", "EAST", 1000)
    stock("B", "WEST", 1000)
    small = [payload(f"Q-{i}", customer={"email": f"q{i}@example.com"}) for i in range(2)]
    large = [payload(f"Q-{i}", customer={"email": f"q{i}@example.com"}) for i in range(2, 22)]
    with transaction.atomic():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as few:
            post(api, "/api/v1/orders/bulk/", {"orders": small})
        with CaptureQueriesContext(connection) as many:
            post(api, "/api/v1/orders/bulk/", {"orders": large})
    per_order = (len(many) - len(few)) / (len(large) - len(small))
    # E-mails and outbox rows are still written one by one; everything else is per batch.
    assert per_order <= 4, per_order
    assert Order.objects.filter(status="processing").count() == 22
    assert sum(Order.objects.values_list("total", flat=True)) == Decimal("31.00") * 22


def test_single_api_writes_what_the_stepwise_path_writes(api, shop, stock, monkeypatch):
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    orders = [payload("T-1"), _unpaid("T-2", customer={"email": "zed@example.com"})]
    with transaction.atomic():
        fast = [post(api, "/api/v1/orders/", order).json()["status"] for order in orders]
        fast_rows = snapshot()
        transaction.set_rollback(True)
    from orders import services

    monkeypatch.setattr(services, "order_create", _stepwise)
    reference = [post(api, "/api/v1/orders/", order).json()["status"] for order in orders]
    assert fast == reference == ["processing", "created"]
    assert_same(fast_rows, snapshot())


class _LockConflict(Exception):
    sqlstate = "40P01"


def _lost_lock(*args, **kwargs):
    from django.db import OperationalError

    raise OperationalError("deadlock detected") from _LockConflict()


def test_a_batch_that_loses_a_lock_conflict_creates_its_orders_one_by_one(
    shop, stock, monkeypatch
):
    from orders.input_serializers import OrderCreateSerializer
    from orders.services import bulk_creation
    from tests.orders.conftest import order_data

    stock("A", "EAST", 10)
    monkeypatch.setattr(bulk_creation, "_write", _lost_lock)
    entries = []
    for number in ("D-1", "D-2"):
        data = OrderCreateSerializer(data=json.loads(json.dumps(
            order_data(channel_order_id=number), default=str
        )))
        data.is_valid(raise_exception=True)
        entries.append((shop["channel"], dict(data.validated_data)))
    outcomes = bulk_creation.orders_create_bulk(entries=entries, actor="test")
    assert [outcome.channel_order_id for outcome in outcomes] == ["D-1", "D-2"]
    assert Order.objects.filter(status="processing").count() == 2
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").allocated == 4


def test_other_database_errors_are_not_hidden(shop, stock, monkeypatch):
    from django.db import OperationalError

    from orders.input_serializers import OrderCreateSerializer
    from orders.services import bulk_creation
    from tests.orders.conftest import order_data

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection")

    stock("A", "EAST", 10)
    monkeypatch.setattr(bulk_creation, "_write", broken)
    data = OrderCreateSerializer(data=json.loads(json.dumps(order_data(), default=str)))
    data.is_valid(raise_exception=True)
    with pytest.raises(OperationalError):
        bulk_creation.orders_create_bulk(
            entries=[(shop["channel"], dict(data.validated_data))], actor="test"
        )
    assert not Order.objects.exists()


def test_orders_are_numbered_from_their_id_with_the_channel_prefix(api, shop, stock):
    shop["channel"].order_number_prefix = "WEB-"
    shop["channel"].save()
    stock("A", "EAST", 50)
    stock("B", "WEST", 50)
    single = post(api, "/api/v1/orders/", payload("N-1")).json()["number"]
    response = post(api, "/api/v1/orders/bulk/", {"orders": [payload("N-2"), payload("N-3")]})
    numbers = [single] + [item["number"] for item in response.json()["results"]]
    orders = list(Order.objects.order_by("pk"))
    assert numbers == [order.number for order in orders]
    assert [order.number for order in orders] == [f"WEB-{100000 + order.pk}" for order in orders]
    assert len({order.pk for order in orders}) == 3


def _validated(data: dict) -> dict:
    from orders.input_serializers import OrderCreateSerializer

    serializer = OrderCreateSerializer(data=data)
    assert serializer.is_valid(), serializer.errors
    return dict(serializer.validated_data)


def test_a_refusal_after_losing_the_stock_race_names_the_line_by_position(
    shop, stock, monkeypatch
):
    from inventory.errors import InsufficientStock
    from orders.services import allocation
    from orders.services.creation import order_create_stepwise

    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 50)
    stock("B", "WEST", 50)

    def lost(**_kwargs):  # another order took the units between the plan and the reservation
        raise InsufficientStock([{"sku": "B", "warehouse": "WEST", "requested": 1, "available": 0}])

    monkeypatch.setattr(allocation, "stock_allocate", lost)
    with pytest.raises(InsufficientStock) as refused:
        order_create_stepwise(channel=shop["channel"], data=_validated(payload("R-1")), actor="t")
    assert refused.value.short == [
        {"sku": "B", "line": 1, "warehouse": "WEST", "requested": 1, "available": 0}
    ]
    assert Order.objects.count() == 0


def test_only_a_caller_that_asks_gets_the_written_rows_attached(shop, stock):
    from orders.services.creation import order_create

    stock("A", "EAST", 50)
    stock("B", "WEST", 50)
    plain = order_create(channel=shop["channel"], data=_validated(payload("P-1")), actor="t")
    assert not getattr(plain, "_prefetched_objects_cache", None)
    loaded = order_create(
        channel=shop["channel"], data=_validated(payload("P-2")), actor="t", with_related=True
    )
    assert [line.sku for line in loaded.lines.all()] == ["A", "B"]
    assert [event.type for event in loaded.events.all()][0] == "created"
    assert len(loaded.payments.all()) == 1
