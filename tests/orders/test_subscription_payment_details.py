"""New payment details for a subscription (API and admin): a subscription paused because its
card was declined can be given a new payment method and reference, and runs after it is
resumed are charged with them. The audit trail never holds the whole reference."""

import json

import pytest
from django.urls import reverse

from oms_project.models import EmailMessage
from orders.models import Order
from orders.subscription_models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionOccurrence,
    SubscriptionStatus,
)
from orders.subscriptions.errors import SubscriptionValidationError
from orders.subscriptions.payments import PaymentOutcome
from orders.subscriptions.scheduler import subscriptions_tick
from orders.subscriptions.services import subscription_change
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 20, 12)
# The first run (31 January) and its two retries: the last decline pauses the subscription.
DECLINED_ATTEMPTS = (utc(2026, 1, 31, 14), utc(2026, 2, 1, 14), utc(2026, 2, 4, 14))
GATEWAY = "tests.orders.test_subscription_payment_details.OldCardDecliningGateway"


class OldCardDecliningGateway:
    """Declines the subscription's first card (`tok_sam`), approves any other; records which
    stored reference each charge used."""

    charged: list = []

    def charge(self, *, subscription, amount, currency, idempotency_key):
        OldCardDecliningGateway.charged.append(subscription.payment_reference)
        if subscription.payment_reference == "tok_sam":
            return PaymentOutcome(is_successful=False, message="Card declined (expired)")
        return PaymentOutcome(is_successful=True, reference=subscription.payment_reference)

    def void(self, *, subscription, reference, amount, currency):
        return None


@pytest.fixture
def declined(shop, stock, settings):
    """A subscription paused after every attempt of its first run was declined."""
    stock("A", "EAST", 100)
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY
    OldCardDecliningGateway.charged = []
    subscription = make_subscription(shop, at=NOW)
    for moment in DECLINED_ATTEMPTS:
        with frozen(moment):
            subscriptions_tick()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.pause_reason) == ("paused", "payment_failed")
    return subscription


def _patch(api, subscription, body):
    return api.patch(
        f"/api/v1/subscriptions/{subscription.pk}/",
        data=json.dumps(body),
        content_type="application/json",
    )


def test_paused_for_declined_payment_subscription_accepts_new_payment_reference(declined, api):
    email = EmailMessage.objects.get(template="subscription_payment_failed")
    assert "update your payment details" in email.body_text

    response = _patch(api, declined, {"payment_method": "card", "payment_reference": "tok_new"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["payment_method"], body["payment_reference"]) == ("card", "tok_new")
    declined.refresh_from_db()
    assert (declined.payment_method, declined.payment_reference) == ("card", "tok_new")
    assert declined.status == SubscriptionStatus.PAUSED, "new payment details must not resume"


def test_resume_after_new_payment_details_places_the_order_with_the_new_reference(declined, api):
    _patch(api, declined, {"payment_method": "wallet", "payment_reference": "tok_new"})
    with frozen(utc(2026, 2, 10, 12)):
        response = api.post(f"/api/v1/subscriptions/{declined.pk}/resume/")
    assert response.status_code == 200, response.content
    assert response.json()["next_occurrence_date"] == "2026-02-28"

    with frozen(utc(2026, 2, 28, 14)):
        subscriptions_tick()

    assert OldCardDecliningGateway.charged == ["tok_sam", "tok_sam", "tok_sam", "tok_new"]
    run = SubscriptionOccurrence.objects.get(occurrence_date="2026-02-28")
    assert run.status == SubscriptionOccurrence.Status.PLACED
    payment = Order.objects.get().payments.get()
    assert (payment.method, payment.reference, payment.status) == ("wallet", "tok_new", "captured")


def test_a_payment_retry_uses_the_reference_given_after_the_decline(shop, stock, settings, api):
    stock("A", "EAST", 100)
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY
    OldCardDecliningGateway.charged = []
    subscription = make_subscription(shop, at=NOW)
    with frozen(DECLINED_ATTEMPTS[0]):
        subscriptions_tick()
    assert SubscriptionOccurrence.objects.get().status == "payment_retry"

    assert _patch(api, subscription, {"payment_reference": "tok_new"}).status_code == 200
    with frozen(DECLINED_ATTEMPTS[1]):
        subscriptions_tick()

    assert OldCardDecliningGateway.charged == ["tok_sam", "tok_new"]
    assert SubscriptionOccurrence.objects.get().status == "placed"
    assert Order.objects.get().payments.get().reference == "tok_new"


def test_the_change_is_audited_without_the_whole_reference(shop, api):
    subscription = make_subscription(shop, at=NOW)

    _patch(api, subscription, {"payment_method": "card", "payment_reference": "tok_new_card_4242"})

    event = SubscriptionEvent.objects.get(type="changed")
    assert event.data == {"payment": {"method": "card", "reference": "…4242"}}
    assert event.actor.startswith("api_key:")
    assert "tok_new_card_4242" not in json.dumps(event.data) + event.message
    assert "tok_sam" not in json.dumps(event.data) + event.message


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"payment_method": "wallet"},
            {"payment_reference": ["A new payment method needs its payment reference."]},
        ),
        ({"payment_reference": ""}, {"payment_reference": ["This field may not be blank."]}),
        (
            {"payment_method": "", "payment_reference": "tok_x"},
            {"payment_method": ["This field may not be blank."]},
        ),
        (
            {"payment_reference": "t" * 101},
            {"payment_reference": ["Ensure this field has no more than 100 characters."]},
        ),
    ],
)
def test_invalid_payment_details_are_refused_and_change_nothing(shop, api, body, errors):
    subscription = make_subscription(shop, at=NOW)

    response = _patch(api, subscription, body)

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    subscription.refresh_from_db()
    assert (subscription.payment_method, subscription.payment_reference) == ("card", "tok_sam")
    assert not SubscriptionEvent.objects.filter(type="changed").exists()


