"""Shipment service: partial and full shipping, over-shipping refused, carriers and links."""

from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from oms_project.models import EmailMessage, OutboxEvent
from orders.errors import InvalidTransition, OrderValidationError
from orders.models import Shipment
from orders.services import shipment_create
from tests.factories import CarrierFactory
from tests.orders.shipping import line_ids, paid_order

pytestmark = pytest.mark.django_db


def east_level(sku: str = "A") -> StockLevel:
    return StockLevel.objects.get(product__sku=sku, warehouse__code="EAST")


def test_partial_then_full_shipment_consumes_allocation_and_moves_order(shop, stock):
    order = paid_order(shop, stock, quantity_a=3)
    line_id = line_ids(order)["A"]
    assert (east_level().on_hand, east_level().allocated) == (10, 3)

    first = shipment_create(
        order=order, reference="S1", lines={line_id: 1}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z1",
    )
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    assert (east_level().on_hand, east_level().allocated) == (9, 2)
    assert first.tracking_url == "https://track.example/1Z1"
    assert first.carrier_name == shop["service_level"].carrier.name

    shipment_create(order=order, reference="S2", lines={line_id: 2}, actor="test")
    order.refresh_from_db()
    line = order.lines.get()
    assert order.status == "shipped"
    assert (line.quantity_allocated, line.quantity_shipped) == (0, 3)
    assert (east_level().on_hand, east_level().allocated) == (7, 0)
    shipped = StockMovement.objects.filter(reason="shipment").order_by("pk")
    assert [(m.delta_on_hand, m.delta_allocated) for m in shipped] == [(-1, -1), (-2, -2)]
    assert OutboxEvent.objects.filter(topic="order.shipped").count() == 2


def test_over_shipping_is_refused_and_writes_nothing(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    events_before = OutboxEvent.objects.count()
    emails_before = EmailMessage.objects.count()
    with pytest.raises(OrderValidationError) as raised:
        shipment_create(order=order, reference="S1", lines={line_id: 3}, actor="test")
    assert raised.value.errors == {
        "lines": {str(line_id): ["Only 2 unit(s) are allocated and not yet shipped."]}
    }
    order.refresh_from_db()
    assert order.status == "processing"
    assert Shipment.objects.count() == 0
    assert (east_level().on_hand, east_level().allocated) == (10, 2)
    assert OutboxEvent.objects.count() == events_before
    assert EmailMessage.objects.count() == emails_before


def test_unknown_line_is_refused(shop, stock):
    order = paid_order(shop, stock)
    with pytest.raises(OrderValidationError) as raised:
        shipment_create(order=order, reference="S1", lines={999999: 1}, actor="test")
    assert raised.value.errors == {"lines": {"999999": ["No such line on this order."]}}
    assert Shipment.objects.count() == 0


def test_unknown_carrier_needs_a_tracking_url(shop, stock):
    order = paid_order(shop, stock)
    line_id = line_ids(order)["A"]
    with pytest.raises(OrderValidationError) as raised:
        shipment_create(
            order=order, reference="S1", lines={line_id: 1}, actor="test",
            carrier_name="Pigeon Post", tracking_number="P1",
        )
    assert list(raised.value.errors) == ["carrier"]
    assert Shipment.objects.count() == 0
    shipment = shipment_create(
        order=order, reference="S1", lines={line_id: 1}, actor="test",
        carrier_name="Pigeon Post", tracking_number="P1",
        tracking_url="https://pigeon.example/P1",
    )
    assert (shipment.carrier_name, shipment.tracking_url) == (
        "Pigeon Post", "https://pigeon.example/P1"
    )


def test_known_carrier_by_code_builds_the_link(shop, stock):
    CarrierFactory(code="dhl", name="DHL", tracking_url_template="https://dhl.example/?n={tracking_number}")
    order = paid_order(shop, stock)
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        carrier_name="dhl", tracking_number="JD0001",
    )
    assert (shipment.carrier_name, shipment.tracking_url) == (
        "DHL", "https://dhl.example/?n=JD0001"
    )


def test_same_reference_twice_returns_the_first_and_ships_once(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    first = shipment_create(order=order, reference="S1", lines={line_id: 1}, actor="test")
    again = shipment_create(order=order, reference="S1", lines={line_id: 1}, actor="test")
    assert again.pk == first.pk
    assert order.lines.get().quantity_shipped == 1


def test_unpaid_order_cannot_ship(shop, stock):
    stock("A", "EAST", 5)
    from orders.services import order_create
    from tests.orders.conftest import order_data

    order = order_create(channel=shop["channel"], data=order_data(payment=None), actor="t")
    with pytest.raises(InvalidTransition):
        shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 1}, actor="t")
    assert Shipment.objects.count() == 0


