"""Admin: shipments and customer e-mails on the order page, adding a shipment or its tracking,
the journal, webhook subscriptions and deliveries."""

import pytest
from django.urls import reverse

from oms_project.models import EmailMessage, WebhookDelivery, WebhookSubscription
from oms_project.outbox import outbox_dispatch, outbox_emit
from orders.models import OrderEvent, Shipment
from orders.services import shipment_create
from tests.orders.shipping import line_ids, paid_order

pytestmark = pytest.mark.django_db


def test_order_page_shows_shipments_and_customer_emails(admin_client, shop, stock):
    order = paid_order(shop, stock)
    shipment_create(
        order=order, reference="PKG-7", lines={line_ids(order)["A"]: 2}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z77",
    )
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "PKG-7" in html
    assert "href='https://track.example/1Z77'" in html
    email = EmailMessage.objects.get(template="shipment_confirmation")
    assert reverse("admin:oms_project_emailmessage_change", args=[email.pk]) in html
    assert f"Your Web shop order {order.number} has shipped" in html
    assert "Add shipment" not in html  # everything has shipped


def test_staff_add_a_shipment_through_the_service(admin_client, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    url = reverse("admin:orders_shipment_add")
    assert admin_client.get(url + f"?order={order.number}").status_code == 200
    response = admin_client.post(
        url,
        {
            "order": order.number, "reference": "DESK-1", "service_level": shop["service_level"].pk,
            "tracking_number": "1Z5", "status": "awaiting", "lines": f"{line_ids(order)['A']} x 1",
        },
    )
    assert response.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.reference, shipment.tracking_url) == ("DESK-1", "https://track.example/1Z5")
    assert shipment.created_by == "user:admin"
    order.refresh_from_db()
    assert order.status == "partially_shipped"


