"""Webhook subscriptions and their deliveries over the API (scope `webhooks:read/write`).

- `GET/POST /api/v1/webhooks/subscriptions/`, `GET/PATCH/DELETE .../{id}/`
  (the secret is shown once, in the answer to the POST that created it);
- `GET /api/v1/webhooks/deliveries/?subscription=&status=&event_id=` with the attempt log,
  `POST /api/v1/webhooks/deliveries/{id}/redeliver/` (no body fields; any sent is refused).

A delivery's `attempts` counts the attempts since it was last redelivered (or created), which
is what the retry budget and backoff go by, as in the admin; `attempts_total` counts every
attempt ever made, across redeliveries (the length of its attempt log).
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from oms_project.api import CreatedLocationMixin
from oms_project.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms_project.serializers import StrictSerializer
from oms_project.webhooks import (
    MAX_ATTEMPTS,
    TOPIC_PATTERNS,
    webhook_redeliver,
    webhook_subscription_create,
    webhook_subscription_update,
)


class SubscriptionInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=60),
        allow_empty=False,
        max_length=100,
        help_text="Topics to receive (docs/events.md): a topic, a family such as `order.*`, or "
        f"`*` for all. Any other is refused. Valid: {', '.join(sorted(TOPIC_PATTERNS))}.",
    )
    secret = serializers.CharField(
        max_length=128, required=False, allow_blank=True, write_only=True
    )
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "is_active", "created_at", "updated_at"]


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "response_code",
            "response_excerpt",
            "error",
            "outcome",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.event_id")
    topic = serializers.CharField(source="event.topic")
    attempts = serializers.IntegerField(
        read_only=True,
        help_text="Attempts since the delivery was last redelivered (or created): the retry "
        f"budget of {MAX_ATTEMPTS} and the backoff go by this count.",
    )
    attempts_total = serializers.SerializerMethodField(
        help_text="Every attempt ever made, across redeliveries (the attempt log's length)."
    )
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "topic",
            "status",
            "attempts",
            "attempts_total",
            "next_attempt_at",
            "last_response_code",
            "last_error",
            "created_at",
            "completed_at",
            "attempt_log",
        ]

    def get_attempts_total(self, delivery) -> int:
        # The attempt log is prefetched: counting it costs no query.
        return len(delivery.attempt_log.all())


class RedeliverSerializer(StrictSerializer):
    """The body of `redeliver/`: it takes no fields, and refuses any that is sent."""


class SubscriptionViewSet(
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    scope = "webhooks"
    created_locations = {"create": ("webhook-subscription-detail", "pk", "id")}
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.all()
    pagination_class = None

    def get_queryset(self):
        return WebhookSubscription.objects.order_by("pk")

    @extend_schema(
        request=SubscriptionInputSerializer, responses={201: WebhookSubscriptionCreatedSerializer}
    )
    def create(self, request):
        payload = SubscriptionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(**payload.validated_data)
        return Response(
            WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=SubscriptionInputSerializer, responses={200: WebhookSubscriptionSerializer}
    )
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        payload = SubscriptionInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        if not changes.get("secret", True):
            changes.pop("secret")
        subscription = webhook_subscription_update(subscription=subscription, **changes)
        return Response(WebhookSubscriptionSerializer(subscription).data)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_id = django_filters.UUIDFilter(field_name="event__event_id")

    class Meta:
        model = WebhookDelivery
        fields = ["subscription", "status", "event_id"]


class DeliveryViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    scope = "webhooks"
    created_locations = {"redeliver": ("webhook-delivery-detail", "pk", "id")}
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return WebhookDelivery.objects.select_related("event").prefetch_related("attempt_log")

    @extend_schema(request=RedeliverSerializer, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = self.get_object()
        RedeliverSerializer(data=request.data or {}).is_valid(raise_exception=True)
        delivery = webhook_redeliver(delivery=delivery)
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("webhooks/subscriptions", SubscriptionViewSet, basename="webhook-subscription")
    router.register("webhooks/deliveries", DeliveryViewSet, basename="webhook-delivery")
