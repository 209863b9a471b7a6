"""Subscriptions over the API: create (idempotent), confinement to the channel, controls."""

import pytest

from customers.models import Customer
from orders.subscription_models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionLine,
    SubscriptionOccurrence,
)
from tests.factories import SalesChannelFactory
from tests.orders.test_subscription_support import ADDRESS, frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
URL = "/api/v1/subscriptions/"
NOW = utc(2026, 1, 20, 12)


def payload(**overrides) -> dict:
    body = {
        "customer": {"email": "Sam@Example.com", "first_name": "Sam", "channel_customer_id": "c9"},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": "10.00"}],
        "shipping_address": ADDRESS,
        "shipping_method": "ground",
        "currency": "USD",
        "shipping_total": "5.00",
        "payment_method": "card",
        "payment_reference": "tok_sam",
        "interval_unit": "month",
        "anchor_day": 31,
        "time_zone": "America/New_York",
        "local_time": "09:00",
        "start_date": "2026-01-15",
    }
    body.update(overrides)
    return body


@pytest.fixture
def client(shop, make_client):
    return make_client(channel=shop["channel"])


def post(client, url, body=None, key="k-1", method="post"):
    with frozen(NOW):
        return getattr(client, method)(
            url, body if body is not None else {}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )


def test_a_channel_creates_a_subscription_for_its_customer(client, shop):
    response = post(client, URL, payload())
    assert response.status_code == 201, response.json()
    body = response.json()
    subscription = Subscription.objects.get()
    assert body["id"] == subscription.pk
    assert (body["channel"], body["status"], body["email"]) == ("web", "active", "sam@example.com")
    assert body["lines"] == [{"sku": "A", "quantity": 2, "unit_price": "10.00"}]
    assert body["next_occurrence_date"] == "2026-01-31"
    assert body["next_run_at"] == "2026-01-31T14:00:00Z"
    assert body["upcoming_runs"] == [
        "2026-01-31T09:00:00-05:00", "2026-02-28T09:00:00-05:00", "2026-03-31T09:00:00-04:00"
    ]
    assert body["runs"] == []
    assert subscription.customer.channels.get().external_id == "c9"
    assert SubscriptionEvent.objects.get().type == "created"


def test_create_replays_for_the_same_idempotency_key(client):
    first = post(client, URL, payload())
    again = post(client, URL, payload())
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Subscription.objects.count() == 1


def test_create_needs_an_idempotency_key(client):
    response = post(client, URL, payload(), key="")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]},
            {"lines": {"0": {"sku": ["Unknown SKU 'NOPE'."]}}},
        ),
        (
            {"time_zone": "Mars/Olympus"},
            {"time_zone": ["Unknown time zone 'Mars/Olympus'; use an IANA name."]},
        ),
        (
            {"interval_unit": "day", "anchor_day": 3},
            {"anchor_day": ["Daily schedules take no anchor day."]},
        ),
        (
            {"interval_unit": "week", "anchor_day": 9},
            {"anchor_day": ["Give a day between 1 and 7 for this interval."]},
        ),
        (
            {"end_date": "2026-01-01"},
            {"end_date": ["The end date is before the start date."]},
        ),
        (
            {"start_date": "2025-01-01", "end_date": "2025-06-01"},
            {"end_date": ["No run falls between now and the end date."]},
        ),
        (
            {"shipping_method": "teleport"},
            {"shipping_method": ["Unknown shipping method 'teleport'."]},
        ),
    ],
)
def test_invalid_subscriptions_are_refused_and_nothing_is_written(client, overrides, errors):
    response = post(client, URL, payload(**overrides))
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == errors
    assert not Subscription.objects.exists()
    assert not Customer.objects.exists()


def test_malformed_input_is_refused_field_by_field(client):
    response = post(client, URL, payload(status="paused"))
    assert response.status_code == 400
    assert response.json()["errors"] == {"status": ["Unknown field."]}
    response = post(
        client, URL, payload(interval_unit="year", interval_count=0, local_time="x"), key="k-2"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"interval_unit", "interval_count", "local_time"}
    assert not Subscription.objects.exists()