def test_the_service_refuses_a_new_method_without_its_reference(shop):
    subscription = make_subscription(shop, at=NOW)

    with pytest.raises(SubscriptionValidationError) as raised:
        subscription_change(subscription=subscription, actor="test", payment_method="wallet")

    assert raised.value.code == "validation_error"
    subscription.refresh_from_db()
    assert subscription.payment_method == "card"


def test_a_cancelled_subscription_keeps_its_payment_details(shop, api):
    subscription = make_subscription(shop, at=NOW)
    api.post(f"/api/v1/subscriptions/{subscription.pk}/cancel/")

    response = _patch(api, subscription, {"payment_reference": "tok_new"})

    assert response.status_code == 409
    subscription.refresh_from_db()
    assert subscription.payment_reference == "tok_sam"


def test_admin_change_page_sets_new_payment_details(admin_client, declined):
    url = reverse("admin:orders_subscription_change_contents", args=[declined.pk])
    form = {
        "quantity_A": "2",
        "shipping_method": "ground",
        "line1": "5 Elm St",
        "city": "Reno",
        "country": "US",
        "postal_code": "89501",
        "first_name": "Sam",
        "last_name": "Lee",
    }
    with frozen(utc(2026, 2, 10, 12)):
        page = admin_client.get(url).content.decode()
        assert 'name="payment_reference"' in page
        response = admin_client.post(
            url, {**form, "payment_method": "card", "payment_reference": "tok_admin"}
        )

    assert response.status_code == 302
    declined.refresh_from_db()
    assert (declined.payment_method, declined.payment_reference) == ("card", "tok_admin")
    event = SubscriptionEvent.objects.filter(type="changed").get()
    assert event.data["payment"] == {"method": "card", "reference": "…dmin"}
    assert event.actor == "user:admin"


def test_admin_change_page_keeps_the_payment_details_when_left_as_they_are(admin_client, shop):
    subscription = make_subscription(shop, at=NOW)
    url = reverse("admin:orders_subscription_change_contents", args=[subscription.pk])
    with frozen(NOW):
        response = admin_client.post(
            url,
            {
                "quantity_A": "3",
                "shipping_method": "ground",
                "line1": "5 Elm St",
                "city": "Reno",
                "country": "US",
                "payment_method": "card",
                "payment_reference": "",
            },
        )

    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.payment_method, subscription.payment_reference) == ("card", "tok_sam")
    assert "payment" not in SubscriptionEvent.objects.get(type="changed").data


def test_admin_change_page_refuses_a_new_method_without_its_reference(admin_client, shop):
    subscription = make_subscription(shop, at=NOW)
    url = reverse("admin:orders_subscription_change_contents", args=[subscription.pk])
    with frozen(NOW):
        response = admin_client.post(
            url,
            {
                "quantity_A": "2",
                "line1": "5 Elm St",
                "city": "Reno",
                "country": "US",
                "payment_method": "wallet",
                "payment_reference": "",
            },
        )

    assert response.status_code == 200
    assert "A new payment method needs its payment reference." in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.payment_method == "card"
    assert not SubscriptionEvent.objects.filter(type="changed").exists()