def test_admin_shipment_over_allocation_is_a_form_error(admin_client, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    response = admin_client.post(
        reverse("admin:orders_shipment_add"),
        {"order": order.number, "reference": "DESK-1", "status": "awaiting",
         "lines": f"{line_ids(order)['A']} x 5"},
    )
    assert response.status_code == 200
    assert "Only 2 unit(s) are allocated and not yet shipped." in response.content.decode()
    assert Shipment.objects.count() == 0
    garbled = admin_client.post(
        reverse("admin:orders_shipment_add"),
        {"order": order.number, "reference": "DESK-1", "status": "awaiting", "lines": "two"},
    )
    assert "Row 1: write" in garbled.content.decode()
    assert Shipment.objects.count() == 0


def test_admin_shipment_of_another_orders_line_names_the_line_in_words(admin_client, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    response = admin_client.post(
        reverse("admin:orders_shipment_add"),
        {"order": order.number, "reference": "DESK-2", "status": "awaiting",
         "lines": "999999 x 1"},
    )
    page = response.content.decode()
    assert "Order line 999999: No such line on this order." in page
    assert "{" not in page.split("errorlist")[1][:300]  # no Python dict in the message
    assert Shipment.objects.count() == 0


def test_mark_delivered_button_completes_the_order(admin_client, shop, stock):
    order = paid_order(shop, stock)
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test"
    )
    url = reverse("admin:orders_shipment_object_action", args=[shipment.pk, "mark_delivered"])
    assert admin_client.post(url).status_code == 302
    order.refresh_from_db()
    assert order.status == "complete"
    assert admin_client.get(reverse("admin:orders_shipment_changelist")).status_code == 200


def test_journal_page_and_csv(admin_client, shop, stock):
    paid_order(shop, stock)
    url = reverse("admin:orders_accountingjournal_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "27.00" in page.content.decode()
    csv_response = admin_client.get(url + "?format=csv")
    assert csv_response["Content-Type"] == "text/csv"
    assert ",web,USD,1,27.00," in csv_response.content.decode()
    assert "not a date" in admin_client.get(url + "?date=nope").content.decode()


def test_webhook_subscription_admin_refuses_internal_urls(admin_client):
    url = reverse("admin:oms_project_webhooksubscription_add")
    response = admin_client.post(
        url, {"name": "Loop", "url": "http://127.0.0.1:8000/", "events": "order.*",
              "is_active": "on"},
    )
    assert response.status_code == 200
    assert "is this OMS" in response.content.decode()
    assert WebhookSubscription.objects.count() == 0


def test_webhook_subscription_admin_creates_with_a_generated_secret(admin_client, settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    response = admin_client.post(
        reverse("admin:oms_project_webhooksubscription_add"),
        {"name": "ERP", "url": "http://10.0.0.8/hooks", "events": "order.*, refund.*",
         "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["order.*", "refund.*"]
    assert len(subscription.secret) >= 32
    assert subscription.secret in response.content.decode()


def test_delivery_page_shows_attempts_and_redelivers(admin_client, settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    WebhookSubscription.objects.create(
        name="ERP", url="http://127.0.0.1:9/hooks", events=["*"], secret="x" * 32
    )
    outbox_dispatch(event_pk=outbox_emit(topic="order.paid", payload={}).pk)
    delivery = WebhookDelivery.objects.get()
    page = admin_client.get(reverse("admin:oms_project_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert "Redeliver" in page.content.decode()
    url = reverse(
        "admin:oms_project_webhookdelivery_object_action", args=[delivery.pk, "redeliver"]
    )
    assert admin_client.post(url).status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def pickup_order(shop, stock, channel_order_id: str = "WEB-1"):
    stock("A", "STORE1", 2)
    return paid_order(
        shop, stock, fulfillment_method="pickup", pickup_location="STORE1",
        channel_order_id=channel_order_id,
    )


def test_admin_refuses_a_shipment_for_a_pickup_order(admin_client, shop, stock):
    order = pickup_order(shop, stock)
    response = admin_client.post(
        reverse("admin:orders_shipment_add"),
        {"order": order.number, "reference": "DESK-1", "status": "awaiting",
         "lines": f"{line_ids(order)['A']} x 1"},
    )
    assert response.status_code == 200
    assert "A pickup order is handed over in store, not shipped." in response.content.decode()
    assert Shipment.objects.count() == 0
    order.refresh_from_db()
    assert order.status == "processing"
    assert order.lines.get().quantity_shipped == 0
    assert order.fulfillment_orders.get().status == "open"


def test_admin_reused_reference_with_other_lines_is_a_form_error(admin_client, shop, stock):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    ids = line_ids(order)
    shipment_create(order=order, reference="DESK-1", lines={ids["A"]: 1}, actor="test")
    response = admin_client.post(
        reverse("admin:orders_shipment_add"),
        {"order": order.number, "reference": "DESK-1", "status": "awaiting",
         "lines": f"{ids['B']} x 1"},
    )
    assert response.status_code == 200
    assert "DESK-1" in response.content.decode()
    assert "already" in response.content.decode()
    assert order.lines.get(sku="B").quantity_shipped == 0
    assert Shipment.objects.get().lines.get().order_line_id == ids["A"]


def add_shipment_link_shown(admin_client, order) -> bool:
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    return f"{reverse('admin:orders_shipment_add')}?order={order.number}" in page.content.decode()


def test_add_shipment_link_only_for_orders_that_can_still_ship(admin_client, shop, stock):
    from orders.services import order_cancel

    order = paid_order(shop, stock, quantity_a=2)
    assert add_shipment_link_shown(admin_client, order)
    shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 1}, actor="t")
    assert add_shipment_link_shown(admin_client, order)  # partially shipped
    shipment_create(order=order, reference="S2", lines={line_ids(order)["A"]: 1}, actor="t")
    assert not add_shipment_link_shown(admin_client, order)  # shipped
    assert not add_shipment_link_shown(admin_client, pickup_order(shop, stock, "WEB-P"))
    cancelled = paid_order(shop, stock, channel_order_id="WEB-C")
    order_cancel(order=cancelled, actor="t")
    assert not add_shipment_link_shown(admin_client, cancelled)


def tracking_url_of(shipment) -> str:
    return reverse("admin:orders_shipment_tracking", args=[shipment.pk])


def test_add_tracking_is_offered_for_a_shipment_without_a_tracking_number(
    admin_client, shop, stock
):
    order = paid_order(shop, stock, quantity_a=2)
    untracked = shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 1},
                                actor="t")
    tracked = shipment_create(order=order, reference="S2", lines={line_ids(order)["A"]: 1},
                              actor="t", service_level=shop["service_level"],
                              tracking_number="1Z2")

    untracked_page = admin_client.get(reverse("admin:orders_shipment_change",
                                              args=[untracked.pk])).content.decode()
    tracked_page = admin_client.get(reverse("admin:orders_shipment_change",
                                            args=[tracked.pk])).content.decode()

    assert tracking_url_of(untracked) in untracked_page and "Add tracking…" in untracked_page
    assert tracking_url_of(tracked) not in tracked_page


def test_add_tracking_sets_carrier_and_number_and_emails_the_customer(admin_client, shop, stock):
    order = paid_order(shop, stock)
    shipment = shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 2},
                               actor="t")
    assert not EmailMessage.objects.filter(template="shipment_confirmation").exists()
    carrier = shop["service_level"].carrier
    assert admin_client.get(tracking_url_of(shipment)).status_code == 200

    response = admin_client.post(tracking_url_of(shipment), {
        "carrier": carrier.code, "tracking_number": "1Z42", "tracking_url": "",
    }, follow=True)

    assert response.status_code == 200
    shipment.refresh_from_db()
    assert (shipment.carrier_name, shipment.tracking_number, shipment.tracking_url) == (
        carrier.name, "1Z42", "https://track.example/1Z42"
    )
    email = EmailMessage.objects.get(template="shipment_confirmation")
    assert "https://track.example/1Z42" in email.body_text
    assert OrderEvent.objects.filter(order=order, type="shipment_tracking",
                                     actor="user:admin").exists()
    assert [str(message) for message in response.context["messages"]] == [
        f"Tracking {carrier.name} 1Z42 added to shipment S1; the customer was e-mailed the "
        "tracking link."
    ]


def test_add_tracking_refusals_change_nothing(admin_client, shop, stock):
    order = paid_order(shop, stock)
    shipment = shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 2},
                               actor="t")

    missing = admin_client.post(tracking_url_of(shipment), {"carrier": "UPS"})
    unknown = admin_client.post(tracking_url_of(shipment),
                                {"carrier": "Nobody", "tracking_number": "N1"})

    assert missing.context["form"].errors["tracking_number"] == ["This field is required."]
    assert unknown.context["form"].errors["carrier"] == [
        "Unknown carrier 'Nobody'. Send a tracking URL with it, or use a carrier set up in the "
        "OMS."
    ]
    shipment.refresh_from_db()
    assert (shipment.tracking_number, shipment.carrier_name) == ("", "")
    assert not EmailMessage.objects.filter(template="shipment_confirmation").exists()


def test_add_tracking_to_a_tracked_shipment_is_refused(admin_client, shop, stock):
    order = paid_order(shop, stock)
    shipment = shipment_create(order=order, reference="S1", lines={line_ids(order)["A"]: 2},
                               actor="t", service_level=shop["service_level"],
                               tracking_number="1Z1")

    response = admin_client.post(tracking_url_of(shipment),
                                 {"carrier": "", "tracking_number": "1Z9"}, follow=True)

    shipment.refresh_from_db()
    assert shipment.tracking_number == "1Z1"
    assert [str(message) for message in response.context["messages"]] == [
        "Shipment S1 already has tracking number 1Z1."
    ]
