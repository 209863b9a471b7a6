"""Orders over the API: list with filters and detail by number."""

import django_filters
from rest_framework import mixins, viewsets

from oms_project.api import request_channel
from orders import selectors
from orders.models import FulfillmentMethod, Order
from orders.serializers import OrderDetailSerializer, OrderSerializer
from orders.states import OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    fulfillment_method = django_filters.ChoiceFilter(choices=FulfillmentMethod.choices)
    payment_method = django_filters.CharFilter()
    shipping_method = django_filters.CharFilter(field_name="shipping_method__code")
    channel_order_id = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = ["status", "channel", "email"]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope = "orders"
    filterset_class = OrderFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.orders_visible(
            channel=request_channel(self.request), with_events=self.action == "retrieve"
        )

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer


def register(router) -> None:
    router.register("orders", OrderViewSet, basename="order")
