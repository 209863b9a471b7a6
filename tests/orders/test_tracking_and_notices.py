"""Tracking events, completion on delivery, staff alerts, delay notices and follow-ups."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from oms_project.models import EmailMessage, OutboxEvent
from orders.models import CustomerNotice, Shipment, ShipmentEvent
from orders.services import shipment_create
from orders.services.customer_notices import (
    delay_notices_send,
    delivery_follow_ups_send,
    refund_notify,
)
from tests.orders.shipping import line_ids, paid_order, post_json

pytestmark = pytest.mark.django_db


def _left_before(estimated):
    """When the parcel left: days before a late estimate, else long before the delivery
    scans these tests post (fixed dates in November 2026, or some days ago)."""
    if estimated is None:
        return min(datetime(2026, 11, 1, 9, tzinfo=UTC), timezone.now() - timedelta(days=30))
    if estimated >= timezone.localdate():
        return None
    return timezone.make_aware(datetime.combine(estimated, time(9)) - timedelta(days=3))


def shipped(shop, stock, *, quantity_a=2, estimated=None, split=False):
    order = paid_order(shop, stock, quantity_a=quantity_a)
    line_id = line_ids(order)["A"]
    parts = [1, quantity_a - 1] if split else [quantity_a]
    shipments = [
        shipment_create(
            order=order, reference=f"S{index}", lines={line_id: units}, actor="test",
            service_level=shop["service_level"], tracking_number=f"1Z{index}",
            estimated_delivery_date=estimated,
            # It left before it was expected (a late parcel left days ago).
            shipped_at=_left_before(estimated),
        )
        for index, units in enumerate(parts, start=1)
    ]
    order.refresh_from_db()
    return order, shipments


def test_delivered_on_every_shipment_completes_the_order(api, shop, stock):
    order, (first, second) = shipped(shop, stock, split=True)
    assert order.status == "shipped"
    response = post_json(
        api, f"/api/v1/shipments/{first.pk}/events/",
        {"status": "delivered", "time": "2026-11-29T10:00:00Z", "location": "Reno"},
    )
    assert response.status_code == 201, response.json()
    order.refresh_from_db()
    assert order.status == "shipped"
    assert not EmailMessage.objects.filter(template="order_delivered").exists()
    post_json(api, f"/api/v1/shipments/{second.pk}/events/", {"status": "delivered"})
    order.refresh_from_db()
    assert order.status == "complete"
    first.refresh_from_db()
    assert first.delivered_at.isoformat() == "2026-11-29T10:00:00+00:00"
    assert OutboxEvent.objects.filter(topic="order.delivered").count() == 1
    message = EmailMessage.objects.get(template="order_delivered")
    assert "help@shop.test" in message.body_text
    assert order.events.filter(to_status="complete").count() == 1


def test_exception_alerts_staff_and_emits_an_event(api, shop, stock, settings):
    settings.OMS_STAFF_ALERT_EMAILS = ["ops@shop.test"]
    order, (shipment,) = shipped(shop, stock)
    response = post_json(
        api, f"/api/v1/shipments/{shipment.pk}/events/",
        {"status": "exception", "location": "Sparks hub", "message": "Address not found"},
    )
    assert response.status_code == 201
    shipment.refresh_from_db()
    assert shipment.status == "exception"
    alert = EmailMessage.objects.get(template="staff_alert")
    assert alert.to == "ops@shop.test"
    assert alert.subject == f"[OMS] Shipment exception on order {order.number}"
    assert "Sparks hub: Address not found" in alert.body_text
    event = OutboxEvent.objects.get(topic="shipment.exception")
    assert event.payload["event"]["message"] == "Address not found"


def test_an_older_scan_does_not_move_the_shipment_back(api, shop, stock):
    _, (shipment,) = shipped(shop, stock)
    post_json(api, f"/api/v1/shipments/{shipment.pk}/events/",
              {"status": "out_for_delivery", "time": "2026-11-29T08:00:00Z"})
    post_json(api, f"/api/v1/shipments/{shipment.pk}/events/",
              {"status": "in_transit", "time": "2026-11-28T08:00:00Z"})
    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert list(shipment.events.values_list("status", flat=True)) == [
        "in_transit", "out_for_delivery"
    ]


def test_bad_tracking_events_are_refused_and_nothing_is_written(api, shop, stock):
    _, (shipment,) = shipped(shop, stock)
    path = f"/api/v1/shipments/{shipment.pk}/events/"
    unknown = post_json(api, path, {"status": "teleported"})
    assert unknown.status_code == 400
    assert list(unknown.json()["errors"]) == ["status"]
    bad_time = post_json(api, path, {"status": "in_transit", "time": "29.11.2026"})
    assert bad_time.status_code == 400
    assert list(bad_time.json()["errors"]) == ["time"]
    future = (timezone.now() + timedelta(days=2)).isoformat()
    in_future = post_json(api, path, {"status": "in_transit", "time": future})
    assert in_future.status_code == 400
    assert in_future.json()["errors"] == {"time": ["This time is in the future."]}
    assert ShipmentEvent.objects.count() == 0
    shipment.refresh_from_db()
    assert shipment.status == "awaiting"


def test_other_channels_cannot_track_this_shipment(shop, stock, make_client):
    from tests.factories import SalesChannelFactory

    _, (shipment,) = shipped(shop, stock)
    other = make_client(channel=SalesChannelFactory(code="market"))
    response = post_json(other, f"/api/v1/shipments/{shipment.pk}/events/", {"status": "delivered"})
    assert response.status_code == 404
    assert ShipmentEvent.objects.count() == 0


def test_delay_notice_once_per_late_shipment_and_again_for_a_new_estimate(shop, stock):
    today = timezone.localdate()
    order, (shipment,) = shipped(shop, stock, estimated=today - timedelta(days=1))
    assert delay_notices_send() == 1
    assert delay_notices_send() == 0
    message = EmailMessage.objects.get(template="delay_notice")
    assert message.subject == f"Your Web shop order {order.number} is delayed"
    assert "1Z1, expected" in message.body_text
    assert "https://track.example/1Z1" in message.body_text
    Shipment.objects.filter(pk=shipment.pk).update(
        estimated_delivery_date=today - timedelta(days=2)
    )
    assert delay_notices_send() == 1
    assert CustomerNotice.objects.filter(order=order, kind="delay").count() == 2


def test_shipments_on_time_or_delivered_get_no_delay_notice(shop, stock):
    today = timezone.localdate()
    shipped(shop, stock, estimated=today)
    assert delay_notices_send() == 0
    assert not EmailMessage.objects.filter(template="delay_notice").exists()


def test_backordered_lines_get_one_delay_notice(shop, stock, settings):
    settings.OMS_BACKORDER_NOTICE_AFTER_HOURS = 24
    from orders.services import order_create
    from tests.orders.conftest import order_data

    stock("A", "EAST", 1)
    order = order_create(
        channel=shop["channel"],
        data=order_data(placed_at=timezone.now() - timedelta(days=2)),
        actor="test",
    )
    order.refresh_from_db()
    assert order.status == "backordered"
    assert delay_notices_send() == 1
    assert delay_notices_send() == 0
    message = EmailMessage.objects.get(template="delay_notice")
    assert "- 1 x Product A (A)" in message.body_text
    assert "waiting for stock" in message.body_text


def test_follow_up_is_sent_once_some_days_after_delivery(shop, stock, settings):
    settings.OMS_FOLLOW_UP_DAYS = 5
    order, (shipment,) = shipped(shop, stock)
    from orders.services import shipment_mark_delivered

    delivered = timezone.now() - timedelta(days=3)
    shipment_mark_delivered(shipment=shipment, actor="test", delivered_at=delivered)
    assert delivery_follow_ups_send() == 0
    later = timezone.now() + timedelta(days=2, hours=1)
    assert delivery_follow_ups_send(now=later) == 1
    assert delivery_follow_ups_send(now=later) == 0
    message = EmailMessage.objects.get(template="delivery_follow_up")
    assert message.reference == f"order:{order.number}"
    assert "help@shop.test" in message.body_text
    assert "within 30 days" in message.body_text
    settings.OMS_FOLLOW_UP_DAYS = 0
    assert delivery_follow_ups_send(now=later) == 0


def test_follow_up_delay_is_the_channels_own_when_it_sets_one(shop, stock, settings):
    settings.OMS_FOLLOW_UP_DAYS = 5
    channel = shop["channel"]
    channel.follow_up_days = 2
    channel.save(update_fields=["follow_up_days"])
    order, (shipment,) = shipped(shop, stock)
    from orders.services import shipment_mark_delivered

    shipment_mark_delivered(
        shipment=shipment, actor="test", delivered_at=timezone.now() - timedelta(days=1)
    )
    assert delivery_follow_ups_send() == 0
    assert delivery_follow_ups_send(now=timezone.now() + timedelta(days=1, hours=1)) == 1
    assert EmailMessage.objects.filter(template="delivery_follow_up").count() == 1


def test_a_channel_can_turn_follow_ups_off(shop, stock, settings):
    settings.OMS_FOLLOW_UP_DAYS = 5
    channel = shop["channel"]
    channel.follow_up_days = 0
    channel.save(update_fields=["follow_up_days"])
    order, (shipment,) = shipped(shop, stock)
    from orders.services import shipment_mark_delivered

    shipment_mark_delivered(
        shipment=shipment, actor="test", delivered_at=timezone.now() - timedelta(days=6)
    )
    assert delivery_follow_ups_send() == 0
    channel.follow_up_days = None
    channel.save(update_fields=["follow_up_days"])
    assert delivery_follow_ups_send() == 1


def test_refund_notice_emits_event_and_emails_the_customer(shop, stock):
    from decimal import Decimal

    order, _ = shipped(shop, stock)
    line_id = line_ids(order)["A"]
    refund_notify(
        order=order, refund_reference="R-1", amount=Decimal("12.00"), actor="test",
        tax_amount=Decimal("1.00"), method="card", reason="Damaged", lines={line_id: 1},
    )
    event = OutboxEvent.objects.get(topic="refund.completed")
    assert event.payload["amount"] == "12.00"
    assert event.payload["lines"] == [{"line_id": line_id, "quantity": 1}]
    message = EmailMessage.objects.get(template="refund_issued")
    assert message.subject == f"Refund of 12.00 USD for your Web shop order {order.number}"
    assert "- 1 x Product A (A)" in message.body_text
    assert "Reason: Damaged" in message.body_text


def test_estimated_date_in_the_past_is_only_a_date(shop, stock):
    _, (shipment,) = shipped(shop, stock, estimated=date(2026, 1, 2))
    assert shipment.estimated_delivery_date == date(2026, 1, 2)


def test_a_parcel_cannot_be_expected_before_it_left(shop, stock):
    from orders.errors import OrderValidationError

    order = paid_order(shop, stock, quantity_a=2)
    with pytest.raises(OrderValidationError) as refused:
        shipment_create(
            order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
            estimated_delivery_date=timezone.localdate() - timedelta(days=1),
        )
    assert "estimated_delivery_date" in refused.value.errors
    assert not order.shipments.exists()


def test_a_delivery_scan_dated_before_the_parcel_left_counts_from_when_it_left(
    api, shop, stock
):
    """A carrier clock behind ours must not give an impossible delivered_at (before the
    parcel left), which e-mails, webhooks and return windows would carry."""
    order = paid_order(shop, stock, quantity_a=1)
    created = post_json(api, f"/api/v1/orders/{order.number}/shipments/", {
        "reference": "PKG-1", "shipped_at": "2026-11-30T12:00:00Z",
        "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}],
    })
    assert created.status_code == 201, created.content
    scan = post_json(api, f"/api/v1/shipments/{created.json()['id']}/events/",
                     {"status": "delivered", "time": "2026-11-20T12:00:00Z"})
    assert scan.status_code == 201, scan.content
    shipment = Shipment.objects.get(pk=created.json()["id"])
    assert shipment.status == "delivered"
    assert shipment.delivered_at == shipment.shipped_at
