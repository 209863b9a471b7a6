"""Date-only times from 3PLs are never in the future, and a shipment delivered by staff or
recorded as delivered announces it as a carrier's scan does, once."""

from datetime import UTC, datetime

import pytest
import time_machine

from oms_project.models import OutboxEvent
from orders.models import Shipment, ShipmentEvent
from orders.services import shipment_create, shipment_mark_delivered
from orders.services.tracking import shipment_track
from tests.orders.shipping import line_ids, paid_order, post_json

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _shipment(order, reference="PKG-1", **options) -> Shipment:
    return shipment_create(
        order=order, reference=reference, lines={order.lines.get().pk: 2}, actor="3pl",
        carrier_name="UPS", tracking_url="https://ups.example/t/1", tracking_number="1Z1",
        **options,
    )


def _topics(order) -> list[str]:
    return list(
        OutboxEvent.objects.filter(reference=order.number).order_by("pk").values_list(
            "topic", flat=True
        )
    )


def test_a_date_only_delivery_scan_of_today_is_accepted_in_the_morning(shop, stock, make_client):
    with time_machine.travel(MORNING, tick=False):
        shipment = _shipment(paid_order(shop, stock))
        client = make_client(scopes=["shipments:write"])
        response = post_json(
            client, f"/api/v1/shipments/{shipment.pk}/events/",
            {"status": "delivered", "time": "2026-03-02"},
        )
    assert response.status_code == 201, response.content
    shipment.refresh_from_db()
    assert shipment.delivered_at == MORNING  # not 12:00, four hours ahead


def test_a_date_only_time_of_a_past_day_is_noon(shop, stock, make_client):
    with time_machine.travel(MORNING, tick=False):
        shipment = _shipment(paid_order(shop, stock))
        client = make_client(scopes=["shipments:write"])
        response = post_json(
            client, f"/api/v1/shipments/{shipment.pk}/events/",
            {"status": "in_transit", "time": "2026-03-01"},
        )
    assert response.status_code == 201, response.content
    assert ShipmentEvent.objects.get().occurred_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_date_only_shipped_date_of_today_is_not_stored_in_the_future(shop, stock, api):
    with time_machine.travel(MORNING, tick=False):
        order = paid_order(shop, stock)
        response = post_json(api, "/api/v1/orders/shipments/", {
            "orderId": order.number,
            "shipments": [{
                "shipmentRef": "PKG-1",
                "shippedDate": "2026-03-02",
                "lineItems": [{"lineItemId": line_ids(order)["A"], "quantity": 2}],
            }],
        })
    assert response.status_code == 201, response.content
    assert Shipment.objects.get().shipped_at == MORNING
    shipped = OutboxEvent.objects.get(topic="order.shipped")
    assert shipped.payload["shipment"]["shipped_at"] == MORNING.isoformat()


def test_marking_delivered_announces_it_like_a_carrier_scan_once(shop, stock):
    order = paid_order(shop, stock)
    shipment = _shipment(order)
    shipment_mark_delivered(shipment=shipment, actor="user:ops")
    shipment_mark_delivered(shipment=shipment, actor="user:ops")  # again: nothing new
    shipment_track(shipment=shipment, status="delivered", actor="ups")  # the scan, late
    assert _topics(order) == [
        "order.created", "order.paid", "order.shipped", "shipment.delivered", "order.delivered",
    ]
    event = ShipmentEvent.objects.filter(shipment=shipment).first()
    assert (event.status, event.actor) == ("delivered", "user:ops")
    delivered = OutboxEvent.objects.get(topic="shipment.delivered")
    assert delivered.payload["event"]["status"] == "delivered"
    assert delivered.payload["status"] == "delivered"


def test_a_shipment_recorded_as_delivered_announces_it_once(shop, stock):
    order = paid_order(shop, stock)
    shipment = _shipment(order, status="delivered")
    _shipment(order, status="delivered")  # the 3PL sends it again
    assert _topics(order) == [
        "order.created", "order.paid", "order.shipped", "shipment.delivered", "order.delivered",
    ]
    assert list(shipment.events.values_list("status", flat=True)) == ["delivered"]
    order.refresh_from_db()
    assert order.status == "complete"
