"""A shipment sent again under its reference: news about the same parcel (tracking given for
the first time, a new status, new dates) updates it; another parcel's content is refused.
Also the carrier tracking links, whose numbers are URL-encoded."""

from datetime import date

import pytest

from inventory.models import StockLevel
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Shipment, ShipmentEvent
from orders.services import shipment_create
from tests.factories import CarrierFactory
from tests.orders.shipping import line_ids, paid_order, post_json

pytestmark = pytest.mark.django_db

CHANNEL_SHAPE = "/api/v1/orders/shipments/"


def parcel_state(order) -> tuple:
    """What a resend never changes: lines shipped, stock, and the shipment's units."""
    order.refresh_from_db()
    return (
        list(order.lines.order_by("pk").values_list("quantity_allocated", "quantity_shipped")),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
        list(Shipment.objects.order_by("pk").values_list("reference", "lines__quantity")),
    )


def shipment_emails(order) -> list[EmailMessage]:
    return list(
        EmailMessage.objects.filter(
            template="shipment_confirmation", reference=f"order:{order.number}"
        )
    )


def without_tracking(shop, stock, **options):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    shipment = shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
        service_level=shop["service_level"], **options,
    )
    order.refresh_from_db()
    return order, line_id, shipment


def test_a_resend_with_a_tracking_number_adds_it_and_emails_the_customer_once(shop, stock):
    order, line_id, shipment = without_tracking(shop, stock)
    before = parcel_state(order)
    assert shipment_emails(order) == []

    again = shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
        service_level=shop["service_level"], tracking_number="1Z77",
    )

    assert again.pk == shipment.pk
    shipment.refresh_from_db()
    assert (shipment.tracking_number, shipment.tracking_url) == (
        "1Z77", "https://track.example/1Z77"
    )
    [email] = shipment_emails(order)
    assert "Track it: https://track.example/1Z77" in email.body_text
    assert "- 2 x Product A (A)" in email.body_text
    assert order.events.filter(type="shipment_tracking").count() == 1
    assert parcel_state(order) == before
    # The same news once more is a replay: nothing new is written or sent.
    events = order.events.count()
    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
        service_level=shop["service_level"], tracking_number="1Z77",
    )
    assert len(shipment_emails(order)) == 1
    assert order.events.count() == events


def test_a_resend_with_a_new_status_moves_the_shipment_as_a_tracking_event_does(shop, stock):
    order, line_id, shipment = without_tracking(shop, stock, tracking_number="1Z1")
    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl", status="in_transit",
    )
    shipment.refresh_from_db()
    assert shipment.status == "in_transit"
    assert list(ShipmentEvent.objects.values_list("status", "actor")) == [("in_transit", "3pl")]
    assert OutboxEvent.objects.filter(topic="shipment.in_transit").count() == 1

    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl", status="delivered",
    )
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert (shipment.status, order.status) == ("delivered", "complete")
    assert shipment.delivered_at is not None
    assert EmailMessage.objects.filter(template="order_delivered").count() == 1


def test_a_stale_resend_does_not_take_the_parcel_back(shop, stock):
    """The 3PL re-posts its first message (awaiting) after a carrier scan (in transit)."""
    order, line_id, shipment = without_tracking(shop, stock, tracking_number="1Z1")
    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl", status="in_transit",
    )
    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl", status="awaiting",
    )
    shipment.refresh_from_db()
    assert shipment.status == "in_transit"
    assert not OutboxEvent.objects.filter(topic="shipment.awaiting").exists()


def test_a_resend_without_the_url_keeps_the_one_given_first(shop, stock):
    order, line_id, shipment = without_tracking(
        shop, stock, tracking_number="1Z1", tracking_url="https://custom.example/1Z1",
    )
    again = shipment_create(order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
                            service_level=shop["service_level"], tracking_number="1Z1")
    assert again.pk == shipment.pk
    shipment.refresh_from_db()
    assert shipment.tracking_url == "https://custom.example/1Z1"