def test_shipment_email_has_tracking_link_lines_and_channel_branding(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z9",
    )
    message = EmailMessage.objects.get(template="shipment_confirmation")
    assert message.to == "jane@example.com"
    assert message.reference == f"order:{order.number}"
    assert message.subject == f"Your Web shop order {order.number} has shipped"
    assert "Track it: https://track.example/1Z9" in message.body_text
    assert "- 2 x Product A (A)" in message.body_text
    assert 'href="https://track.example/1Z9"' in message.body_html
    assert "help@shop.test" in message.body_html


def test_shipment_without_tracking_sends_no_email_until_tracking_is_added(shop, stock):
    from orders.services.tracking import shipment_tracking_update

    order = paid_order(shop, stock)
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        service_level=shop["service_level"],
    )
    assert not EmailMessage.objects.filter(template="shipment_confirmation").exists()
    shipment_tracking_update(shipment=shipment, tracking_number="1Z5", actor="test")
    shipment_tracking_update(shipment=shipment, tracking_number="1Z6", actor="test")
    message = EmailMessage.objects.get(template="shipment_confirmation")
    assert "https://track.example/1Z5" in message.body_text
    shipment.refresh_from_db()
    assert shipment.tracking_url == "https://track.example/1Z6"


def test_refund_money_is_not_touched_by_shipping(shop, stock):
    order = paid_order(shop, stock)
    shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="t")
    order.refresh_from_db()
    assert (order.paid_total, order.refund_due) == (Decimal("27.00"), Decimal("0.00"))


def shipped_snapshot(order) -> tuple:
    """What a refused shipment must leave untouched: lines, stock, shipments, events, mail."""
    order.refresh_from_db()
    return (
        order.status,
        list(order.lines.order_by("pk").values_list("quantity_allocated", "quantity_shipped")),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
        list(Shipment.objects.order_by("pk").values_list("reference", "tracking_number")),
        order.events.count(),
        OutboxEvent.objects.count(),
        EmailMessage.objects.count(),
    )


def test_same_reference_and_content_replays_even_after_the_order_shipped(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    first = shipment_create(
        order=order, reference="S1", lines={line_id: 2}, actor="test", carrier_name="dhl",
        tracking_number="JD1", tracking_url="https://dhl.example/JD1",
    )
    before = shipped_snapshot(order)
    assert before[0] == "shipped"
    again = shipment_create(
        order=order, reference="S1", lines={line_id: 2}, actor="test", carrier_name="dhl",
        tracking_number="JD1", tracking_url="https://dhl.example/JD1",
    )
    assert again.pk == first.pk
    assert shipped_snapshot(order) == before


@pytest.mark.parametrize(
    "change",
    [
        {"lines": "other line"},
        {"lines": "other quantity"},
        {"carrier_name": "UPS"},
        {"tracking_number": "1Z-OTHER"},
        {"tracking_url": "https://other.example/1"},
    ],
)
def test_same_reference_with_other_content_is_a_conflict_and_changes_nothing(
    shop, stock, change
):
    from orders.services.shipments import ShipmentReferenceReused

    order = paid_order(shop, stock, quantity_a=3, quantity_b=1)
    ids = line_ids(order)
    original = {
        "lines": {ids["A"]: 1}, "carrier_name": "DHL", "tracking_number": "JD1",
        "tracking_url": "https://dhl.example/JD1",
    }
    shipment_create(order=order, reference="SH1", actor="test", **original)
    before = shipped_snapshot(order)
    attempt = {**original, **change}
    if change.get("lines") == "other line":
        attempt["lines"] = {ids["B"]: 1}
    elif change.get("lines") == "other quantity":
        attempt["lines"] = {ids["A"]: 2}
    with pytest.raises(ShipmentReferenceReused) as raised:
        shipment_create(order=order, reference="SH1", actor="test", **attempt)
    assert raised.value.code == "shipment_reference_reused"
    assert raised.value.status == 409
    assert list(raised.value.errors) == ["reference"]
    assert shipped_snapshot(order) == before


def test_pickup_order_cannot_ship_and_nothing_changes(shop, stock):
    stock("A", "STORE1", 2)
    order = paid_order(shop, stock, fulfillment_method="pickup", pickup_location="STORE1")
    assert order.status == "processing"
    before = shipped_snapshot(order)
    with pytest.raises(InvalidTransition) as raised:
        shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 1}, actor="t")
    assert "handed over in store" in raised.value.detail
    assert shipped_snapshot(order) == before
    assert order.fulfillment_orders.get().status == "open"
