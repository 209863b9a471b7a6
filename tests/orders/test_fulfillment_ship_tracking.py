"""Shipping a packed fulfillment order with its tracking: the admin's "Ship…" page passes the
carrier, tracking number and service level on to the shipment, so the customer gets the
tracking e-mail; the bulk action ships without tracking and says so; and every shipment of
the ship step expects delivery on the date promised for the fulfillment order."""

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from oms_project.models import EmailMessage
from orders.models import FulfillmentOrder, OrderEvent, Shipment
from orders.services import order_create
from orders.services.customer_notices import delay_notices_send
from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start, fulfillment_ship
from tests.factories import CarrierFactory, ServiceLevelFactory
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def packed(shop, stock):
    """A fulfillment order of 2 x A at EAST, packed and waiting to ship."""
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    fulfillment_order.refresh_from_db()
    return fulfillment_order


def ship_url(fulfillment_order) -> str:
    return reverse("admin:orders_fulfillmentorder_ship", args=[fulfillment_order.pk])


def tracking_emails():
    return EmailMessage.objects.filter(template="shipment_confirmation")


# --- The service and the API: the promise becomes the shipment's estimate ---------------------


def test_the_ship_step_expects_delivery_on_the_promised_date(packed):
    assert packed.promised_delivery_date is not None

    fulfillment_ship(fulfillment_order=packed, actor="t", tracking_number="1Z1")

    shipment = Shipment.objects.get(order_id=packed.order_id)
    assert shipment.estimated_delivery_date == packed.promised_delivery_date
    email = tracking_emails().get()
    assert f"Expected delivery: {packed.promised_delivery_date:%b}" in email.body_text


def test_an_estimate_given_to_the_ship_step_wins_over_the_promise(packed):
    later = packed.promised_delivery_date + timedelta(days=3)

    fulfillment_ship(fulfillment_order=packed, actor="t", estimated_delivery_date=later)

    assert Shipment.objects.get(order_id=packed.order_id).estimated_delivery_date == later


def test_the_ship_step_takes_another_service_level(packed):
    express = ServiceLevelFactory(code="express", carrier=CarrierFactory(code="fast"))

    fulfillment_ship(fulfillment_order=packed, actor="t", service_level=express,
                     tracking_number="F9")

    shipment = Shipment.objects.get(order_id=packed.order_id)
    assert (shipment.service_level, shipment.carrier_name) == (express, "FAST")
    assert shipment.tracking_url == "https://track.example/F9"


def test_api_shipments_expect_delivery_on_the_promised_date(packed, make_client):
    wms = make_client(scopes=["orders:write"], name="wms")

    response = wms.post(f"/api/v1/fulfillment-orders/{packed.pk}/ship/",
                        {"tracking_number": "1Z1"}, format="json")

    assert response.status_code == 200, response.json()
    shipment = Shipment.objects.get(order_id=packed.order_id)
    assert shipment.estimated_delivery_date == packed.promised_delivery_date


def test_a_late_parcel_of_the_ship_step_gets_a_delay_notice(packed):
    fulfillment_ship(fulfillment_order=packed, actor="t", tracking_number="1Z1")
    day_after = packed.promised_delivery_date + timedelta(days=1)
    noon = timezone.make_aware(datetime.combine(day_after, time(12)))

    assert delay_notices_send(now=noon) == 1
    assert EmailMessage.objects.filter(template="delay_notice").count() == 1


# --- The admin's "Ship…" page -------------------------------------------------------------------


def test_packed_fulfillment_orders_offer_ship_on_the_queue_and_their_page(admin_client, packed):
    queue = admin_client.get(reverse("admin:orders_fulfillmentorder_changelist"))
    page = admin_client.get(reverse("admin:orders_fulfillmentorder_change", args=[packed.pk]))

    assert ship_url(packed) in queue.content.decode()
    assert ship_url(packed) in page.content.decode()
    assert "Ship…" in page.content.decode()


def test_unpacked_fulfillment_orders_do_not_offer_ship(admin_client, shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)

    page = admin_client.get(
        reverse("admin:orders_fulfillmentorder_change", args=[fulfillment_order.pk])
    )

    assert ship_url(fulfillment_order) not in page.content.decode()