def test_a_channel_key_sees_and_changes_only_its_own_subscriptions(shop, client, make_client):
    own = make_subscription(shop, at=NOW)
    other_channel = SalesChannelFactory(code="market", name="Marketplace")
    foreign = make_subscription({**shop, "channel": other_channel}, at=NOW)
    with frozen(NOW):
        listed = client.get(URL).json()["results"]
        assert [item["id"] for item in listed] == [own.pk]
        assert client.get(f"{URL}{foreign.pk}/").status_code == 404
    response = post(client, f"{URL}{foreign.pk}/pause/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.status == "active"
    other_client = make_client(channel=other_channel)
    with frozen(NOW):
        assert [item["id"] for item in other_client.get(URL).json()["results"]] == [foreign.pk]


def test_a_channel_key_cannot_create_for_another_channel(client):
    response = post(client, URL, payload(channel="market"))
    assert response.status_code == 400
    assert response.json()["errors"] == {"channel": ["Not this key's channel."]}
    assert not Subscription.objects.exists()


def test_integration_keys_need_the_orders_scopes(shop, make_client):
    make_subscription(shop, at=NOW)
    reader = make_client(scopes=["orders:read"])
    with frozen(NOW):
        assert reader.get(URL).status_code == 200
    response = post(reader, URL, payload(channel="web"))
    assert response.status_code == 403
    assert response.json()["detail"] == "This API key lacks the scope 'orders:write'."
    outsider = make_client(scopes=["inventory:read"])
    with frozen(NOW):
        assert outsider.get(URL).status_code == 403
    writer = make_client(scopes=["orders:write"])
    assert post(writer, URL, payload(channel="web")).status_code == 201


def test_staff_create_for_a_named_channel(staff_client, shop):
    assert post(staff_client, URL, payload()).json()["errors"] == {
        "channel": ["This field is required."]
    }
    response = post(staff_client, URL, payload(channel="web"), key="k-2")
    assert response.status_code == 201
    assert response.json()["channel"] == "web"


def test_pause_resume_skip_and_cancel(shop, client):
    subscription = make_subscription(shop, at=NOW)
    url = f"{URL}{subscription.pk}/"
    paused = post(client, url + "pause/", key="p1")
    assert paused.status_code == 200
    assert (paused.json()["status"], paused.json()["next_run_at"]) == ("paused", None)
    again = post(client, url + "pause/", key="p2")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert post(client, url + "skip-next/", key="s0").status_code == 409
    resumed = post(client, url + "resume/", key="r1")
    assert (resumed.json()["status"], resumed.json()["next_occurrence_date"]) == (
        "active", "2026-01-31"
    )
    skipped = post(client, url + "skip-next/", key="s1").json()
    assert skipped["next_occurrence_date"] == "2026-02-28"
    assert [(run["occurrence_date"], run["status"]) for run in skipped["runs"]] == [
        ("2026-01-31", "skipped")
    ]
    cancelled = post(client, url + "cancel/", {"reason": "Moving abroad"}, key="c1").json()
    assert (cancelled["status"], cancelled["upcoming_runs"]) == ("cancelled", [])
    assert post(client, url + "resume/", key="r2").status_code == 409
    assert list(
        SubscriptionEvent.objects.filter(subscription=subscription).values_list("type", flat=True)
    ) == ["created", "paused", "resumed", "skipped", "cancelled"]


def test_change_quantities_address_and_shipping_method(shop, client):
    subscription = make_subscription(
        shop, at=NOW, lines=[
            {"sku": "A", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B", "quantity": 1, "unit_price": "3.00"},
        ],
    )
    new_address = {**ADDRESS, "line1": "9 Oak Ave", "city": "Sparks"}
    response = post(
        client, f"{URL}{subscription.pk}/",
        {"quantities": {"A": 5, "B": 0}, "shipping_address": new_address},
        method="patch",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["lines"] == [{"sku": "A", "quantity": 5, "unit_price": "10.00"}]
    assert body["shipping_address"]["line1"] == "9 Oak Ave"
    assert body["shipping_address"]["city"] == "Sparks"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"quantities": {"Z": 1}}, {"quantities": {"Z": ["SKU 'Z' is not on this subscription."]}}),
        (
            {"quantities": {"A": 0}},
            {"quantities": ["A subscription keeps at least one line; cancel it instead."]},
        ),
        (
            {"shipping_method": "teleport"},
            {"shipping_method": ["Unknown shipping method 'teleport'."]},
        ),
        (
            {},
            {
                "non_field_errors": [
                    "Send quantities, shipping_address, shipping_method or payment details."
                ]
            },
        ),
        (
            {"quantities": {"A": -1}},
            {"quantities": {"A": ["Ensure this value is greater than or equal to 0."]}},
        ),
    ],
)
def test_invalid_changes_are_refused_and_change_nothing(shop, client, body, errors):
    subscription = make_subscription(shop, at=NOW)
    response = post(client, f"{URL}{subscription.pk}/", body, method="patch")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert list(SubscriptionLine.objects.values_list("sku", "quantity")) == [("A", 2)]
    subscription.refresh_from_db()
    assert subscription.shipping_method.code == "ground"
    assert SubscriptionEvent.objects.filter(type="changed").count() == 0


