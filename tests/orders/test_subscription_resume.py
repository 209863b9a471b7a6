"""Pause and resume keep skipped runs skipped and never schedule a run in the past.

A monthly subscription on the 10th at 09:00 New York time; "Skip next run" moved its next run
from 2026-12-10 to 2027-01-10 before it was paused.
"""

from datetime import date

import pytest
from django.urls import reverse

from orders.subscription_models import SubscriptionEvent, SubscriptionOccurrence
from orders.subscriptions.scheduler import subscriptions_tick
from orders.subscriptions.services import (
    subscription_pause,
    subscription_resume,
    subscription_skip_next,
)
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
Status = SubscriptionOccurrence.Status
CREATED = utc(2026, 11, 20, 12)
URL = "/api/v1/subscriptions/"


@pytest.fixture
def skipped(shop):
    """A subscription whose run of 2026-12-10 was skipped, then paused."""
    subscription = make_subscription(
        shop, at=CREATED, start_date=date(2026, 12, 1), anchor_day=10
    )
    assert subscription.next_occurrence_date == date(2026, 12, 10)
    with frozen(CREATED):
        subscription_skip_next(subscription=subscription, actor="customer")
        subscription = subscription_pause(subscription=subscription, actor="customer")
    return subscription


def resume(subscription, at):
    with frozen(at):
        return subscription_resume(subscription=subscription, actor="customer")


def test_resume_keeps_a_skipped_run_skipped(skipped):
    resumed = resume(skipped, utc(2026, 11, 25))

    assert (resumed.status, resumed.next_occurrence_date) == ("active", date(2027, 1, 10))
    assert resumed.next_run_at == utc(2027, 1, 10, 14)
    assert SubscriptionEvent.objects.filter(subscription=skipped).last().message == (
        "Next run 2027-01-10."
    )


def test_skip_after_resume_skips_the_next_run_not_the_skipped_one(skipped):
    resumed = resume(skipped, utc(2026, 11, 25))

    with frozen(utc(2026, 11, 25)):
        occurrence = subscription_skip_next(subscription=resumed, actor="customer")

    assert occurrence.occurrence_date == date(2027, 1, 10)
    resumed.refresh_from_db()
    assert resumed.next_occurrence_date == date(2027, 2, 10)
    assert list(
        SubscriptionOccurrence.objects.filter(subscription=skipped)
        .order_by("occurrence_date")
        .values_list("occurrence_date", "status")
    ) == [(date(2026, 12, 10), Status.SKIPPED), (date(2027, 1, 10), Status.SKIPPED)]


def test_resume_steps_over_every_skipped_run(shop):
    subscription = make_subscription(
        shop, at=CREATED, start_date=date(2026, 12, 1), anchor_day=10
    )
    with frozen(CREATED):
        for _ in range(3):
            subscription_skip_next(subscription=subscription, actor="customer")
            subscription.refresh_from_db()
        subscription_pause(subscription=subscription, actor="customer")

    resumed = resume(subscription, utc(2026, 11, 25))

    assert resumed.next_occurrence_date == date(2027, 3, 10)


def test_the_scheduler_places_no_order_for_the_skipped_run_after_resume(skipped, stock):
    stock("A", "EAST", 10)
    resume(skipped, utc(2026, 11, 25))

    with frozen(utc(2026, 12, 10, 15)):
        assert subscriptions_tick() == {"scheduled": 0, "processed": 0}
    with frozen(utc(2027, 1, 10, 15)):
        assert subscriptions_tick() == {"scheduled": 1, "processed": 1}

    assert list(
        SubscriptionOccurrence.objects.filter(subscription=skipped)
        .order_by("occurrence_date")
        .values_list("occurrence_date", "status")
    ) == [(date(2026, 12, 10), Status.SKIPPED), (date(2027, 1, 10), Status.PLACED)]


@pytest.mark.parametrize(
    ("resumed_at", "next_date"),
    [
        # Past the skipped run and the one after it: the next run from today on.
        (utc(2027, 3, 15), date(2027, 4, 10)),
        # On a run's day before its local time: that run.
        (utc(2027, 4, 10, 13), date(2027, 4, 10)),
        # On a run's day after its local time: the next one, never one already due.
        (utc(2027, 4, 10, 14, 1), date(2027, 5, 10)),
    ],
)
def test_resume_after_a_long_pause_schedules_no_run_in_the_past(skipped, resumed_at, next_date):
    resumed = resume(skipped, resumed_at)

    assert resumed.next_occurrence_date == next_date
    assert resumed.next_run_at >= resumed_at


def test_resume_after_the_last_run_completes_the_subscription(shop):
    subscription = make_subscription(
        shop, at=CREATED, start_date=date(2026, 12, 1), anchor_day=10,
        end_date=date(2027, 2, 15),
    )
    with frozen(CREATED):
        subscription_skip_next(subscription=subscription, actor="customer")
        subscription = subscription_pause(subscription=subscription, actor="customer")

    resumed = resume(subscription, utc(2027, 2, 11))

    assert (resumed.status, resumed.next_occurrence_date) == ("completed", None)


def test_api_resume_keeps_a_skipped_run_skipped(skipped, shop, make_client):
    client = make_client(channel=shop["channel"])
    url = f"{URL}{skipped.pk}/"

    with frozen(utc(2026, 11, 25)):
        resumed = client.post(url + "resume/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
        skipped_again = client.post(
            url + "skip-next/", {}, format="json", HTTP_IDEMPOTENCY_KEY="s1"
        )

    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["next_occurrence_date"] == "2027-01-10"
    assert skipped_again.status_code == 200, skipped_again.json()
    assert skipped_again.json()["next_occurrence_date"] == "2027-02-10"


def test_admin_resume_keeps_a_skipped_run_skipped(skipped, admin_client):
    def press(action):
        url = reverse("admin:orders_subscription_object_action", args=[skipped.pk, action])
        with frozen(utc(2026, 11, 25)):
            return admin_client.post(url, follow=True).content.decode()

    assert "resumed." in press("resume")
    skipped.refresh_from_db()
    assert skipped.next_occurrence_date == date(2027, 1, 10)
    assert "next run skipped." in press("skip_next")
    skipped.refresh_from_db()
    assert skipped.next_occurrence_date == date(2027, 2, 10)
