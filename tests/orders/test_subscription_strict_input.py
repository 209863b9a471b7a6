"""Subscription input the API refuses whole: dates the schedule cannot compute, unknown fields
on every action, oversized attributes, and line errors in the shape order creation uses."""

from datetime import date

import pytest

from customers.models import Customer
from orders.models import IdempotencyRecord, Order
from orders.subscription_models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionLine,
    SubscriptionOccurrence,
)
from orders.subscriptions.errors import SubscriptionValidationError
from orders.subscriptions.services import subscription_create, subscription_pause
from tests.orders.shipping import post_json
from tests.orders.test_order_apis import body as order_body
from tests.orders.test_subscription_apis import NOW, URL, payload, post
from tests.orders.test_subscription_support import (
    frozen,
    make_subscription,
    subscription_data,
)

pytestmark = pytest.mark.django_db
# NOW is 20 January 2026: starts may be 10 years back and 5 ahead, ends 50 years ahead.
START_OUT_OF_RANGE = ["Give a start date between 2016-01-20 and 2031-01-20."]
END_TOO_LATE = ["Give an end date no later than 2076-01-20."]


@pytest.fixture
def client(shop, make_client):
    return make_client(channel=shop["channel"])


def assert_nothing_written():
    assert not Subscription.objects.exists()
    assert not Customer.objects.exists()
    assert not SubscriptionEvent.objects.exists()
    assert not IdempotencyRecord.objects.exists()


# --- dates the schedule can compute ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"start_date": "9999-12-31"}, {"start_date": START_OUT_OF_RANGE}),
        (
            {"start_date": "9999-11-30", "interval_count": 366, "interval_unit": "day",
             "anchor_day": None},
            {"start_date": START_OUT_OF_RANGE},
        ),
        ({"start_date": "2031-01-21"}, {"start_date": START_OUT_OF_RANGE}),
        ({"start_date": "2016-01-19"}, {"start_date": START_OUT_OF_RANGE}),
        ({"start_date": "0001-01-01"}, {"start_date": START_OUT_OF_RANGE}),
        ({"end_date": "9999-12-31"}, {"end_date": END_TOO_LATE}),
        ({"end_date": "2076-01-21"}, {"end_date": END_TOO_LATE}),
        (
            {"start_date": "9999-12-31", "end_date": "9999-12-31"},
            {"start_date": START_OUT_OF_RANGE, "end_date": END_TOO_LATE},
        ),
    ],
)
def test_dates_the_schedule_cannot_compute_are_refused_and_nothing_is_written(
    client, overrides, errors
):
    response = post(client, URL, payload(**overrides))
    assert response.status_code == 400, response.json()
    body = response.json()
    assert (body["code"], body["errors"]) == ("validation_error", errors)
    assert_nothing_written()
    again = post(client, URL, payload(**overrides))
    assert again.status_code == 400
    assert_nothing_written()


def test_dates_at_the_edges_of_the_bounds_are_accepted(client):
    response = post(client, URL, payload(start_date="2031-01-20", end_date="2076-01-20"))
    assert response.status_code == 201, response.json()
    assert response.json()["next_occurrence_date"] == "2031-01-31"
    assert len(response.json()["upcoming_runs"]) == 3


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start_date": date(9999, 12, 31)}, "start_date"),
        ({"end_date": date(9999, 12, 31)}, "end_date"),
        ({"interval_count": 0}, "interval_count"),
        ({"interval_count": 367}, "interval_count"),
        ({"interval_unit": "year"}, "interval_unit"),
    ],
)
def test_the_service_refuses_what_the_schedule_cannot_compute_itself(shop, overrides, field):
    with frozen(NOW), pytest.raises(SubscriptionValidationError) as raised:
        subscription_create(
            channel=shop["channel"], data=subscription_data(**overrides), actor="test"
        )
    assert list(raised.value.errors) == [field]
    assert_nothing_written()


