"""Reminder e-mails: N days (per channel) before each run, once per run, never when paused."""

from datetime import date

import pytest

from oms_project.models import EmailMessage
from orders.models import SalesChannel
from orders.subscription_models import SubscriptionEvent
from orders.subscriptions.reminders import subscription_reminders_send
from orders.subscriptions.scheduler import subscriptions_tick
from orders.subscriptions.services import subscription_pause, subscription_skip_next
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db


def remind(moment) -> int:
    with frozen(moment):
        return subscription_reminders_send()


def reminders() -> list[EmailMessage]:
    return list(EmailMessage.objects.filter(template="subscription_reminder").order_by("pk"))


def test_reminder_goes_out_the_channel_lead_days_before_the_run_and_once(shop):
    subscription = make_subscription(shop, at=utc(2026, 1, 20))  # run 31 Jan 14:00 UTC
    assert shop["channel"].subscription_reminder_days == 3
    assert remind(utc(2026, 1, 28, 13, 59)) == 0
    assert remind(utc(2026, 1, 28, 14)) == 1
    assert remind(utc(2026, 1, 28, 14, 15)) == 0
    assert remind(utc(2026, 1, 30)) == 0
    [email] = reminders()
    assert email.to == "sam@example.com"
    assert email.reference == f"subscription:{subscription.pk}"
    assert "Saturday 31 January 2026 at 09:00 (America/New_York)" in email.body_text
    assert "2 x A" in email.body_text
    subscription.refresh_from_db()
    assert subscription.reminded_for_date == date(2026, 1, 31)
    assert SubscriptionEvent.objects.filter(subscription=subscription, type="reminded").count() == 1


def test_each_run_gets_its_own_reminder(shop, stock):
    stock("A", "EAST", 10)
    make_subscription(shop, at=utc(2026, 1, 20))
    remind(utc(2026, 1, 28, 14))
    with frozen(utc(2026, 1, 31, 14)):
        subscriptions_tick()
    assert remind(utc(2026, 2, 25, 13, 59)) == 0
    assert remind(utc(2026, 2, 25, 14)) == 1
    assert [email.subject for email in reminders()] == [
        "Your Web shop subscription order is coming on 31 January 2026",
        "Your Web shop subscription order is coming on 28 February 2026",
    ]


def test_lead_days_are_per_channel_and_zero_turns_reminders_off(shop):
    SalesChannel.objects.filter(pk=shop["channel"].pk).update(subscription_reminder_days=7)
    make_subscription(shop, at=utc(2026, 1, 20))
    assert remind(utc(2026, 1, 24, 13, 59)) == 0
    assert remind(utc(2026, 1, 24, 14)) == 1

    other = SalesChannel.objects.create(code="quiet", name="Quiet", subscription_reminder_days=0)
    make_subscription({**shop, "channel": other}, at=utc(2026, 1, 20), start_date=date(2026, 2, 3))
    assert remind(utc(2026, 2, 2)) == 0
    assert len(reminders()) == 1


def test_a_skipped_run_is_not_announced_and_the_next_one_is(shop):
    subscription = make_subscription(shop, at=utc(2026, 1, 20))
    remind(utc(2026, 1, 28, 14))
    with frozen(utc(2026, 1, 29)):
        subscription_skip_next(subscription=subscription, actor="customer")
    assert remind(utc(2026, 1, 30)) == 0
    assert remind(utc(2026, 2, 25, 13, 59)) == 0
    assert remind(utc(2026, 2, 25, 14)) == 1
    assert "28 February 2026" in reminders()[-1].subject
    assert len(reminders()) == 2


def test_paused_subscriptions_get_no_reminder(shop):
    subscription = make_subscription(shop, at=utc(2026, 1, 20))
    with frozen(utc(2026, 1, 21)):
        subscription_pause(subscription=subscription, actor="customer")
    assert remind(utc(2026, 1, 29)) == 0
    assert reminders() == []
