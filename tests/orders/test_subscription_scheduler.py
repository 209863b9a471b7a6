"""The scheduler with a frozen clock: runs on time in the customer's zone, once per run."""

from datetime import date, time
from decimal import Decimal

import pytest

from oms_project.models import EmailMessage
from orders.models import Order, SalesChannel
from orders.states import OrderStatus
from orders.subscription_models import Subscription, SubscriptionOccurrence, SubscriptionStatus
from orders.subscriptions.scheduler import subscription_run_record, subscriptions_tick
from orders.subscriptions.services import (
    subscription_cancel,
    subscription_pause,
    subscription_resume,
    subscription_skip_next,
)
from tests.orders.test_subscription_support import (
    GATEWAY_PATH,
    TOTAL,
    CountingGateway,
    DecliningGateway,
    frozen,
    make_subscription,
    utc,
)

pytestmark = pytest.mark.django_db
Status = SubscriptionOccurrence.Status


def tick(moment):
    with frozen(moment):
        return subscriptions_tick()


def placed_dates(subscription) -> list[date]:
    return list(
        SubscriptionOccurrence.objects.filter(subscription=subscription, status=Status.PLACED)
        .order_by("occurrence_date")
        .values_list("occurrence_date", flat=True)
    )


@pytest.fixture
def stocked(shop, stock):
    stock("A", "EAST", 100)
    return shop


def test_first_run_places_an_ordinary_paid_order_at_the_local_time(stocked):
    subscription = make_subscription(stocked, at=utc(2026, 1, 20, 12))
    assert subscription.next_occurrence_date == date(2026, 1, 31)
    assert subscription.next_run_at == utc(2026, 1, 31, 14)  # 09:00 EST

    assert tick(utc(2026, 1, 31, 13, 59)) == {"scheduled": 0, "processed": 0}
    assert not Order.objects.exists()

    assert tick(utc(2026, 1, 31, 14)) == {"scheduled": 1, "processed": 1}
    order = Order.objects.get()
    assert order.channel_order_id == f"SUB-{subscription.pk}-20260131"
    assert order.status == OrderStatus.PROCESSING
    assert (order.total, order.paid_total) == (TOTAL, TOTAL)
    assert order.email == "sam@example.com"
    assert order.shipping_method.code == "ground"
    assert order.shipping_address["line1"] == "5 Elm St"
    assert [(line.sku, line.quantity, line.quantity_allocated) for line in order.lines.all()] == [
        ("A", 2, 2)
    ]
    assert order.attributes == {
        "subscription_id": str(subscription.pk),
        "subscription_run": "2026-01-31",
    }
    assert order.payments.get().reference == "tok_sam"
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.order, run.attempts, run.attempt_at) == (Status.PLACED, order, 1, None)
    subscription.refresh_from_db()
    assert subscription.next_occurrence_date == date(2026, 2, 28)
    assert subscription.next_run_at == utc(2026, 2, 28, 14)
    assert subscription.occurrence_count == 1
    assert EmailMessage.objects.filter(template="order_confirmation").count() == 1


def test_a_retried_tick_places_no_second_order(stocked):
    make_subscription(stocked, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    assert tick(utc(2026, 1, 31, 14)) == {"scheduled": 0, "processed": 0}
    assert tick(utc(2026, 1, 31, 14, 5)) == {"scheduled": 0, "processed": 0}
    assert Order.objects.count() == 1
    assert SubscriptionOccurrence.objects.count() == 1


def test_a_run_already_recorded_for_the_date_is_not_recorded_or_ordered_again(stocked):
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))
    SubscriptionOccurrence.objects.create(
        subscription=subscription,
        occurrence_date=date(2026, 1, 31),
        scheduled_for=utc(2026, 1, 31, 14),
        status=Status.PLACED,
    )
    moment = utc(2026, 1, 31, 14)
    with frozen(moment):
        assert subscription_run_record(subscription_id=subscription.pk, now=moment) is None
    assert tick(utc(2026, 1, 31, 14)) == {"scheduled": 0, "processed": 0}
    assert not Order.objects.exists()
    assert SubscriptionOccurrence.objects.count() == 1
    subscription.refresh_from_db()
    assert subscription.next_occurrence_date == date(2026, 2, 28)


