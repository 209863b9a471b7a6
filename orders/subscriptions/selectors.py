"""Reads of subscriptions: what a caller may see, and the upcoming run dates."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from orders.models import SalesChannel
from orders.subscription_models import (
    Subscription,
    SubscriptionLine,
    SubscriptionOccurrence,
    SubscriptionStatus,
)
from orders.subscriptions.schedule import occurrences_from
from orders.subscriptions.services import (
    subscription_run_instant,
    subscription_schedule,
    subscription_zone,
)

RECENT_RUNS = 20


def subscriptions_visible(*, channel: SalesChannel | None = None) -> QuerySet[Subscription]:
    """Subscriptions a caller may see (a channel sees its own), with lines and related rows."""
    queryset = Subscription.objects.select_related(
        "channel", "customer", "shipping_method"
    ).prefetch_related(Prefetch("lines", queryset=SubscriptionLine.objects.order_by("pk")))
    return queryset.filter(channel=channel) if channel is not None else queryset


def recent_runs(subscription: Subscription) -> list[SubscriptionOccurrence]:
    """The subscription's latest runs, newest first (with their orders)."""
    return list(
        SubscriptionOccurrence.objects.filter(subscription=subscription)
        .select_related("order")
        .order_by("-occurrence_date", "-id")[:RECENT_RUNS]
    )


def upcoming_runs(subscription: Subscription, *, count: int = 3) -> list[datetime]:
    """The next `count` run instants in the customer's zone (empty unless active).

    Honours the end date and the number of orders left; no database query.
    """
    if subscription.status != SubscriptionStatus.ACTIVE or not subscription.next_occurrence_date:
        return []
    if subscription.max_orders is not None:
        count = min(count, subscription.max_orders - subscription.occurrence_count)
    zone = subscription_zone(subscription)
    return [
        subscription_run_instant(subscription, day).astimezone(zone)
        for day in occurrences_from(
            subscription_schedule(subscription),
            subscription.next_occurrence_date,
            limit=max(count, 0),
        )
    ]
