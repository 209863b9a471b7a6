"""Expected subscription demand: the units active subscriptions will order in the next days.

For replenishment's projected stock. A run counts when it is due within the horizon (from now
to now + `days`) and the subscription will still run it (end date, number of orders left);
runs recorded but not placed yet (pending, or waiting for a payment retry) count too.
Paused and cancelled subscriptions count nothing (their waiting runs are cancelled).
Quantities are the current line quantities.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from inventory.models import Product
from orders.models import SalesChannel
from orders.subscription_models import (
    Subscription,
    SubscriptionLine,
    SubscriptionOccurrence,
    SubscriptionStatus,
)
from orders.subscriptions.schedule import occurrence_after
from orders.subscriptions.services import (
    OPEN_OCCURRENCE_STATUSES,
    subscription_run_instant,
    subscription_schedule,
)

CHUNK = 500


def subscription_demand_forecast(
    days: int = 30, *, product_ids: Iterable[int] | None = None, now: datetime | None = None
) -> dict[int, int]:
    """Units per product id that subscriptions are expected to order in the next `days`."""
    demand: dict[int, int] = defaultdict(int)
    for _, product_id, units in _demand(days, product_ids, now):
        demand[product_id] += units
    return dict(demand)


def subscription_demand_by_warehouse(
    product_ids: Iterable[int] | None = None, *, days: int = 30, now: datetime | None = None
) -> dict[tuple[int, int], int]:
    """Units per (product id, warehouse id) in the next `days`, like `backordered_demand`.

    Each subscription's demand is placed at its channel's first active shipping warehouse
    (lowest priority number, then code); channels without one are left out.
    """
    rows = list(_demand(days, product_ids, now))
    first_warehouse = {}
    through = SalesChannel.warehouses.through.objects.filter(
        saleschannel_id__in={channel_id for channel_id, _, _ in rows},
        warehouse__is_active=True,
        warehouse__can_ship=True,
    ).order_by("warehouse__priority", "warehouse__code")
    for channel_id, warehouse_id in through.values_list("saleschannel_id", "warehouse_id"):
        first_warehouse.setdefault(channel_id, warehouse_id)
    demand: dict[tuple[int, int], int] = defaultdict(int)
    for channel_id, product_id, units in rows:
        if channel_id in first_warehouse:
            demand[(product_id, first_warehouse[channel_id])] += units
    return dict(demand)


def subscription_demand_rows(days: int = 30, *, now: datetime | None = None) -> list[dict]:
    """The forecast with SKU and name per product, largest demand first (for the admin)."""
    demand = subscription_demand_forecast(days, now=now)
    products = Product.objects.filter(pk__in=list(demand)).values_list("pk", "sku", "name")
    rows = [
        {"product_id": pk, "sku": sku, "name": name, "quantity": demand[pk]}
        for pk, sku, name in products
    ]
    return sorted(rows, key=lambda row: (-row["quantity"], row["sku"]))


def _demand(days: int, product_ids, now: datetime | None):
    """Yield (channel id, product id, units) for every counted run."""
    now = now or timezone.now()
    horizon = now + timedelta(days=days)
    product_ids = None if product_ids is None else set(product_ids)
    lines = SubscriptionLine.objects.order_by("pk")
    if product_ids is not None:
        lines = lines.filter(product_id__in=product_ids)
    subscriptions = Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, next_run_at__lt=horizon
    )
    if product_ids is not None:
        subscriptions = subscriptions.filter(lines__product_id__in=product_ids).distinct()
    subscriptions = subscriptions.order_by("pk").prefetch_related(Prefetch("lines", queryset=lines))
    for subscription in subscriptions.iterator(chunk_size=CHUNK):
        runs = runs_within(subscription, horizon)
        for line in subscription.lines.all():
            yield subscription.channel_id, line.product_id, line.quantity * runs
    waiting = (
        SubscriptionOccurrence.objects.filter(
            status__in=OPEN_OCCURRENCE_STATUSES,
            subscription__status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.COMPLETED),
        )
        .select_related("subscription")
        .order_by("pk")
        .prefetch_related(Prefetch("subscription__lines", queryset=lines))
    )
    for occurrence in waiting.iterator(chunk_size=CHUNK):
        for line in occurrence.subscription.lines.all():
            yield occurrence.subscription.channel_id, line.product_id, line.quantity


def runs_within(subscription: Subscription, horizon: datetime) -> int:
    """How many of the subscription's runs from its next one on are due before `horizon`."""
    left = (
        None
        if subscription.max_orders is None
        else subscription.max_orders - subscription.occurrence_count
    )
    schedule = subscription_schedule(subscription)
    day, runs = subscription.next_occurrence_date, 0
    while day is not None and subscription_run_instant(subscription, day) < horizon:
        if left is not None and runs >= left:
            break
        runs += 1
        day = occurrence_after(schedule, day)
    return runs
