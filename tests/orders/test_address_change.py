"""Changing a shipped order's address before any unit leaves: API, admin, e-mail, refusals."""

import pytest
from django.urls import reverse

from customers.models import Address
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import FulfillmentOrder, Order, OrderEvent
from orders.services import order_create, shipment_create
from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start
from tests.orders.conftest import order_data
from tests.orders.shipping import post_json

pytestmark = pytest.mark.django_db

NEW = {
    "first_name": "Jane",
    "last_name": "Doe",
    "line1": "9 Harbour Rd",
    "line2": "Flat 2",
    "city": "Portland",
    "postal_code": "97201",
    "region": "OR",
    "country": "US",
}


@pytest.fixture
def placed(shop, stock):
    stock("A", "EAST", 5)
    return order_create(channel=shop["channel"], data=order_data(), actor="test")


def change(api, order, address=NEW, **extra):
    return post_json(
        api,
        f"/api/v1/orders/{order.number}/shipping-address/",
        {"shipping_address": address, **extra},
    )


def snapshot(order) -> dict:
    order.refresh_from_db()
    return {
        "address": order.shipping_address,
        "events": OrderEvent.objects.filter(order=order).count(),
        "emails": EmailMessage.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


def test_the_address_changes_and_everyone_hears_of_it(api, placed):
    response = change(api, placed, reason="Customer moved")
    assert response.status_code == 200, response.content
    assert response.json()["shipping_address"]["line1"] == "9 Harbour Rd"
    placed.refresh_from_db()
    assert placed.shipping_address["city"] == "Portland"
    event = OrderEvent.objects.get(order=placed, type="address_changed")
    assert (event.message, event.data["from"]["line1"], event.data["to"]["line1"]) == (
        "Customer moved", "1 Main St", "9 Harbour Rd"
    )
    assert Address.objects.filter(customer=placed.customer, line1="9 Harbour Rd").exists()
    outbox = OutboxEvent.objects.get(topic="order.address_changed")
    assert outbox.payload["previous_shipping_address"]["line1"] == "1 Main St"
    email = EmailMessage.objects.get(template="order_address_changed")
    assert email.to == "jane@example.com"
    assert "9 Harbour Rd\nFlat 2\n97201 Portland, OR\nUS" in email.body_text
    assert "It was going to 1 Main St, Reno." in email.body_text
    assert "9 Harbour Rd<br>Flat 2<br>97201 Portland, OR<br>US" in email.body_html


def test_the_same_address_again_changes_nothing(api, placed):
    before = snapshot(placed)
    response = change(api, placed, address=placed.shipping_address)
    assert response.status_code == 200
    assert snapshot(placed) == before


def test_a_packed_parcel_is_flagged_for_a_new_label(api, placed):
    fulfillment_order = FulfillmentOrder.objects.get(order=placed)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(
        fulfillment_order=fulfillment_order,
        scans=["A"] * placed.lines.get().quantity,
        actor="t",
    )
    assert change(api, placed).status_code == 200
    flagged = OrderEvent.objects.get(data__fulfillment_order=fulfillment_order.pk,
                                     type="address_changed")
    assert "print a new label" in flagged.message


def test_once_units_shipped_the_address_stays(api, placed):
    line = placed.lines.get()
    shipment_create(order=placed, reference="SH-1", lines={line.pk: 1}, carrier_name="Acme Post",
                    tracking_number="1Z", tracking_url="https://track.example/1Z", actor="test")
    before = snapshot(placed)
    response = change(api, placed)
    assert response.status_code == 409
    assert response.json()["code"] == "address_change_refused"
    assert snapshot(placed) == before


def test_a_held_order_with_shipped_units_keeps_its_address(api, placed):
    from orders.services import order_hold

    line = placed.lines.get()
    shipment_create(order=placed, reference="SH-1", lines={line.pk: 1}, carrier_name="Acme Post",
                    tracking_number="1Z", tracking_url="https://track.example/1Z", actor="test")
    order_hold(order=placed, reason_code="address_issue", actor="test")
    before = snapshot(placed)
    response = change(api, placed)
    assert response.status_code == 409
    assert snapshot(placed) == before


def test_a_pickup_order_has_no_address_to_change(api, shop, stock):
    stock("A", "STORE1", 5)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
        actor="test",
    )
    response = change(api, order)
    assert response.status_code == 409
    assert "collected in store" in response.json()["detail"]


def test_a_location_holding_units_must_ship_to_the_new_country(api, shop, placed):
    shop["east"].ships_to_countries = ["US"]
    shop["east"].save()
    before = snapshot(placed)
    response = change(api, placed, address={**NEW, "country": "CA"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "address_change_refused" and body["locations"] == ["EAST"]
    assert "re-route" in body["detail"]
    assert snapshot(placed) == before


def test_an_unallocated_order_needs_a_location_that_ships_there(api, shop, stock):
    order = order_create(channel=shop["channel"], data=order_data(payment=None), actor="test")
    for location in (shop["east"], shop["west"]):
        location.ships_to_countries = ["US"]
        location.save()
    before = snapshot(order)
    response = change(api, order, address={**NEW, "country": "CA"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"country": ["No location ships to CA."]}
    assert snapshot(order) == before
    assert change(api, order).status_code == 200  # US is served


@pytest.mark.parametrize(
    ("address", "field"),
    [({**NEW, "country": "XX"}, "country"), ({k: v for k, v in NEW.items() if k != "line1"},
                                              "line1"), ({**NEW, "surprise": 1}, "surprise")],
)
def test_a_bad_address_is_a_field_error_and_changes_nothing(api, placed, address, field):
    before = snapshot(placed)
    response = change(api, placed, address=address)
    assert response.status_code == 400
    assert field in response.json()["errors"]["shipping_address"]
    assert snapshot(placed) == before


def test_another_channels_key_cannot_change_it(placed, make_client):
    from tests.factories import SalesChannelFactory

    other = make_client(channel=SalesChannelFactory(code="market"))
    assert change(other, placed).status_code == 404


def test_staff_change_the_address_in_the_admin(admin_client, placed):
    page = admin_client.get(reverse("admin:orders_order_change", args=[placed.pk]))
    url = reverse("admin:orders_order_shipping_address", args=[placed.pk])
    assert url in page.content.decode()
    form = admin_client.get(url)
    assert 'value="1 Main St"' in form.content.decode()  # starts from the current address
    bad = admin_client.post(url, {**NEW, "country": "XX"})
    assert bad.status_code == 200
    assert "is not an ISO 3166-1 country code." in bad.content.decode()
    placed.refresh_from_db()
    assert placed.shipping_address["line1"] == "1 Main St"
    done = admin_client.post(url, {**NEW, "reason": "Phoned in"})
    assert done.status_code == 302
    placed.refresh_from_db()
    assert placed.shipping_address["line1"] == "9 Harbour Rd"
    assert OrderEvent.objects.get(order=placed, type="address_changed").actor.startswith("user:")


def test_the_admin_offers_no_change_once_the_order_shipped(admin_client, placed):
    Order.objects.filter(pk=placed.pk).update(status="shipped")
    page = admin_client.get(reverse("admin:orders_order_change", args=[placed.pk]))
    url = reverse("admin:orders_order_shipping_address", args=[placed.pk])
    assert url not in page.content.decode()
    refused = admin_client.post(url, NEW)
    assert refused.status_code == 200
    assert "its address can change only before any unit ships" in refused.content.decode()
