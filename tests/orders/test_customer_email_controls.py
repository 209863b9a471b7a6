"""Who is e-mailed: a channel can leave its customers to itself, an order can come in silent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oms_project.models import EmailMessage, OutboxEvent
from orders.models import CustomerNotice, FulfillmentOrder, Order
from orders.services import order_cancel, shipment_create, shipment_mark_delivered
from orders.services.customer_notices import delivery_follow_ups_send
from orders.subscription_models import Subscription
from orders.subscriptions.notifications import subscription_email
from tests.orders.shipping import line_ids, paid_order
from tests.orders.shipping import post_json as post

pytestmark = pytest.mark.django_db


def body(channel_order_id: str, **overrides) -> dict:
    data = {
        "channel_order_id": channel_order_id,
        "customer": {"email": "jane@example.com", "first_name": "Jane"},
        "shipping_address": {
            "line1": "1 Main St", "city": "Reno", "postal_code": "89501", "country": "US",
        },
        "shipping_method": "ground",
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 1, "unit_price": "10.00"}],
        "payment": {"method": "card", "amount": "10.00", "status": "captured"},
    }
    data.update(overrides)
    return data


def emails_for(number: str) -> list[str]:
    return list(
        EmailMessage.objects.filter(reference=f"order:{number}")
        .order_by("pk")
        .values_list("template", flat=True)
    )


def test_a_silent_order_gets_no_email_now_or_later_but_its_events_still_go(api, stock):
    stock("A", "EAST", 5)
    created = post(api, "/api/v1/orders/", body("H-1", notify_customer=False))
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["notify_customer"] is False
    assert api.get(f"/api/v1/orders/{number}/").json()["notify_customer"] is False
    cancelled = post(api, f"/api/v1/orders/{number}/cancel/", {"reason": "customer asked"})
    assert cancelled.status_code == 200, cancelled.content
    assert emails_for(number) == []
    topics = set(OutboxEvent.objects.filter(reference=number).values_list("topic", flat=True))
    assert {"order.created", "order.paid", "order.cancelled"} <= topics


def test_bulk_import_mutes_only_the_orders_that_say_so(api, stock):
    stock("A", "EAST", 5)
    response = post(
        api,
        "/api/v1/orders/bulk/",
        {"orders": [body("H-2", notify_customer=False), body("H-3")]},
    )
    assert response.status_code == 200, response.content
    silent, loud = (item["number"] for item in response.json()["results"])
    assert emails_for(silent) == []
    assert emails_for(loud) == ["order_confirmation"]
    assert Order.objects.get(number=silent).notify_customer is False


def test_notify_customer_must_be_a_boolean(api, stock):
    stock("A", "EAST", 5)
    response = post(api, "/api/v1/orders/", body("H-4", notify_customer="maybe"))
    assert response.status_code == 400
    assert "notify_customer" in response.json()["errors"]
    assert Order.objects.count() == 0


def test_a_channel_without_customer_emails_sends_none_for_any_order(shop, stock, settings):
    settings.OMS_FOLLOW_UP_DAYS = 1
    shop["channel"].customer_emails = False
    shop["channel"].save(update_fields=["customer_emails"])
    order = paid_order(shop, stock)
    assert order.notify_customer is True  # the order itself did not ask for silence
    shipment = shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z1",
    )
    shipment_mark_delivered(
        shipment=shipment, actor="test", delivered_at=timezone.now() - timedelta(days=2)
    )
    assert delivery_follow_ups_send() == 0  # nothing to send: the order is not even picked
    assert not CustomerNotice.objects.filter(order=order).exists()
    assert emails_for(order.number) == []


def test_partial_cancel_of_a_silent_order_sends_nothing(shop, stock):
    order = paid_order(shop, stock, quantity_a=2, notify_customer=False)
    order_cancel(order=order, actor="test", lines={line_ids(order)["A"]: 1})
    assert emails_for(order.number) == []


def test_subscription_emails_follow_the_channel(shop):
    shop["channel"].customer_emails = False
    subscription = Subscription(channel=shop["channel"], email="sub@example.com")
    assert subscription_email(subscription=subscription, template="subscription_reminder") is None
    assert EmailMessage.objects.count() == 0


@pytest.mark.parametrize(("silent", "code_given"), [(False, False), (True, True)])
def test_ready_for_pickup_hands_the_code_over_when_it_is_not_emailed(
    shop, stock, make_client, silent, code_given
):
    from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start

    stock("A", "STORE1", 2)
    order = paid_order(
        shop, stock, fulfillment_method="pickup", pickup_location="STORE1",
        notify_customer=not silent,
    )
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    wms = make_client(scopes=["orders:write"], name="wms")
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    ready = post(wms, f"{base}/ready-for-pickup/", {})
    assert ready.status_code == 200, ready.content
    code = ready.json()["pickup_code"]
    assert (code is not None) == code_given
    assert ("ready_for_pickup" in emails_for(order.number)) == (not silent)
    if code_given:  # the code the channel passes on is the one that collects
        collected = post(wms, f"{base}/collect/", {"code": code})
        assert collected.json()["status"] == "closed"


def test_admin_shows_the_pickup_code_of_a_silent_order_once(admin_client, shop, stock):
    from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start

    stock("A", "STORE1", 2)
    order = paid_order(
        shop, stock, fulfillment_method="pickup", pickup_location="STORE1", notify_customer=False
    )
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    response = admin_client.post(
        "/admin/orders/fulfillmentorder/",
        {"action": "mark_ready_for_pickup", "_selected_action": [fulfillment_order.pk]},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert any("is not e-mailed, give them the pickup code" in text for text in shown), shown
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"


def test_late_shipments_of_silent_orders_get_no_delay_notice(shop, stock):
    from orders.services.customer_notices import delay_notices_send

    order = paid_order(shop, stock, notify_customer=False)
    shipment_create(
        order=order, reference="S1", lines={line_ids(order)["A"]: 2}, actor="test",
        service_level=shop["service_level"], tracking_number="1Z1",
        estimated_delivery_date=timezone.localdate() - timedelta(days=2),
        shipped_at=timezone.now() - timedelta(days=4),
    )
    assert delay_notices_send() == 0
    assert not CustomerNotice.objects.filter(order=order).exists()
    Order.objects.filter(pk=order.pk).update(notify_customer=True)
    assert delay_notices_send() == 1
    assert emails_for(order.number) == ["delay_notice"]


def queued_confirmation(shop, stock, channel_order_id="Q-1"):
    """A paid order whose confirmation is logged but not yet sent (no send task ran)."""
    from unittest import mock

    with mock.patch("oms_project.notifications._enqueue"):
        order = paid_order(shop, stock, channel_order_id=channel_order_id)
    message = EmailMessage.objects.get(reference=f"order:{order.number}")
    assert message.status == "queued"
    return order, message


def test_emails_queued_before_the_channel_stopped_customer_emails_are_withheld(
    shop, stock, mailoutbox
):
    from oms_project.notifications import email_queue, email_send_queued

    order, message = queued_confirmation(shop, stock)
    staff_alert = email_queue(
        to="ops@example.com",
        template="staff_alert",
        reference=f"order:{order.number}",
        context={"subject": "Look at this order", "body": "b"},
    )
    shop["channel"].customer_emails = False
    shop["channel"].save()
    assert email_send_queued(message_pk=message.pk) == 1
    assert [sent.to for sent in mailoutbox] == [["ops@example.com"]]  # the staff alert goes
    message.refresh_from_db()
    assert (message.status, message.error) == (
        "withheld",
        "Web shop does not send customer e-mails.",
    )
    staff_alert.refresh_from_db()
    assert staff_alert.status == "sent"


def test_a_silent_orders_email_is_withheld_and_a_resend_is_refused(shop, stock, mailoutbox):
    from oms_project.notifications import EmailWithheld, email_send

    order, message = queued_confirmation(shop, stock)
    Order.objects.filter(pk=order.pk).update(notify_customer=False)
    assert email_send(message_pk=message.pk) is False
    message.refresh_from_db()
    assert message.status == "withheld"
    assert message.error == f"Order {order.number} came in without customer e-mails."
    with pytest.raises(EmailWithheld, match="came in without customer e-mails"):
        email_send(message_pk=message.pk, resend=True)
    assert mailoutbox == []
    # Once the order may be e-mailed again, staff can resend it.
    Order.objects.filter(pk=order.pk).update(notify_customer=True)
    assert email_send(message_pk=message.pk, resend=True) is True
    assert [sent.to for sent in mailoutbox] == [[order.email]]


def test_the_admin_resend_of_a_withheld_email_says_why(admin_client, shop, stock, mailoutbox):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    order, message = queued_confirmation(shop, stock)
    shop["channel"].customer_emails = False
    shop["channel"].save()
    response = admin_client.post(
        reverse("admin:oms_project_emailmessage_changelist"),
        {"action": "resend_selected", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    texts = [str(item) for item in get_messages(response.wsgi_request)]
    assert texts == [f"{message}: Web shop does not send customer e-mails."]
    assert mailoutbox == []