def test_a_cancelled_subscription_cannot_change(shop, client):
    subscription = make_subscription(shop, at=NOW)
    post(client, f"{URL}{subscription.pk}/cancel/")
    response = post(
        client, f"{URL}{subscription.pk}/", {"quantities": {"A": 3}}, key="k-9", method="patch"
    )
    assert response.status_code == 409
    assert SubscriptionLine.objects.get().quantity == 2


def test_detail_shows_runs_with_their_orders(shop, stock, client):
    stock("A", "EAST", 10)
    subscription = make_subscription(shop, at=NOW)
    from orders.subscriptions.scheduler import subscriptions_tick

    with frozen(utc(2026, 1, 31, 14)):
        subscriptions_tick()
        body = client.get(f"{URL}{subscription.pk}/").json()
    run = SubscriptionOccurrence.objects.get()
    assert body["runs"] == [
        {
            "occurrence_date": "2026-01-31",
            "scheduled_for": "2026-01-31T14:00:00Z",
            "status": "placed",
            "attempts": 1,
            "attempt_at": None,
            "order": run.order.number,
            "failure_code": "",
            "failure_detail": "",
            "catch_up_from": None,
        }
    ]
    assert body["occurrence_count"] == 1


def test_list_runs_a_constant_number_of_queries(shop, client, django_assert_max_num_queries):
    for index in range(6):
        make_subscription(shop, at=NOW, customer={"email": f"c{index}@example.com"})
    with frozen(NOW), django_assert_max_num_queries(6):
        response = client.get(URL + "?limit=3")
    assert len(response.json()["results"]) == 3
    with frozen(NOW), django_assert_max_num_queries(6):
        response = client.get(URL + "?status=active&email=c1@example.com")
    assert [item["email"] for item in response.json()["results"]] == ["c1@example.com"]


def test_an_address_no_location_ships_to_is_refused_on_create_and_change(shop, client):
    """Every run of such a subscription would be refused: say so when it is set up."""
    from warehouses.models import Warehouse

    Warehouse.objects.update(ships_to_countries=["US"])
    paris = {**ADDRESS, "line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001",
             "country": "FR"}
    unserved = {"shipping_address": {"country": ["No location ships to FR."]}}
    created = post(client, URL, payload(shipping_address=paris))
    assert created.status_code == 400, created.json()
    assert created.json()["errors"] == unserved
    assert not Subscription.objects.exists()
    subscription = make_subscription(shop, at=NOW)
    before = subscription.shipping_address
    changed = post(client, f"{URL}{subscription.pk}/", {"shipping_address": paris}, key="k-2",
                   method="patch")
    assert changed.status_code == 400, changed.json()
    assert changed.json()["errors"] == unserved
    subscription.refresh_from_db()
    assert subscription.shipping_address == before


def test_a_yen_subscription_with_fractional_amounts_is_refused_and_nothing_is_written(client):
    response = post(client, URL, payload(
        currency="JPY", shipping_total="500.50", tax_total="0",
        lines=[{"sku": "A", "quantity": 2, "unit_price": "1000.25"}],
    ))

    assert response.status_code == 400, response.json()
    refused = "JPY has no minor unit: send whole amounts."
    assert response.json()["errors"] == {
        "shipping_total": [refused], "lines": {"0": {"unit_price": [refused]}},
    }
    assert not Subscription.objects.exists()
    assert not Customer.objects.exists()
    whole = post(client, URL, payload(
        currency="JPY", shipping_total="500", lines=[{"sku": "A", "quantity": 2,
                                                       "unit_price": "1000"}],
    ), key="k-2")
    assert whole.status_code == 201, whole.json()
