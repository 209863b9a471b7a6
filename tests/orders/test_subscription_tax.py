"""Subscription tax follows quantity changes at the same effective rate."""

from decimal import Decimal

import pytest

from orders.subscription_models import SubscriptionOccurrence
from orders.subscriptions.errors import SubscriptionValidationError
from orders.subscriptions.scheduler import subscriptions_tick
from orders.subscriptions.services import subscription_change
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db


def test_raising_quantities_scales_the_tax_of_the_next_run(shop, stock):
    """2 x 10.00 with 1.00 tax (5%); changed to 10 units the run charges 5.00 tax."""
    stock("A", "EAST", 100)
    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12))
    with frozen(utc(2026, 1, 21, 12)):
        subscription_change(subscription=subscription, actor="test", quantities={"A": 10})
    with frozen(utc(2026, 1, 31, 14)):
        subscriptions_tick()
    occurrence = SubscriptionOccurrence.objects.get(subscription=subscription)
    order = occurrence.order
    assert order.subtotal == Decimal("100.00")
    assert order.tax_total == Decimal("5.00")


def two_line_subscription(shop):
    """2 x A at 10.00 and 1 x B at 5.00 (subtotal 25.00) with 1.25 tax (5%)."""
    return make_subscription(
        shop,
        at=utc(2026, 1, 20, 12),
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 1, "unit_price": Decimal("5.00")},
        ],
        tax_total=Decimal("1.25"),
    )


def test_lowering_quantities_lowers_the_tax_at_the_same_rate(shop):
    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12))  # 2 x 10.00, tax 1.00
    subscription_change(subscription=subscription, actor="test", quantities={"A": 1})
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("0.50")
    event = subscription.events.filter(type="changed").latest("pk")
    assert event.data["tax_total"] == {"before": "1.00", "after": "0.50"}


def test_removing_a_line_takes_its_share_of_the_tax_away(shop):
    subscription = two_line_subscription(shop)
    subscription_change(subscription=subscription, actor="test", quantities={"B": 0})
    subscription.refresh_from_db()
    assert list(subscription.lines.values_list("sku", flat=True)) == ["A"]
    assert subscription.tax_total == Decimal("1.00")


def test_rescaled_tax_rounds_half_up_to_the_cent(shop):
    # 0.05 on 20.00; on 10.00 it is 0.025, which rounds half-up to 0.03.
    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12), tax_total=Decimal("0.05"))
    subscription_change(subscription=subscription, actor="test", quantities={"A": 1})
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("0.03")


def test_a_change_that_gives_the_tax_keeps_it(shop):
    subscription = two_line_subscription(shop)
    subscription_change(
        subscription=subscription, actor="test", quantities={"A": 4}, tax_total=Decimal("3.10")
    )
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("3.10")


def test_changing_only_the_address_keeps_the_tax(shop):
    subscription = two_line_subscription(shop)
    subscription_change(subscription=subscription, actor="test", shipping_method="ground")
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("1.25")


@pytest.mark.parametrize("tax_total", [Decimal("-0.01"), Decimal("1.001"), "NaN", "ten"])
def test_an_invalid_tax_changes_nothing(shop, tax_total):
    subscription = two_line_subscription(shop)
    with pytest.raises(SubscriptionValidationError) as raised:
        subscription_change(
            subscription=subscription, actor="test", quantities={"A": 4}, tax_total=tax_total
        )
    assert list(raised.value.errors) == ["tax_total"]
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("1.25")
    assert subscription.lines.get(sku="A").quantity == 2


def test_changing_quantities_down_and_back_gives_the_same_tax(shop):
    """The tax is scaled from the tax as set and its basket, not from the last rounded
    figure: 10 x 1.00 with 0.05 tax, then 1 unit (0.01), then 10 again is 0.05 again."""
    subscription = make_subscription(
        shop, at=utc(2026, 1, 20, 12),
        lines=[{"sku": "A", "quantity": 10, "unit_price": Decimal("1.00")}],
        tax_total=Decimal("0.05"),
    )
    subscription_change(subscription=subscription, actor="test", quantities={"A": 1})
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("0.01")
    subscription_change(subscription=subscription, actor="test", quantities={"A": 10})
    subscription.refresh_from_db()
    assert subscription.tax_total == Decimal("0.05")
