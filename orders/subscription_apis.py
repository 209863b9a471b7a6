"""Subscriptions over the API: create (idempotent), read, change, pause, resume, skip, cancel.

A channel key sees and changes only its own channel's subscriptions (others are 404) and
creates them for its own customers; staff and integration keys name the channel.
"""

import django_filters
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from oms_project.api import CreatedLocationMixin, request_actor, request_channel
from oms_project.filters import IdFilter, MomentFilter
from oms_project.idempotency import idempotency_key_parameter, idempotent
from orders.apis import _channel_for_write
from orders.subscription_models import IntervalUnit, Subscription, SubscriptionStatus
from orders.subscription_serializers import (
    SubscriptionActionSerializer,
    SubscriptionCancelSerializer,
    SubscriptionChangeSerializer,
    SubscriptionCreateSerializer,
    SubscriptionDetailSerializer,
    SubscriptionSerializer,
)
from orders.subscriptions import selectors, services


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SubscriptionStatus.choices)
    interval_unit = django_filters.ChoiceFilter(choices=IntervalUnit.choices)
    email = django_filters.CharFilter(
        field_name="customer__email",
        lookup_expr="iexact",
        help_text="The customer's current e-mail address (any case).",
    )
    customer_id = IdFilter(field_name="customer_id")
    next_run_before = MomentFilter(field_name="next_run_at", lookup_expr="lt")

    class Meta:
        model = Subscription
        fields = ["status", "interval_unit", "email", "customer_id"]


class SubscriptionViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    scope = "orders"
    created_locations = {"create": ("subscription-detail", "pk", "id")}
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        return selectors.subscriptions_visible(channel=request_channel(self.request))

    def get_serializer_class(self):
        if self.action == "create":
            return SubscriptionCreateSerializer
        return SubscriptionDetailSerializer if self.action == "retrieve" else SubscriptionSerializer

    def _render(self, subscription: Subscription, status_code=status.HTTP_200_OK) -> Response:
        subscription = get_object_or_404(selectors.subscriptions_visible(), pk=subscription.pk)
        return Response(SubscriptionDetailSerializer(subscription).data, status=status_code)

    # Each write renders its answer inside its transaction: should rendering fail, nothing is
    # committed, so a retry with the same Idempotency-Key cannot write a second time.

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionDetailSerializer},
        parameters=[idempotency_key_parameter(required=True)],
    )
    @idempotent(required=True)
    def create(self, request):
        data = dict(_parsed(SubscriptionCreateSerializer, request))
        channel = _channel_for_write(request, data.pop("channel", None))
        with transaction.atomic():
            subscription = services.subscription_create(
                channel=channel, data=data, actor=request_actor(request)
            )
            return self._render(subscription, status.HTTP_201_CREATED)

    @extend_schema(
        request=SubscriptionChangeSerializer, responses={200: SubscriptionDetailSerializer}
    )
    @idempotent()
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        changes = _parsed(SubscriptionChangeSerializer, request)
        with transaction.atomic():
            services.subscription_change(
                subscription=subscription, actor=request_actor(request), **changes
            )
            return self._render(subscription)

    @extend_schema(request=None, responses={200: SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def pause(self, request, pk=None):
        subscription = self.get_object()
        _parsed(SubscriptionActionSerializer, request)
        with transaction.atomic():
            services.subscription_pause(subscription=subscription, actor=request_actor(request))
            return self._render(subscription)

    @extend_schema(request=None, responses={200: SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def resume(self, request, pk=None):
        subscription = self.get_object()
        _parsed(SubscriptionActionSerializer, request)
        with transaction.atomic():
            services.subscription_resume(subscription=subscription, actor=request_actor(request))
            return self._render(subscription)

    @extend_schema(request=None, responses={200: SubscriptionDetailSerializer})
    @action(detail=True, methods=["post"], url_path="skip-next")
    @idempotent()
    def skip_next(self, request, pk=None):
        subscription = self.get_object()
        _parsed(SubscriptionActionSerializer, request)
        with transaction.atomic():
            services.subscription_skip_next(
                subscription=subscription, actor=request_actor(request)
            )
            return self._render(subscription)

    @extend_schema(
        request=SubscriptionCancelSerializer, responses={200: SubscriptionDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, pk=None):
        subscription = self.get_object()
        reason = _parsed(SubscriptionCancelSerializer, request).get("reason", "")
        with transaction.atomic():
            services.subscription_cancel(
                subscription=subscription, actor=request_actor(request), reason=reason
            )
            return self._render(subscription)


def _parsed(serializer_class, request) -> dict:
    """The request body validated by `serializer_class` (strict: unknown fields are 400)."""
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


def register(router) -> None:
    router.register("subscriptions", SubscriptionViewSet, basename="subscription")
