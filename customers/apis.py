"""Customer profiles over the API; a channel key sees and edits only its own customers.

There is one profile per merchant (identified by e-mail). A channel key creating a customer
whose e-mail is already known gets that profile linked to its channel (201, or 200 if the
channel knew it already); it sees the shared profile, but not the merchant-wide order totals
(`orders_count`, `lifetime_value`, `first_order_at`, `last_order_at`), which count other
channels' orders too: its own figures are its orders (`GET /customers/{id}/orders/`). Staff
sessions and integration keys see the totals.

Erasing a customer's personal data (`POST /customers/{id}/erase/`) is back-office work for
the whole merchant: it needs `customers:write` granted on an integration key (or a staff
session); a channel key is refused even when granted it, as the profile is shared.
"""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import selectors, services
from customers.models import Customer, CustomerChannel
from customers.serializers import (
    MERCHANT_TOTALS,
    CustomerEraseSerializer,
    CustomerErasureSerializer,
    CustomerSerializer,
)
from oms_project.api import (
    CreatedLocationMixin,
    problem_responses,
    request_actor,
    request_channel,
)
from oms_project.erasure import customer_erase
from oms_project.filters import MomentFilter
from oms_project.idempotency import idempotency_key_parameter, idempotent


class CustomerFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    name = django_filters.CharFilter(method="filter_name")
    external_id = django_filters.CharFilter(method="filter_external_id")
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

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


class ChannelCustomerSerializer(CustomerSerializer):
    """A customer as a channel key sees it: the shared profile without merchant-wide totals.

    Creating with a known e-mail links that profile (`customers.services.customer_link`), so
    only the channel's own customer ids can clash.
    """

    def validate_email(self, value: str) -> str:
        if self.instance is None:
            return services.normalize_email(value)
        return super().validate_email(value)

    def validate_external_id(self, value: str) -> str:
        if self.instance is None:
            return value.strip()  # checked in `validate`, against the profile being linked
        return super().validate_external_id(value)

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        external_id = attrs.get("external_id")
        if self.instance is None and external_id:
            channel = request_channel(self.context["request"])
            clash = CustomerChannel.objects.filter(
                channel_code=channel.code, external_id=external_id
            ).exclude(customer__email__iexact=attrs["email"])
            if clash.exists():
                raise serializers.ValidationError(
                    {"external_id": ["This channel already uses this customer id."]}
                )
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for field in MERCHANT_TOTALS:
            data.pop(field, None)
        return data


class CustomerViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    """Customer profiles. Channel keys see the shared profile of the customers their channel
    knows, without the merchant-wide order totals (staff and integration keys see them)."""

    scope = "customers"
    back_office = frozenset({"erase"})
    created_locations = {"create": ("customer-detail", "pk", "id")}
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter

    def get_queryset(self):
        channel = request_channel(self.request)
        return selectors.customers_visible(channel_code=channel.code if channel else None)

    def get_serializer_class(self):
        if request_channel(self.request) is not None:
            return ChannelCustomerSerializer
        return CustomerSerializer

    @extend_schema(
        responses={
            201: CustomerSerializer,
            200: OpenApiResponse(
                CustomerSerializer,
                description="A channel key sent an e-mail its channel already knows: that "
                "customer, unchanged but for blank fields filled in.",
            ),
        }
    )
    def create(self, request, *args, **kwargs):
        """Create a customer; a channel key giving a known e-mail links that profile."""
        channel = request_channel(request)
        if channel is None:
            return super().create(request, *args, **kwargs)
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        external_id = data.pop("external_id", None) or None
        customer, is_new = services.customer_link(
            channel_code=channel.code, external_id=external_id, **data
        )
        customer = self.get_queryset().get(pk=customer.pk)
        return Response(
            self.get_serializer(customer).data,
            status=status.HTTP_201_CREATED if is_new else status.HTTP_200_OK,
        )

    def perform_create(self, serializer):
        """Staff and integration keys: a new profile linked to no channel."""
        data = dict(serializer.validated_data)
        data.pop("external_id", None)
        serializer.instance = services.customer_create(**data)

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

    @extend_schema(
        request=CustomerEraseSerializer,
        responses={
            200: OpenApiResponse(
                CustomerErasureSerializer,
                description="The erasure's audit record; the same record when the customer "
                "was erased before (nothing changes and no second event is emitted).",
            ),
            **problem_responses(
                {
                    400: "`validation_error`: no reason given.",
                    403: "`permission_denied`: a channel key, or a key without "
                    "`customers:write` granted on it.",
                    409: "`customer_has_open_orders`: orders still to be shipped or collected "
                    "need the address; erase once they are shipped or cancelled.",
                }
            ),
        },
        parameters=[idempotency_key_parameter(required=False)],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def erase(self, request, pk=None):
        """Erase the customer's personal data everywhere in the OMS (GDPR art. 17).

        Orders, payments, refunds and stock keep their money, quantities and SKUs; names,
        e-mail, phones, address lines, notes and channel customer ids are anonymised,
        running subscriptions cancelled and unsent e-mails withheld. Emits
        `customer.erased`. Back office only.
        """
        if request_channel(request) is not None:
            raise exceptions.PermissionDenied(
                "A channel key cannot erase a customer: the profile is shared by every "
                "channel. Use an integration key with 'customers:write' or the admin."
            )
        customer = self.get_object()
        payload = CustomerEraseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        erasure = customer_erase(
            customer=customer, actor=request_actor(request),
            reason=payload.validated_data["reason"],
        )
        return Response(CustomerErasureSerializer(erasure.record).data)


def register(router) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
