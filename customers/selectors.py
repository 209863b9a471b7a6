"""Reads of customer profiles, confined to a channel when the caller is a channel."""

from django.db.models import Prefetch, QuerySet

from customers.models import Address, Customer


def customers_visible(*, channel_code: str | None) -> QuerySet[Customer]:
    queryset = Customer.objects.prefetch_related(
        Prefetch("addresses", queryset=Address.objects.order_by("id"))
    )
    if channel_code:
        queryset = queryset.filter(channels__channel_code=channel_code)
    return queryset
