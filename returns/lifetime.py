"""Customer lifetime totals worked out again from the orders, returns and refunds.

Totals are kept up to date as orders are placed, cancelled and refunded (each step moves them
with `F()`; see `customers.order_intake` and `customers.services.customer_lifetime_totals_reduce`).
This module says what they should be from history alone, to check them and to repair totals
written under older rules (before cancellations and refunds were taken off) or by hand:

- lifetime value: per order, its total less its cancelled units' value, refunds for returns and
  goodwill, and exchange credit moved to a replacement order (which counts on its own):
  `returns.selectors.orders_lifetime_value_left`, the rule refunds reduce the totals by;
- orders: the orders with at least one unit not cancelled (a fully cancelled order stays in the
  history but is no purchase);
- first and last order dates: over every order, cancelled ones too.

It lives with returns because it needs orders, returns and refunds; it reads them in a few
queries per batch of customers.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch

from customers.models import Customer
from orders import pricing
from orders.models import Order, OrderLine
from returns.selectors import orders_lifetime_value_left

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CustomerTotals:
    orders_count: int
    lifetime_value: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None


@dataclass(frozen=True)
class TotalsDifference:
    customer_id: int
    email: str
    stored: CustomerTotals
    expected: CustomerTotals


def customer_totals_expected(*, customer_ids: list[int]) -> dict[int, CustomerTotals]:
    """What each customer's totals should be (every id given gets an entry)."""
    orders = list(
        Order.objects.filter(customer_id__in=customer_ids)
        .only("pk", "customer_id", "total", "subtotal", "discount_total", "tax_total", "placed_at")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.only(
                    "pk", "order_id", "quantity", "quantity_cancelled", "line_total"
                ),
            )
        )
    )
    lines = {order.pk: list(order.lines.all()) for order in orders}
    left = orders_lifetime_value_left(orders=[(order, lines[order.pk]) for order in orders])
    totals = {pk: {"count": 0, "value": ZERO, "first": None, "last": None} for pk in customer_ids}
    for order in orders:
        entry = totals[order.customer_id]
        entry["value"] += left[order.pk]
        entry["count"] += (
            1 if any(line.quantity_cancelled < line.quantity for line in lines[order.pk]) else 0
        )
        placed = order.placed_at
        entry["first"] = placed if entry["first"] is None else min(entry["first"], placed)
        entry["last"] = placed if entry["last"] is None else max(entry["last"], placed)
    return {
        pk: CustomerTotals(
            orders_count=entry["count"],
            lifetime_value=pricing.money(entry["value"]),
            first_order_at=entry["first"],
            last_order_at=entry["last"],
        )
        for pk, entry in totals.items()
    }


def customer_totals_check(
    *, customer_ids: list[int] | None = None, fix: bool = False, batch_size: int = 500
) -> tuple[int, list[TotalsDifference]]:
    """Compare stored totals with `customer_totals_expected`, batch by batch (all customers,
    or those given); with `fix`, write the expected ones, each batch in one transaction with
    its customers locked (so an order placed meanwhile waits, then adds to the repaired
    figure). Returns how many customers were checked and the differences found."""
    checked, differences = 0, []
    queryset = Customer.objects.order_by("pk").values_list("pk", flat=True)
    if customer_ids is not None:
        queryset = queryset.filter(pk__in=customer_ids)
    last = 0
    while True:
        batch = list(queryset.filter(pk__gt=last)[:batch_size])
        if not batch:
            return checked, differences
        last = batch[-1]
        with transaction.atomic():
            customers = Customer.objects.filter(pk__in=batch).order_by("pk")
            if fix:
                customers = customers.select_for_update()
            stored = {customer.pk: customer for customer in customers}
            expected = customer_totals_expected(customer_ids=list(stored))
            found = [
                TotalsDifference(
                    customer_id=pk,
                    email=customer.email,
                    stored=_stored(customer),
                    expected=expected[pk],
                )
                for pk, customer in stored.items()
                if _stored(customer) != expected[pk]
            ]
            if fix and found:
                changed = []
                for difference in found:
                    customer = stored[difference.customer_id]
                    customer.orders_count = difference.expected.orders_count
                    customer.lifetime_value = difference.expected.lifetime_value
                    customer.first_order_at = difference.expected.first_order_at
                    customer.last_order_at = difference.expected.last_order_at
                    changed.append(customer)
                Customer.objects.bulk_update(
                    changed, ["orders_count", "lifetime_value", "first_order_at", "last_order_at"]
                )
        checked += len(stored)
        differences += found


def _stored(customer: Customer) -> CustomerTotals:
    return CustomerTotals(
        orders_count=customer.orders_count,
        lifetime_value=pricing.money(customer.lifetime_value),
        first_order_at=customer.first_order_at,
        last_order_at=customer.last_order_at,
    )
