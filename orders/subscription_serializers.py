"""Serializers for subscriptions: what channels send (create, change) and what they read."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms_project.serializers import CurrencyCodeField, StrictSerializer
from orders.input_serializers import (
    AddressInputSerializer,
    CustomerInputSerializer,
    LineInputSerializer,
    MoneyField,
    OrderCreateSerializer,
    order_amount_errors,
)
from orders.subscription_models import (
    IntervalUnit,
    Subscription,
    SubscriptionLine,
    SubscriptionOccurrence,
)
from orders.subscriptions import selectors
from orders.subscriptions.validation import (
    END_YEARS_AHEAD,
    MAX_INTERVAL_COUNT,
    START_YEARS_AHEAD,
    START_YEARS_BACK,
)

MAX_SUBSCRIPTION_LINES = 100


class SubscriptionLineInputSerializer(LineInputSerializer):
    discount = None


class SubscriptionCreateSerializer(StrictSerializer):
    channel = serializers.CharField(
        max_length=40,
        required=False,
        help_text="Channel code; only for staff and integration keys (a channel key implies it).",
    )
    customer = CustomerInputSerializer()
    lines = SubscriptionLineInputSerializer(
        many=True, allow_empty=False, max_length=MAX_SUBSCRIPTION_LINES
    )
    shipping_address = AddressInputSerializer()
    billing_address = AddressInputSerializer(required=False, allow_null=True)
    shipping_method = serializers.CharField(max_length=40, required=False, allow_blank=True)
    currency = CurrencyCodeField()
    shipping_total = MoneyField(required=False)
    tax_total = MoneyField(required=False)
    payment_method = serializers.CharField(max_length=50)
    payment_reference = serializers.CharField(max_length=100)
    interval_unit = serializers.ChoiceField(choices=IntervalUnit.choices)
    interval_count = serializers.IntegerField(
        min_value=1, max_value=MAX_INTERVAL_COUNT, default=1
    )
    anchor_day = serializers.IntegerField(
        min_value=1,
        max_value=31,
        required=False,
        allow_null=True,
        help_text="Monthly: day of the month (1-31, clamped to short months). Weekly: ISO "
        "weekday (1 = Monday). Default: the start date's.",
    )
    time_zone = serializers.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin.")
    local_time = serializers.TimeField(help_text="When each run is placed, in the time zone.")
    start_date = serializers.DateField(
        help_text=f"At most {START_YEARS_BACK} years back and {START_YEARS_AHEAD} years ahead "
        "of today."
    )
    end_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=f"Not before the start date and at most {END_YEARS_AHEAD} years ahead of "
        "today.",
    )
    max_orders = serializers.IntegerField(
        min_value=1, max_value=100000, required=False, allow_null=True
    )
    attributes = serializers.DictField(required=False, default=dict)

    # The same limits as an order's attributes (50 of them, keys 100 and values 2000 chars).
    validate_attributes = OrderCreateSerializer.validate_attributes

    def validate(self, attrs):
        """Refuse prices and charges the currency has no fraction for (1000.50 JPY): every run
        would place an order that cannot be charged."""
        errors = order_amount_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SubscriptionChangeSerializer(StrictSerializer):
    quantities = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=settings.OMS_MAX_LINE_QUANTITY),
        required=False,
        allow_empty=False,
        help_text="New quantity per SKU on the subscription; 0 removes the line.",
    )
    shipping_address = AddressInputSerializer(required=False)
    shipping_method = serializers.CharField(max_length=40, required=False)
    payment_method = serializers.CharField(
        max_length=50,
        required=False,
        help_text="A new payment method, e.g. card; send its payment_reference with it.",
    )
    payment_reference = serializers.CharField(
        max_length=100,
        required=False,
        help_text="The processor's token for the customer's new stored payment (never card "
        "data). Runs not placed yet, and payment retries, are charged with it.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        "Send quantities, shipping_address, shipping_method or payment details."
                    ]
                }
            )
        return attrs


class SubscriptionActionSerializer(StrictSerializer):
    """The body of an action that takes no fields (pause, resume, skip-next): `{}` or none."""


class SubscriptionCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class SubscriptionLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubscriptionLine
        fields = ["sku", "quantity", "unit_price"]
        read_only_fields = fields


class SubscriptionRunSerializer(serializers.ModelSerializer):
    order = serializers.CharField(
        source="order.number", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = SubscriptionOccurrence
        fields = [
            "occurrence_date", "scheduled_for", "status", "attempts", "attempt_at", "order",
            "failure_code", "failure_detail", "catch_up_from",
        ]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", read_only=True)
    customer_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(
        source="customer.email", read_only=True, help_text="The customer's current e-mail address."
    )
    pause_reason = serializers.ChoiceField(
        choices=Subscription.PauseReason.choices, allow_blank=True, read_only=True,
        help_text="Why the subscription is paused; blank unless it is.",
    )
    shipping_method = serializers.CharField(
        source="shipping_method.code", read_only=True, default=None, allow_null=True
    )
    lines = SubscriptionLineSerializer(many=True, read_only=True)
    upcoming_runs = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id", "channel", "customer_id", "email", "status", "pause_reason", "lines",
            "shipping_address", "billing_address", "shipping_method", "currency",
            "shipping_total", "tax_total", "payment_method", "payment_reference",
            "interval_unit", "interval_count", "anchor_day", "time_zone", "local_time",
            "start_date", "end_date", "max_orders", "occurrence_count",
            "next_occurrence_date", "next_run_at", "upcoming_runs", "attributes", "created_at",
            "updated_at", "cancelled_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField()))
    def get_upcoming_runs(self, subscription) -> list[str]:
        return [moment.isoformat() for moment in selectors.upcoming_runs(subscription)]


class SubscriptionDetailSerializer(SubscriptionSerializer):
    runs = serializers.SerializerMethodField()

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "runs"]
        read_only_fields = fields

    @extend_schema_field(SubscriptionRunSerializer(many=True))
    def get_runs(self, subscription) -> list[dict]:
        return SubscriptionRunSerializer(selectors.recent_runs(subscription), many=True).data