def test_anchor_on_the_31st_clamps_to_each_month_end_across_the_dst_change(stocked):
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))
    for moment in (
        utc(2026, 1, 31, 14),
        utc(2026, 2, 28, 14),
        utc(2026, 3, 31, 13),  # 09:00 EDT
        utc(2026, 4, 30, 13),
    ):
        assert tick(moment) == {"scheduled": 1, "processed": 1}, moment
    assert placed_dates(subscription) == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)
    ]
    subscription.refresh_from_db()
    assert subscription.next_run_at == utc(2026, 5, 31, 13)
    assert Order.objects.count() == 4


def test_spring_forward_gap_runs_at_the_first_valid_instant_after_it(stocked):
    subscription = make_subscription(
        stocked, at=utc(2026, 3, 1), interval_unit="day", local_time=time(2, 30),
        start_date=date(2026, 3, 7),
    )
    assert subscription.next_run_at == utc(2026, 3, 7, 7, 30)  # 02:30 EST
    tick(utc(2026, 3, 7, 7, 30))
    subscription.refresh_from_db()
    # 02:30 does not exist on 8 March in New York: the run is due when clocks jump to 03:00.
    assert subscription.next_run_at == utc(2026, 3, 8, 7, 0)
    assert tick(utc(2026, 3, 8, 6, 59)) == {"scheduled": 0, "processed": 0}
    assert tick(utc(2026, 3, 8, 7, 0)) == {"scheduled": 1, "processed": 1}
    subscription.refresh_from_db()
    assert subscription.next_run_at == utc(2026, 3, 9, 6, 30)  # 02:30 EDT
    assert placed_dates(subscription) == [date(2026, 3, 7), date(2026, 3, 8)]


def test_fall_back_runs_at_the_first_of_the_two_local_times(stocked):
    subscription = make_subscription(
        stocked, at=utc(2026, 10, 25), interval_unit="day", local_time=time(1, 30),
        start_date=date(2026, 11, 1),
    )
    assert subscription.next_run_at == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first one
    assert tick(utc(2026, 11, 1, 5, 30)) == {"scheduled": 1, "processed": 1}
    # 01:30 EST an hour later is the same local time again: no second order.
    assert tick(utc(2026, 11, 1, 6, 30)) == {"scheduled": 0, "processed": 0}
    subscription.refresh_from_db()
    assert subscription.next_run_at == utc(2026, 11, 2, 6, 30)  # 01:30 EST
    assert Order.objects.count() == 1


def test_a_week_of_downtime_places_one_catch_up_order_for_the_latest_run(stocked):
    subscription = make_subscription(
        stocked, at=utc(2026, 1, 1), interval_unit="day", start_date=date(2026, 1, 5)
    )
    tick(utc(2026, 1, 5, 14))
    # The scheduler is down from 5 January until 12 January 15:00 UTC.
    assert tick(utc(2026, 1, 12, 15)) == {"scheduled": 1, "processed": 1}
    assert Order.objects.count() == 2
    catch_up = SubscriptionOccurrence.objects.get(occurrence_date=date(2026, 1, 12))
    assert catch_up.catch_up_from == date(2026, 1, 6)
    assert catch_up.status == Status.PLACED
    assert SubscriptionOccurrence.objects.count() == 2
    subscription.refresh_from_db()
    assert subscription.next_run_at == utc(2026, 1, 13, 14)
    assert tick(utc(2026, 1, 12, 15)) == {"scheduled": 0, "processed": 0}


def test_pause_stops_runs_and_resume_does_not_catch_up_the_paused_ones(stocked):
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))
    with frozen(utc(2026, 1, 25)):
        subscription_pause(subscription=subscription, actor="customer")
    assert tick(utc(2026, 1, 31, 14)) == {"scheduled": 0, "processed": 0}
    with frozen(utc(2026, 2, 10)):
        subscription = subscription_resume(subscription=subscription, actor="customer")
    assert subscription.next_run_at == utc(2026, 2, 28, 14)
    tick(utc(2026, 2, 28, 14))
    assert placed_dates(subscription) == [date(2026, 2, 28)]