def test_ship_page_ships_with_tracking_and_emails_the_customer(admin_client, packed, shop):
    form = admin_client.get(ship_url(packed))
    assert form.status_code == 200
    assert form.context["form"].initial["service_level"] == shop["service_level"].pk

    response = admin_client.post(ship_url(packed), {
        "service_level": shop["service_level"].pk, "carrier": "", "tracking_number": "1Z999",
        "tracking_url": "", "estimated_delivery_date": "",
    }, follow=True)

    assert response.status_code == 200
    packed.refresh_from_db()
    assert packed.status == "shipped"
    shipment = packed.shipment
    assert (shipment.tracking_number, shipment.tracking_url, shipment.carrier_name) == (
        "1Z999", "https://track.example/1Z999", shop["service_level"].carrier.name
    )
    assert shipment.estimated_delivery_date == packed.promised_delivery_date
    assert shipment.created_by == "user:admin"
    email = tracking_emails().get()
    assert "1Z999" in email.body_text and "https://track.example/1Z999" in email.body_text
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"FO-{packed.pk} shipped as {shipment.reference} with "
        f"{shipment.carrier_name} 1Z999; the customer was e-mailed the tracking link."
    ]


def test_ship_page_takes_a_carrier_its_url_and_a_delivery_date(admin_client, packed):
    response = admin_client.post(ship_url(packed), {
        "service_level": "", "carrier": "Local Couriers", "tracking_number": "LC-5",
        "tracking_url": "https://couriers.example/t/LC-5", "estimated_delivery_date": "2031-05-06",
    })

    assert response.status_code == 302
    shipment = Shipment.objects.get(order_id=packed.order_id)
    assert (shipment.carrier_name, shipment.tracking_url, shipment.estimated_delivery_date) == (
        "Local Couriers", "https://couriers.example/t/LC-5", date(2031, 5, 6)
    )
    assert tracking_emails().count() == 1


def test_ship_page_refusals_change_nothing(admin_client, packed):
    events = OrderEvent.objects.count()

    no_tracking = admin_client.post(ship_url(packed), {"service_level": "", "carrier": "UPS"})
    no_carrier = admin_client.post(ship_url(packed), {"tracking_number": "1Z1"})
    unknown = admin_client.post(ship_url(packed), {"carrier": "Nobody", "tracking_number": "1"})
    past = admin_client.post(ship_url(packed), {
        "carrier": "UPS", "tracking_number": "1Z1", "estimated_delivery_date": "2001-01-01",
    })
    formula = admin_client.post(ship_url(packed), {
        "carrier": "UPS", "tracking_number": '=HYPERLINK("x")\r\nX',
    })

    assert no_tracking.context["form"].errors["tracking_number"] == ["This field is required."]
    assert no_carrier.context["form"].errors["__all__"] == [
        "Choose a service level or enter a carrier."
    ]
    assert unknown.status_code == 200
    assert unknown.context["form"].errors["carrier"] == [
        "Unknown carrier 'Nobody'. Send a tracking URL with it, or use a carrier set up in the "
        "OMS."
    ]
    assert past.context["form"].errors["estimated_delivery_date"] == [
        "Give today or a later date."
    ]
    assert formula.status_code == 200
    assert "no line breaks" in formula.content.decode()
    packed.refresh_from_db()
    assert (packed.status, packed.shipment_id) == ("packed", None)
    assert not Shipment.objects.exists()
    assert OrderEvent.objects.count() == events
    assert not tracking_emails().exists()


def test_ship_page_of_a_fulfillment_order_not_packed_says_why(admin_client, shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)

    response = admin_client.post(ship_url(fulfillment_order), {
        "service_level": shop["service_level"].pk, "tracking_number": "1Z1",
    })

    assert response.status_code == 200
    assert response.context["form"].errors["__all__"] == [
        f"Fulfillment order {fulfillment_order.pk} is open; pack it before shipping."
    ]
    assert not Shipment.objects.exists()


def test_bulk_ship_says_no_tracking_email_was_sent(admin_client, packed):
    response = admin_client.post(reverse("admin:orders_fulfillmentorder_changelist"), {
        "action": "ship_packed", "_selected_action": [packed.pk],
    }, follow=True)

    packed.refresh_from_db()
    assert packed.status == "shipped"
    assert packed.shipment.tracking_number == ""
    assert packed.shipment.estimated_delivery_date == packed.promised_delivery_date
    assert not tracking_emails().exists()
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"FO-{packed.pk}: shipped as {packed.shipment.reference} without a tracking number, so "
        "no tracking e-mail was sent; add it with “Add tracking…” on the shipment, or use "
        "“Ship…” to ship with tracking."
    ]
