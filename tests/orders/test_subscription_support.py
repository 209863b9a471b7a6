"""Helpers shared by the subscription tests (no tests here): payloads, creation, a frozen clock.

Use them with the `shop` and `stock` fixtures of tests/orders/conftest.py.
"""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import time_machine

from orders.subscription_models import Subscription
from orders.subscriptions.payments import PaymentOutcome
from orders.subscriptions.services import subscription_create

ADDRESS = {
    "first_name": "Sam",
    "last_name": "Lee",
    "line1": "5 Elm St",
    "city": "Reno",
    "postal_code": "89501",
    "country": "US",
}


def subscription_data(**overrides) -> dict:
    """A monthly subscription to 2 x A at 09:00 New York time from 31 January 2026."""
    data = {
        "customer": {"email": "Sam@Example.com", "first_name": "Sam", "last_name": "Lee"},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")}],
        "shipping_address": dict(ADDRESS),
        "shipping_method": "ground",
        "currency": "USD",
        "shipping_total": Decimal("5.00"),
        "tax_total": Decimal("1.00"),
        "payment_method": "card",
        "payment_reference": "tok_sam",
        "interval_unit": "month",
        "interval_count": 1,
        "time_zone": "America/New_York",
        "local_time": time(9, 0),
        "start_date": date(2026, 1, 31),
    }
    data.update(overrides)
    return data


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def frozen(moment: datetime):
    """Freeze the clock at `moment` (a context manager)."""
    return time_machine.travel(moment, tick=False)


def make_subscription(shop, *, at: datetime, **overrides) -> Subscription:
    """Create a subscription on the shop's channel as if at `at`."""
    with frozen(at):
        return subscription_create(
            channel=shop["channel"], data=subscription_data(**overrides), actor="test"
        )


class DecliningGateway:
    """A payment step whose charges are all declined; it counts its calls."""

    charges: list = []
    voids: list = []

    def charge(self, *, subscription, amount, currency, idempotency_key):
        DecliningGateway.charges.append(idempotency_key)
        return PaymentOutcome(is_successful=False, message="Card declined (insufficient funds)")

    def void(self, *, subscription, reference, amount, currency):
        DecliningGateway.voids.append(reference)


class CountingGateway:
    """A payment step that approves every charge with a reference per call and records voids."""

    charges: list = []
    voids: list = []

    def charge(self, *, subscription, amount, currency, idempotency_key):
        CountingGateway.charges.append((idempotency_key, amount))
        return PaymentOutcome(is_successful=True, reference=f"ch_{len(CountingGateway.charges)}")

    def void(self, *, subscription, reference, amount, currency):
        CountingGateway.voids.append((reference, amount))


GATEWAY_PATH = "tests.orders.test_subscription_support."
TOTAL = Decimal("26.00")  # 2 x 10.00 + 5.00 shipping + 1.00 tax
