"""Expected subscription demand per SKU for replenishment."""

from datetime import date
from decimal import Decimal

import pytest

from orders.subscription_models import SubscriptionOccurrence
from orders.subscriptions.forecast import (
    subscription_demand_by_warehouse,
    subscription_demand_forecast,
    subscription_demand_rows,
)
from orders.subscriptions.services import subscription_cancel, subscription_pause
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 20, 12)


@pytest.fixture
def subscriptions(shop):
    # Every Monday 09:00 New York from 26 Jan: 26 Jan, 2, 9 and 16 Feb fall within 30 days.
    weekly = make_subscription(
        shop, at=NOW, interval_unit="week", start_date=date(2026, 1, 26),
        lines=[{"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")}],
    )
    # On the 31st: only 31 Jan falls within 30 days.
    monthly = make_subscription(
        shop, at=NOW, customer={"email": "kim@example.com"},
        lines=[
            {"sku": "A", "quantity": 1, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 3, "unit_price": Decimal("4.00")},
        ],
    )
    # Two orders only, weekly from 21 Jan.
    limited = make_subscription(
        shop, at=NOW, interval_unit="week", start_date=date(2026, 1, 21), max_orders=2,
        lines=[{"sku": "C", "quantity": 5, "unit_price": Decimal("1.00")}],
    )
    paused = make_subscription(shop, at=NOW, interval_unit="day", start_date=date(2026, 1, 21))
    with frozen(NOW):
        subscription_pause(subscription=paused, actor="test")
    return {"weekly": weekly, "monthly": monthly, "limited": limited, "paused": paused}


def test_forecast_counts_each_run_in_the_next_30_days(shop, subscriptions):
    products = shop["products"]
    assert subscription_demand_forecast(30, now=NOW) == {
        products["A"].pk: 4 * 2 + 1,
        products["B"].pk: 3,
        products["C"].pk: 2 * 5,
    }
    assert subscription_demand_forecast(7, now=NOW) == {
        products["A"].pk: 2,
        products["C"].pk: 5,
    }


def test_forecast_defaults_to_now_and_30_days(shop, subscriptions):
    with frozen(NOW):
        assert subscription_demand_forecast()[shop["products"]["A"].pk] == 9


def test_runs_waiting_for_a_payment_retry_count_and_cancelled_ones_do_not(shop, subscriptions):
    weekly = subscriptions["weekly"]
    SubscriptionOccurrence.objects.create(
        subscription=weekly,
        occurrence_date=date(2026, 1, 19),
        scheduled_for=utc(2026, 1, 19, 14),
        status=SubscriptionOccurrence.Status.PAYMENT_RETRY,
        attempt_at=utc(2026, 1, 21, 14),
    )
    products = shop["products"]
    assert subscription_demand_forecast(30, now=NOW)[products["A"].pk] == 9 + 2
    with frozen(NOW):
        subscription_cancel(subscription=weekly, actor="test")
    assert subscription_demand_forecast(30, now=NOW)[products["A"].pk] == 1


def test_forecast_for_some_products_and_per_warehouse(shop, subscriptions):
    products = shop["products"]
    assert subscription_demand_forecast(30, now=NOW, product_ids=[products["B"].pk]) == {
        products["B"].pk: 3
    }
    assert subscription_demand_by_warehouse(now=NOW) == {
        (products["A"].pk, shop["east"].pk): 9,
        (products["B"].pk, shop["east"].pk): 3,
        (products["C"].pk, shop["east"].pk): 10,
    }
    assert subscription_demand_by_warehouse([products["C"].pk], now=NOW) == {
        (products["C"].pk, shop["east"].pk): 10
    }


def test_forecast_rows_name_the_skus_largest_first(shop, subscriptions):
    assert [
        (row["sku"], row["name"], row["quantity"]) for row in subscription_demand_rows(now=NOW)
    ] == [("C", "Product C", 10), ("A", "Product A", 9), ("B", "Product B", 3)]


def test_nothing_is_forecast_without_active_subscriptions(db):
    assert subscription_demand_forecast(30, now=NOW) == {}
    assert subscription_demand_by_warehouse(now=NOW) == {}


def test_replenishment_counts_subscription_runs_as_expected_demand(shop, subscriptions):
    from orders.replenishment import expected_demand

    products = shop["products"]
    with frozen(NOW):
        demand = expected_demand([products["C"].pk])
    assert demand == {(products["C"].pk, shop["east"].pk): 10}
