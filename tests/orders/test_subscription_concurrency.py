"""Schedulers racing on PostgreSQL: every run is recorded and ordered exactly once."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.db import connection

from inventory.models import StockLevel
from orders.models import Order
from orders.subscription_models import Subscription, SubscriptionOccurrence
from orders.subscriptions import scheduler
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
DUE = utc(2026, 1, 31, 14)


def race(count: int, call):
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            return call(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_two_schedulers_ticking_at_once_place_each_run_once(shop, stock):
    stock("A", "EAST", 1000)
    subscriptions = [
        make_subscription(shop, at=utc(2026, 1, 20), customer={"email": f"c{index}@example.com"})
        for index in range(12)
    ]
    with frozen(DUE):
        results = race(2, lambda _index: scheduler.subscriptions_tick())
    assert sum(result["scheduled"] for result in results) == 12
    assert sum(result["processed"] for result in results) == 12
    assert Order.objects.count() == 12
    assert Counter(
        Order.objects.values_list("channel_order_id", flat=True)
    ) == {f"SUB-{subscription.pk}-20260131": 1 for subscription in subscriptions}
    assert SubscriptionOccurrence.objects.filter(status="placed").count() == 12
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 24
    assert set(Subscription.objects.values_list("next_occurrence_date", flat=True)) == {
        date(2026, 2, 28)
    }


def test_schedulers_that_skip_the_claim_still_record_one_run(shop, stock, monkeypatch):
    """Without the row claim both schedulers insert the run; the unique constraint lets one in."""
    stock("A", "EAST", 10)
    subscription = make_subscription(shop, at=utc(2026, 1, 20))
    both_read = threading.Barrier(2)

    def stale_claim(pk, now):
        # Both schedulers read the subscription before either records the run.
        row = Subscription.objects.get(pk=pk)
        both_read.wait(timeout=30)
        return row

    monkeypatch.setattr(scheduler, "_claim", stale_claim)
    with frozen(DUE):
        recorded = race(
            2,
            lambda _index: scheduler.subscription_run_record(
                subscription_id=subscription.pk, now=DUE
            ),
        )
        assert sorted(run is not None for run in recorded) == [False, True]
        processed = race(2, lambda _index: scheduler.occurrences_process_due(now=DUE))
    assert sorted(processed) == [0, 1]
    assert SubscriptionOccurrence.objects.count() == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 2
