"""Reads of orders, confined to a channel when the caller is a channel."""

from django.db.models import Prefetch, QuerySet

from orders.models import Order, OrderLine, Payment


def orders_visible(*, channel=None, with_events: bool = False) -> QuerySet[Order]:
    queryset = Order.objects.select_related("channel", "pickup_location", "shipping_method")
    prefetches = [
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    ]
    if with_events:
        prefetches.append("events")
    queryset = queryset.prefetch_related(*prefetches)
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    return queryset