def test_a_resend_with_new_dates_updates_them(shop, stock):
    from datetime import UTC, datetime

    order, line_id, shipment = without_tracking(shop, stock, tracking_number="1Z1")
    before = parcel_state(order)
    shipped_at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    shipment_create(
        order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
        estimated_delivery_date=date(2026, 12, 4), shipped_at=shipped_at,
    )
    shipment.refresh_from_db()
    assert (shipment.estimated_delivery_date, shipment.shipped_at) == (
        date(2026, 12, 4), shipped_at
    )
    event = order.events.get(type="shipment_updated")
    assert "2026-12-04" in event.message
    assert parcel_state(order) == before
    assert len(shipment_emails(order)) == 1  # the first e-mail, when it shipped


def test_a_resend_that_leaves_tracking_out_keeps_it(shop, stock):
    order, line_id, shipment = without_tracking(shop, stock, tracking_number="1Z1")
    events = order.events.count()
    again = shipment_create(order=order, reference="SH1", lines={line_id: 2}, actor="3pl")
    assert again.pk == shipment.pk
    shipment.refresh_from_db()
    assert (shipment.tracking_number, shipment.status) == ("1Z1", "awaiting")
    assert order.events.count() == events


def test_news_with_other_lines_is_refused_and_nothing_is_applied(shop, stock):
    from orders.errors import ShipmentReferenceReused

    order = paid_order(shop, stock, quantity_a=3)
    line_id = line_ids(order)["A"]
    shipment_create(order=order, reference="SH1", lines={line_id: 1}, actor="3pl")
    before = parcel_state(order)
    with pytest.raises(ShipmentReferenceReused) as raised:
        shipment_create(
            order=order, reference="SH1", lines={line_id: 2}, actor="3pl",
            service_level=shop["service_level"], tracking_number="1Z9", status="in_transit",
        )
    assert raised.value.extra["differences"] == ["lines"]
    shipment = Shipment.objects.get()
    assert (shipment.tracking_number, shipment.status) == ("", "awaiting")
    assert parcel_state(order) == before
    assert shipment_emails(order) == []
    assert not ShipmentEvent.objects.exists()


def test_the_reuse_error_lives_with_the_other_order_errors():
    from orders.errors import ShipmentReferenceReused
    from orders.services.shipments import ShipmentReferenceReused as from_the_service

    assert from_the_service is ShipmentReferenceReused
    assert ShipmentReferenceReused.code == "shipment_reference_reused"


