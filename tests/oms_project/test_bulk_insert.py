"""`rows_insert` writes new rows as `bulk_create` does (COPY on PostgreSQL): every instance
gets its pk, in order; auto_now_add, JSON, enums, decimals, dates, NULLs and foreign keys
to instances inserted just before read back exactly."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms_project.bulk_insert import rows_insert
from oms_project.models import OutboxEvent
from orders.fulfillment_models import FulfillmentOrder, FulfillmentOrderLine, RoutingDecision
from orders.models import Order, OrderEvent, OrderLine
from orders.states import OrderStatus
from tests.factories import OrderFactory, OrderLineFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["copy", "insert"])
def rows_path(request, monkeypatch):
    """Every test runs through COPY (from the first row) and through one INSERT (`bulk_create`
    on SQLite)."""
    threshold = 1 if request.param == "copy" else 10**9
    monkeypatch.setattr("oms_project.bulk_insert.COPY_FROM_ROWS", threshold)
    return request.param


def test_few_rows_are_one_insert_and_many_a_copy(monkeypatch):
    monkeypatch.setattr("oms_project.bulk_insert.COPY_FROM_ROWS", 3)
    order = OrderFactory()
    with CaptureQueriesContext(connection) as captured:
        rows_insert([OrderEvent(order=order, type="a") for _ in range(2)])
    assert [query["sql"][:6] for query in captured.captured_queries] == ["INSERT"]
    with CaptureQueriesContext(connection) as captured:
        rows_insert([OrderEvent(order=order, type="b") for _ in range(3)])
    expected = ["SELECT", 'COPY "'] if connection.vendor == "postgresql" else ["INSERT"]
    assert [query["sql"][:6] for query in captured.captured_queries] == expected
    assert OrderEvent.objects.count() == 5


def test_rows_that_bring_their_pk_keep_it_and_the_others_get_one():
    order = OrderFactory()
    taken = OrderEvent.objects.create(order=order, type="first").pk
    own = OrderEvent(order=order, type="own", pk=taken + 1000)
    events = [OrderEvent(order=order, type="a"), own, OrderEvent(order=order, type="b")]
    rows_insert(events)
    assert own.pk == taken + 1000
    assert None not in [event.pk for event in events]
    assert {event.pk: event.type for event in OrderEvent.objects.exclude(pk=taken)} == {
        event.pk: event.type for event in events
    }


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's fallback")
def test_a_database_that_cannot_return_pks_from_a_bulk_insert_still_gives_every_row_its_pk(
    monkeypatch,
):
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    order = OrderFactory()
    events = rows_insert([OrderEvent(order=order, type=f"e{index}") for index in range(3)])
    assert None not in [event.pk for event in events]
    assert not any(event._state.adding for event in events)
    assert {event.pk: event.type for event in OrderEvent.objects.all()} == {
        event.pk: event.type for event in events
    }


def test_nothing_to_insert_makes_no_query():
    with CaptureQueriesContext(connection) as captured:
        assert rows_insert([]) == []
    assert captured.captured_queries == []


def test_rows_get_ascending_pks_and_read_back_as_written():
    order = OrderFactory()
    before = timezone.now()
    tricky = 'quote " backslash \\ tab \t newline \n comma , braces {} unicode é'
    events = [
        OrderEvent(
            order=order,
            type="note",
            message=tricky,
            actor="a" * 150,
            data={"n": index, "nested": {"list": [1, "x", None]}, "text": tricky},
        )
        for index in range(3)
    ] + [OrderEvent(order=order, type="status_changed", to_status=OrderStatus.PROCESSING)]
    assert all(a is b for a, b in zip(rows_insert(events), events, strict=True))
    pks = [event.pk for event in events]
    assert pks == sorted(pks) and None not in pks
    assert not any(event._state.adding for event in events)
    stored = list(OrderEvent.objects.filter(pk__in=pks).order_by("pk"))
    assert [event.data for event in stored[:3]] == [
        {"n": index, "nested": {"list": [1, "x", None]}, "text": tricky} for index in range(3)
    ]
    assert {event.message for event in stored[:3]} == {tricky}
    assert stored[3].to_status == "processing" and stored[3].data == {}
    assert all(event.created_at >= before for event in stored)
    assert [event.created_at for event in events] == [event.created_at for event in stored]


def test_decimals_are_written_exactly():
    template = OrderLineFactory()
    lines = rows_insert(
        [
            OrderLine(
                order=template.order,
                product=template.product,
                sku="D",
                name="D",
                quantity=3,
                unit_price=Decimal("0.10"),
                discount=Decimal("0.01"),
                line_total=Decimal("0.29"),
            )
        ]
    )
    stored = OrderLine.objects.get(pk=lines[0].pk)
    assert (stored.unit_price, stored.discount, stored.line_total) == (
        Decimal("0.10"),
        Decimal("0.01"),
        Decimal("0.29"),
    )


def test_foreign_keys_to_rows_inserted_just_before_and_nulls():
    line = OrderLineFactory()
    order = line.order
    warehouse = WarehouseFactory()
    decision = RoutingDecision(
        order=order,
        trigger=RoutingDecision.Trigger.ALLOCATION,
        strategies=["priority", "a,b"],
        locations=[warehouse.code],
        explanation={"why": "test"},
    )
    rows_insert([decision])
    fulfillment = FulfillmentOrder(
        order=order,
        warehouse=warehouse,
        routing_decision=decision,
        promised_ship_date=date(2026, 12, 1),
        promised_delivery_date=None,
    )
    rows_insert([fulfillment])  # a foreign key to a decision that got its pk from rows_insert
    rows_insert([FulfillmentOrderLine(fulfillment_order=fulfillment, order_line=line, quantity=2)])
    stored = FulfillmentOrder.objects.get(pk=fulfillment.pk)
    assert stored.routing_decision_id == decision.pk
    assert (stored.promised_ship_date, stored.promised_delivery_date) == (date(2026, 12, 1), None)
    assert RoutingDecision.objects.get(pk=decision.pk).strategies == ["priority", "a,b"]
    assert stored.lines.get().quantity == 2


def test_a_failed_insert_leaves_nothing_and_the_transaction_usable():
    order = OrderFactory()
    expected = DataError if connection.vendor == "postgresql" else ValueError
    with pytest.raises(expected), transaction.atomic():
        rows_insert([OrderEvent(order=order, type="x" * 41)])  # over max_length 40 (PostgreSQL)
        if connection.vendor != "postgresql":  # SQLite does not enforce lengths
            raise ValueError("SQLite keeps long strings")
    assert not OrderEvent.objects.filter(type__startswith="xxx").exists()
    assert Order.objects.filter(pk=order.pk).exists()


def test_defaults_such_as_uuids_are_written():
    events = rows_insert([OutboxEvent(topic="t", payload={"a": 1}) for _ in range(2)])
    stored = {event.pk: event.event_id for event in OutboxEvent.objects.all()}
    assert {event.pk: event.event_id for event in events} == stored
    assert len(set(stored.values())) == 2


def test_a_unique_clash_is_djangos_integrity_error():
    """Callers fall back on `IntegrityError` (a batch clashing with a concurrent write)."""
    [first] = rows_insert([OutboxEvent(topic="t")])
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert([OutboxEvent(topic="t", event_id=first.event_id)])
    assert OutboxEvent.objects.count() == 1


def test_fields_that_prepare_their_values_are_prepared():
    """A country field holds a `Country`; the code is what is written."""
    from customers.models import Address
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    [address] = rows_insert(
        [Address(customer=customer, line1="1 rue", city="Paris", country="FR", fingerprint="f")]
    )
    assert Address.objects.values_list("country", flat=True).get(pk=address.pk) == "FR"


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_naive_datetimes_are_read_in_the_default_time_zone_as_django_reads_them(settings):
    from datetime import UTC, datetime

    settings.TIME_ZONE = "Asia/Tokyo"
    order = OrderFactory()
    [written] = rows_insert(
        [
            Order(
                number="N1",
                channel=order.channel,
                channel_order_id="N1",
                customer=order.customer,
                email="n@example.com",
                placed_at=datetime(2026, 12, 1, 9, 0),
            )
        ]
    )
    stored = Order.objects.get(pk=written.pk).placed_at
    assert stored == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