def test_skip_next_records_the_run_as_skipped_and_moves_on(stocked):
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    with frozen(utc(2026, 2, 1)):
        skipped = subscription_skip_next(subscription=subscription, actor="customer")
    assert (skipped.occurrence_date, skipped.status) == (date(2026, 2, 28), Status.SKIPPED)
    subscription.refresh_from_db()
    assert subscription.next_occurrence_date == date(2026, 3, 31)
    assert tick(utc(2026, 2, 28, 14)) == {"scheduled": 0, "processed": 0}
    tick(utc(2026, 3, 31, 13))
    assert placed_dates(subscription) == [date(2026, 1, 31), date(2026, 3, 31)]
    assert subscription.occurrences.filter(status=Status.SKIPPED).count() == 1


def test_declined_payment_is_retried_on_schedule_then_pauses_and_tells_the_customer(
    stocked, settings
):
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    DecliningGateway.charges = []
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))

    tick(utc(2026, 1, 31, 14))
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.attempts, run.attempt_at) == (
        Status.PAYMENT_RETRY, 1, utc(2026, 2, 1, 14)
    )
    assert run.failure_code == "payment_declined"
    assert tick(utc(2026, 2, 1, 13, 59))["processed"] == 0
    tick(utc(2026, 2, 1, 14))
    run.refresh_from_db()
    assert (run.status, run.attempts, run.attempt_at) == (
        Status.PAYMENT_RETRY, 2, utc(2026, 2, 4, 14)
    )
    assert not EmailMessage.objects.filter(template="subscription_payment_failed").exists()

    tick(utc(2026, 2, 4, 14))
    run.refresh_from_db()
    assert (run.status, run.attempts, run.attempt_at) == (Status.FAILED, 3, None)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED
    assert subscription.pause_reason == Subscription.PauseReason.PAYMENT_FAILED
    assert subscription.next_run_at is None
    email = EmailMessage.objects.get(template="subscription_payment_failed")
    assert email.to == "sam@example.com"
    assert "tried 3 times" in email.body_text
    assert DecliningGateway.charges == [
        f"subscription-run-{run.pk}-attempt-{attempt}" for attempt in (1, 2, 3)
    ]
    assert not Order.objects.exists()
    assert tick(utc(2026, 2, 28, 14)) == {"scheduled": 0, "processed": 0}


def test_a_payment_that_goes_through_on_retry_places_the_order(stocked, settings):
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    make_subscription(stocked, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "CountingGateway"
    CountingGateway.charges = []
    tick(utc(2026, 2, 1, 14))
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.attempts, run.failure_code) == (Status.PLACED, 2, "")
    assert run.order.paid_total == TOTAL
    assert run.order.payments.get().reference == "ch_1"
    assert CountingGateway.charges == [(f"subscription-run-{run.pk}-attempt-2", TOTAL)]


def test_cancelling_during_payment_retries_cancels_the_waiting_run(stocked, settings):
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    subscription = make_subscription(stocked, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    with frozen(utc(2026, 2, 1, 10)):
        subscription_cancel(subscription=subscription, actor="customer")
    assert tick(utc(2026, 2, 1, 14)) == {"scheduled": 0, "processed": 0}
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.failure_code) == (Status.CANCELLED, "subscription_cancelled")


def test_short_stock_on_a_reject_channel_fails_the_run_voids_the_charge_and_tells_the_customer(
    shop, settings
):
    SalesChannel.objects.filter(pk=shop["channel"].pk).update(shortage_policy="reject")
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "CountingGateway"
    CountingGateway.charges, CountingGateway.voids = [], []
    subscription = make_subscription(shop, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.failure_code, run.order) == (Status.FAILED, "insufficient_stock", None)
    assert not Order.objects.exists()
    assert CountingGateway.voids == [("ch_1", TOTAL)]
    assert EmailMessage.objects.get(template="subscription_run_failed").to == "sam@example.com"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.next_occurrence_date == date(2026, 2, 28)