def test_a_create_whose_response_cannot_be_rendered_writes_nothing(client, monkeypatch):
    def broken(subscription, **kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("orders.subscriptions.selectors.upcoming_runs", broken)
    response = post(client, URL, payload())
    assert response.status_code == 500
    assert_nothing_written()


def test_a_stored_subscription_at_the_end_of_the_calendar_still_lists(shop, client):
    subscription = make_subscription(shop, at=NOW)
    Subscription.objects.filter(pk=subscription.pk).update(
        start_date=date(9999, 12, 31), anchor_day=31, interval_count=366,
        next_occurrence_date=date(9999, 12, 31),
    )
    with frozen(NOW):
        listed = client.get(URL)
        detail = client.get(f"{URL}{subscription.pk}/")
    assert listed.status_code == 200
    assert [item["upcoming_runs"] for item in listed.json()["results"]] == [[]]
    assert detail.status_code == 200
    assert detail.json()["upcoming_runs"] == []


# --- unknown fields on every action ----------------------------------------------------------


ACTIONS = [
    ("post", "pause/", "active"),
    ("post", "resume/", "paused"),
    ("post", "skip-next/", "active"),
    ("post", "cancel/", "active"),
    ("patch", "", "active"),
]


@pytest.mark.parametrize(("method", "path", "status"), ACTIONS)
def test_every_action_refuses_unknown_fields_and_changes_nothing(
    shop, client, method, path, status
):
    subscription = make_subscription(shop, at=NOW)
    if status == "paused":
        subscription_pause(subscription=subscription, actor="test")
    before = Subscription.objects.values().get(pk=subscription.pk)
    events = SubscriptionEvent.objects.count()
    body = {"foo": 1, **({"quantities": {"A": 3}} if method == "patch" else {})}
    response = post(client, f"{URL}{subscription.pk}/{path}", body, method=method)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {"foo": ["Unknown field."]}
    assert Subscription.objects.values().get(pk=subscription.pk) == before
    assert SubscriptionEvent.objects.count() == events
    assert not SubscriptionOccurrence.objects.exists()
    assert list(SubscriptionLine.objects.values_list("sku", "quantity")) == [("A", 2)]


@pytest.mark.parametrize(("method", "path", "status"), ACTIONS[:3])
def test_actions_without_a_body_refuse_a_body_that_is_not_an_object(
    shop, client, method, path, status
):
    subscription = make_subscription(shop, at=NOW)
    if status == "paused":
        subscription_pause(subscription=subscription, actor="test")
    before = Subscription.objects.values().get(pk=subscription.pk)
    response = post(client, f"{URL}{subscription.pk}/{path}", [1], method=method)
    assert response.status_code == 400, response.json()
    assert Subscription.objects.values().get(pk=subscription.pk) == before


# --- attributes -------------------------------------------------------------------------------


TOO_LONG = "Attribute '{}' is too long (keys 100, values 2000 chars)."


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"gift": "x" * 2001}, TOO_LONG.format("gift")),
        ({"gift": "x" * 100_000}, TOO_LONG.format("gift")),
        ({"k" * 101: "x"}, TOO_LONG.format("k" * 40)),
        ({f"a{index}": "x" for index in range(51)}, "At most 50 attributes."),
    ],
)
def test_attributes_are_capped_as_on_orders(client, attributes, message):
    response = post(client, URL, payload(attributes=attributes))
    assert response.status_code == 400
    assert response.json()["errors"] == {"attributes": [message]}
    assert_nothing_written()
    order = post_json(client, "/api/v1/orders/", order_body(attributes=attributes))
    assert order.json()["errors"] == {"attributes": [message]}


def test_attributes_up_to_the_cap_are_kept(client):
    attributes = {"k" * 100: "x" * 2000}
    response = post(client, URL, payload(attributes=attributes))
    assert response.status_code == 201
    assert response.json()["attributes"] == attributes


# --- line errors --------------------------------------------------------------------------


def test_line_errors_have_the_shape_order_creation_gives_them(shop, client):
    shop["products"]["C"].is_active = False
    shop["products"]["C"].save()
    lines = [
        {"sku": "A", "quantity": 1, "unit_price": "1.00"},
        {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"},
        {"sku": "C", "quantity": 1, "unit_price": "1.00"},
    ]
    expected = {"1": {"sku": ["Unknown SKU 'NOPE'."]}, "2": {"sku": ["SKU 'C' is not for sale."]}}
    subscription = post(client, URL, payload(lines=lines))
    order = post_json(client, "/api/v1/orders/", order_body(lines=lines, payment=None))
    assert subscription.status_code == order.status_code == 400
    assert subscription.json()["errors"] == order.json()["errors"] == {"lines": expected}
    assert not Order.objects.exists()
    assert_nothing_written()


def test_a_duplicate_sku_is_an_error_on_its_own_line(client):
    lines = [
        {"sku": "A", "quantity": 1, "unit_price": "1.00"},
        {"sku": "B", "quantity": 1, "unit_price": "1.00"},
        {"sku": "A", "quantity": 2, "unit_price": "1.00"},
    ]
    response = post(client, URL, payload(lines=lines))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines": {"2": {"sku": ["SKU 'A' appears on more than one line."]}}
    }
    assert_nothing_written()
