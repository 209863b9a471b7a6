"""A subscriber whose e-mail changes keeps one profile: the subscription's runs are placed for
that profile and its e-mails, API and admin use the customer's current address."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from customers.models import Customer
from oms_project.models import EmailMessage
from orders.models import Order
from orders.subscription_models import Subscription, SubscriptionOccurrence
from orders.subscriptions.reminders import subscription_reminders_send
from orders.subscriptions.scheduler import order_data, subscriptions_tick
from tests.orders.test_subscription_support import (
    GATEWAY_PATH,
    DecliningGateway,
    frozen,
    make_subscription,
    utc,
)

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 20, 12)
FIRST_RUN = utc(2026, 1, 31, 14)
NEW_EMAIL = "sam.new@example.com"


def _change_email(api, customer_id: int, email: str) -> None:
    response = api.patch(
        f"/api/v1/customers/{customer_id}/",
        data=json.dumps({"email": email}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_subscription_run_after_customer_email_change_stays_on_same_profile(shop, stock, api):
    stock("A", "EAST", 100)
    subscription = make_subscription(shop, at=NOW)
    customer = subscription.customer
    _change_email(api, customer.pk, NEW_EMAIL)

    with frozen(FIRST_RUN):
        subscriptions_tick()

    order = Order.objects.get()
    assert Customer.objects.count() == 1, "the run created a second profile"
    assert order.customer_id == customer.pk
    assert order.email == NEW_EMAIL
    customer.refresh_from_db()
    assert (customer.email, customer.orders_count) == (NEW_EMAIL, 1)
    assert not Customer.objects.filter(email__iexact="sam@example.com").exists()


def test_subscription_run_is_placed_under_the_channels_customer_id(shop, api):
    subscription = make_subscription(
        shop,
        at=NOW,
        customer={"email": "sam@example.com", "first_name": "Sam", "channel_customer_id": "c-9"},
    )
    _change_email(api, subscription.customer_id, NEW_EMAIL)
    subscription = Subscription.objects.select_related("customer").get()
    occurrence = SubscriptionOccurrence(
        subscription=subscription, occurrence_date=FIRST_RUN.date(), scheduled_for=FIRST_RUN
    )

    customer = order_data(subscription, occurrence, FIRST_RUN)["customer"]

    assert customer["email"] == NEW_EMAIL
    assert customer["channel_customer_id"] == "c-9"


def test_subscription_run_without_a_channel_customer_id_sends_none(shop):
    subscription = make_subscription(shop, at=NOW)
    occurrence = SubscriptionOccurrence(
        subscription=subscription, occurrence_date=FIRST_RUN.date(), scheduled_for=FIRST_RUN
    )

    customer = order_data(subscription, occurrence, FIRST_RUN)["customer"]

    assert customer["email"] == "sam@example.com"
    assert "channel_customer_id" not in customer


def test_subscription_reminder_after_customer_email_change_goes_to_new_address(shop, stock, api):
    stock("A", "EAST", 100)
    subscription = make_subscription(shop, at=NOW)
    _change_email(api, subscription.customer.pk, NEW_EMAIL)

    with frozen(subscription.next_run_at - timedelta(days=1)):
        assert subscription_reminders_send() == 1

    message = EmailMessage.objects.get(template="subscription_reminder")
    assert message.to == NEW_EMAIL


def test_payment_failed_email_after_customer_email_change_goes_to_new_address(
    shop, stock, api, settings
):
    stock("A", "EAST", 100)
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    DecliningGateway.charges = []
    subscription = make_subscription(shop, at=NOW)
    _change_email(api, subscription.customer.pk, NEW_EMAIL)

    for moment in (FIRST_RUN, utc(2026, 2, 1, 14), utc(2026, 2, 4, 14)):
        with frozen(moment):
            subscriptions_tick()

    message = EmailMessage.objects.get(template="subscription_payment_failed")
    assert message.to == NEW_EMAIL


def test_api_shows_and_filters_by_the_customers_current_email(shop, api):
    subscription = make_subscription(shop, at=NOW)
    _change_email(api, subscription.customer.pk, NEW_EMAIL)

    detail = api.get(f"/api/v1/subscriptions/{subscription.pk}/").json()
    found = api.get("/api/v1/subscriptions/", {"email": "Sam.New@example.com"}).json()
    stale = api.get("/api/v1/subscriptions/", {"email": "sam@example.com"}).json()

    assert detail["email"] == NEW_EMAIL
    assert [row["id"] for row in found["results"]] == [subscription.pk]
    assert [row["email"] for row in found["results"]] == [NEW_EMAIL]
    assert stale["results"] == []


def test_admin_lists_and_finds_the_subscription_by_the_customers_current_email(
    admin_client, shop, api
):
    subscription = make_subscription(shop, at=NOW)
    _change_email(api, subscription.customer.pk, NEW_EMAIL)
    changelist = reverse("admin:orders_subscription_changelist")

    with frozen(NOW):
        found = admin_client.get(changelist, {"q": "sam.new"}).content.decode()
        stale = admin_client.get(changelist, {"q": "sam@"}).content.decode()
        page = admin_client.get(
            reverse("admin:orders_subscription_change", args=[subscription.pk])
        ).content.decode()

    assert NEW_EMAIL in found
    assert f"Subscription {subscription.pk}" not in stale and NEW_EMAIL not in stale
    assert NEW_EMAIL in page
    assert "sam@example.com" not in page