def test_short_stock_on_a_backorder_channel_places_a_backordered_order(shop):
    make_subscription(shop, at=utc(2026, 1, 20))
    tick(utc(2026, 1, 31, 14))
    run = SubscriptionOccurrence.objects.get()
    assert run.status == Status.PLACED
    assert run.order.status == OrderStatus.BACKORDERED
    assert run.order.paid_total == TOTAL


def test_number_of_orders_completes_the_subscription(stocked):
    subscription = make_subscription(
        stocked, at=utc(2026, 1, 1), interval_unit="week", start_date=date(2026, 1, 5),
        max_orders=2,
    )
    tick(utc(2026, 1, 5, 14))
    tick(utc(2026, 1, 12, 14))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.COMPLETED
    assert (subscription.next_run_at, subscription.occurrence_count) == (None, 2)
    assert tick(utc(2026, 1, 19, 14)) == {"scheduled": 0, "processed": 0}
    assert Order.objects.count() == 2


def test_end_date_stops_the_runs(stocked):
    subscription = make_subscription(
        stocked, at=utc(2026, 1, 1), interval_unit="day", interval_count=3,
        start_date=date(2026, 1, 5), end_date=date(2026, 1, 10),
    )
    for moment in (utc(2026, 1, 5, 14), utc(2026, 1, 8, 14), utc(2026, 1, 11, 14)):
        tick(moment)
    assert placed_dates(subscription) == [date(2026, 1, 5), date(2026, 1, 8)]
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.COMPLETED


def test_a_free_run_places_an_order_without_charging(stocked, settings):
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    make_subscription(
        stocked, at=utc(2026, 1, 20), shipping_total=Decimal("0"), tax_total=Decimal("0"),
        lines=[{"sku": "A", "quantity": 1, "unit_price": Decimal("0.00")}],
    )
    tick(utc(2026, 1, 31, 14))
    run = SubscriptionOccurrence.objects.get()
    assert run.status == Status.PLACED
    assert run.order.status == OrderStatus.PROCESSING


def test_a_declined_last_run_of_a_completed_subscription_fails_without_pausing(
    stocked, settings
):
    settings.OMS_SUBSCRIPTION_PAYMENT_GATEWAY = GATEWAY_PATH + "DecliningGateway"
    subscription = make_subscription(stocked, at=utc(2026, 1, 20), max_orders=1)
    for moment in (utc(2026, 1, 31, 14), utc(2026, 2, 1, 14), utc(2026, 2, 4, 14)):
        tick(moment)
    run = SubscriptionOccurrence.objects.get()
    assert (run.status, run.attempts) == (Status.FAILED, 3)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.COMPLETED
    email = EmailMessage.objects.get(template="subscription_payment_failed")
    assert email.subject == "Your Web shop subscription order could not be paid"
    assert "paused" not in email.body_text


def test_one_broken_run_does_not_hold_up_the_others(stocked, monkeypatch):
    from orders.subscriptions import scheduler

    first = make_subscription(stocked, at=utc(2026, 1, 20))
    make_subscription(stocked, at=utc(2026, 1, 20), customer={"email": "kim@example.com"})
    original = scheduler.order_data

    def broken_for_first(subscription, occurrence, now):
        if subscription.pk == first.pk:
            raise RuntimeError("processor unreachable")
        return original(subscription, occurrence, now)

    monkeypatch.setattr(scheduler, "order_data", broken_for_first)
    assert tick(utc(2026, 1, 31, 14)) == {"scheduled": 2, "processed": 2}
    assert Order.objects.get().email == "kim@example.com"
    waiting = SubscriptionOccurrence.objects.get(subscription=first)
    assert (waiting.status, waiting.attempt_at) == (Status.PENDING, utc(2026, 1, 31, 14, 10))
    monkeypatch.setattr(scheduler, "order_data", original)
    assert tick(utc(2026, 1, 31, 14, 10)) == {"scheduled": 0, "processed": 1}
    assert Order.objects.count() == 2
