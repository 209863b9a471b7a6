"""Customer profiles over the API; a channel key sees and edits only its own customers."""

import django_filters
from django.db.models import Q
from rest_framework import viewsets

from customers import selectors, services
from customers.models import Customer, CustomerChannel
from customers.serializers import CustomerSerializer
from oms_project.api import request_channel


class CustomerFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    name = django_filters.CharFilter(method="filter_name")
    external_id = django_filters.CharFilter(method="filter_external_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["email"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(
            Q(last_name__istartswith=value) | Q(first_name__istartswith=value)
        )

    def filter_external_id(self, queryset, name, value):
        channel = request_channel(self.request)
        if channel is None:
            return queryset.filter(channels__external_id=value)
        return queryset.filter(
            pk__in=CustomerChannel.objects.filter(
                channel_code=channel.code, external_id=value
            ).values("customer_id")
        )


class CustomerViewSet(viewsets.ModelViewSet):
    scope = "customers"
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter

    def get_queryset(self):
        channel = request_channel(self.request)
        return selectors.customers_visible(channel_code=channel.code if channel else None)

    def perform_create(self, serializer):
        channel = request_channel(self.request)
        data = dict(serializer.validated_data)
        external_id = data.pop("external_id", None) or None
        serializer.instance = services.customer_create(
            channel_code=channel.code if channel else None, external_id=external_id, **data
        )

    def perform_update(self, serializer):
        channel = request_channel(self.request)
        data = dict(serializer.validated_data)
        external_id = data.pop("external_id", None)
        serializer.instance = services.customer_update(
            customer=serializer.instance, channel_code=channel.code if channel else None,
            external_id=external_id, **data,
        )

    def perform_destroy(self, instance):
        channel = request_channel(self.request)
        services.customer_delete(
            customer=instance, channel_code=channel.code if channel else None
        )


def register(router) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