def test_native_shape_resend_with_tracking_is_200_with_the_updated_shipment(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    path = f"/api/v1/orders/{order.number}/shipments/"
    lines = [{"line_id": line_ids(order)["A"], "quantity": 2}]
    first = post_json(api, path, {"reference": "SH1", "service_level": "ground", "lines": lines})
    assert first.status_code == 201, first.json()
    before = parcel_state(order)

    again = post_json(
        api, path,
        {"reference": "SH1", "service_level": "ground", "tracking_number": "1Z55",
         "status": "in_transit", "estimated_delivery_date": "2026-12-05", "lines": lines},
    )

    assert again.status_code == 200, again.json()
    body = again.json()
    assert body["id"] == first.json()["id"]
    assert (body["tracking_number"], body["tracking_url"], body["status"]) == (
        "1Z55", "https://track.example/1Z55", "in_transit"
    )
    assert body["estimated_delivery_date"] == "2026-12-05"
    [email] = shipment_emails(order)
    assert "Expected delivery" in email.body_text
    assert parcel_state(order) == before


def camel(order, line_id: int, **fields) -> dict:
    shipment = {"shipmentRef": "PKG-1", "lineItems": [{"lineItemId": line_id, "quantity": 2}]}
    shipment.update(fields)
    return {"orderId": order.number, "shipments": [shipment]}


def test_camel_shape_resend_with_tracking_and_status_updates_the_shipment(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    first = post_json(api, CHANNEL_SHAPE, camel(order, line_id, shipmentCarrier="UPS",
                                                shipmentCarrierUrl="https://ups.example/t"))
    assert first.status_code == 201, first.json()
    before = parcel_state(order)

    again = post_json(
        api, CHANNEL_SHAPE,
        camel(order, line_id, trackingNumber="1Z999", shipmentCarrier="UPS",
              shipmentCarrierUrl="https://ups.example/track/1Z999", shipmentStatus="shipped",
              shippedDate="2026-11-30T09:15:00Z"),
    )

    assert again.status_code == 200, again.json()
    [result] = again.json()["results"]
    shipment = result["shipment"]
    assert (shipment["tracking_number"], shipment["tracking_url"], shipment["status"]) == (
        "1Z999", "https://ups.example/track/1Z999", "in_transit"
    )
    assert shipment["shipped_at"].startswith("2026-11-30T09:15:00")
    assert len(shipment_emails(order)) == 1
    assert parcel_state(order) == before
    # Status only, as a 3PL sends it later: applied, not "replayed" and dropped.
    later = post_json(api, CHANNEL_SHAPE, camel(order, line_id, shipmentStatus="delivered"))
    assert later.status_code == 200, later.json()
    assert later.json()["results"][0]["shipment"]["status"] == "delivered"
    order.refresh_from_db()
    assert order.status == "complete"


def test_camel_shape_changing_a_set_tracking_number_is_still_409(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    line_id = line_ids(order)["A"]
    assert post_json(
        api, CHANNEL_SHAPE, camel(order, line_id, trackingNumber="1Z1", shipmentCarrier="UPS",
                                  shipmentCarrierUrl="https://ups.example/1Z1"),
    ).status_code == 201
    before = parcel_state(order)
    reused = post_json(
        api, CHANNEL_SHAPE, camel(order, line_id, trackingNumber="1Z2", shipmentStatus="delivered")
    )
    assert reused.status_code == 409
    assert reused.json()["code"] == "shipment_reference_reused"
    assert Shipment.objects.get().status == "awaiting"
    assert parcel_state(order) == before


def test_tracking_numbers_are_url_encoded_in_carrier_links(shop, stock):
    CarrierFactory(
        code="fedex", name="FedEx",
        tracking_url_template="https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    )
    order = paid_order(shop, stock)
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        carrier_name="fedex", tracking_number="7777 8888/&9",
    )
    assert shipment.tracking_url == (
        "https://www.fedex.com/fedextrack/?trknbr=7777%208888%2F%269"
    )
    assert shipment.tracking_number == "7777 8888/&9"


@pytest.mark.parametrize("number", ["1Z\r\nX", "=HYPERLINK(1)", "@SUM(1)", "1Z\t2"])
def test_a_tracking_number_that_cannot_be_one_is_refused(shop, stock, number):
    from orders.errors import OrderValidationError

    order = paid_order(shop, stock, quantity_a=2)
    with pytest.raises(OrderValidationError) as refused:
        shipment_create(order=order, reference="SH1", lines={line_ids(order)["A"]: 2},
                        actor="3pl", service_level=shop["service_level"], tracking_number=number)
    assert "no line breaks" in refused.value.errors["tracking_number"][0]
    assert not Shipment.objects.exists()


def test_shipping_units_from_a_location_that_does_not_hold_them_names_the_line(shop, stock):
    from inventory.errors import InsufficientStock

    order = paid_order(shop, stock, quantity_a=2)  # reserved at EAST
    line_id = line_ids(order)["A"]
    with pytest.raises(InsufficientStock) as refused:
        shipment_create(order=order, reference="W-1", lines={line_id: 2}, actor="3pl",
                        warehouse=shop["west"])
    [item] = refused.value.short
    assert (item["sku"], item["line_id"], item["warehouse"]) == ("A", line_id, "WEST")
    assert "A@WEST" in refused.value.detail
    assert not Shipment.objects.exists()


def test_a_shipment_reported_without_a_location_records_the_one_holding_its_units(shop, stock):
    order = paid_order(shop, stock, quantity_a=2)  # reserved at EAST
    shipment = shipment_create(order=order, reference="N-1", lines={line_ids(order)["A"]: 2},
                               actor="3pl")
    assert shipment.warehouse.code == "EAST"
    again = shipment_create(order=order, reference="N-1", lines={line_ids(order)["A"]: 2},
                            actor="3pl")
    assert again.pk == shipment.pk  # the same parcel sent again, still without a location
