"""Serializers for what channels send: orders, payments, cancellations, checkouts."""

from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from oms_project.currencies import MAX_AMOUNT, ZERO_DECIMAL_CURRENCIES, currency_amount_errors
from oms_project.errors import item_errors
from oms_project.serializers import (
    CountryCodeField,
    CurrencyCodeField,
    StrictSerializer,
    refuse_repeats,
)
from orders.models import FulfillmentMethod, Payment
from orders.states import HoldReason


class MoneyField(serializers.DecimalField):
    """A non-negative amount with at most two decimals."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(**kwargs)


class AddressInputSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=100, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = CountryCodeField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    latitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        required=False,
        min_value=Decimal("-90"),
        max_value=Decimal("90"),
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        required=False,
        min_value=Decimal("-180"),
        max_value=Decimal("180"),
    )


class CustomerInputSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    channel_customer_id = serializers.CharField(max_length=100, required=False, allow_blank=True)


class LineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)
    unit_price = MoneyField()
    discount = MoneyField(required=False, default=Decimal("0.00"))


PAYMENT_INPUT_STATUSES = [
    (Payment.Status.AUTHORIZED.value, Payment.Status.AUTHORIZED.label),
    (Payment.Status.CAPTURED.value, Payment.Status.CAPTURED.label),
]


class PaymentInputSerializer(StrictSerializer):
    method = serializers.CharField(max_length=50)
    amount = MoneyField(min_value=Decimal("0.01"))
    status = serializers.ChoiceField(choices=PAYMENT_INPUT_STATUSES)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class OrderCreateSerializer(StrictSerializer):
    channel = serializers.CharField(
        max_length=40,
        required=False,
        help_text="Channel code; only for staff and integration keys (a channel key implies it).",
    )
    channel_order_id = serializers.CharField(max_length=100)
    customer = CustomerInputSerializer()
    shipping_address = AddressInputSerializer(required=False, allow_null=True)
    billing_address = AddressInputSerializer(required=False, allow_null=True)
    fulfillment_method = serializers.ChoiceField(
        choices=FulfillmentMethod.choices, default=FulfillmentMethod.SHIP
    )
    pickup_location = serializers.CharField(max_length=40, required=False, allow_blank=True)
    shipping_method = serializers.CharField(max_length=40, required=False, allow_blank=True)
    currency = CurrencyCodeField()
    lines = LineInputSerializer(
        many=True, allow_empty=False, max_length=settings.OMS_MAX_ORDER_LINES
    )
    shipping_total = MoneyField(required=False, default=Decimal("0.00"))
    tax_total = MoneyField(required=False, default=Decimal("0.00"))
    discount_total = MoneyField(required=False, default=Decimal("0.00"))
    payment = PaymentInputSerializer(required=False, allow_null=True)
    attributes = serializers.DictField(required=False, default=dict)
    placed_at = serializers.DateTimeField(required=False)
    notify_customer = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false: never e-mail the customer about this order (historic imports, or "
        "orders whose customer the channel informs itself).",
    )

    # Computed by the server: refused when sent.
    READ_ONLY = (
        "number", "status", "subtotal", "total", "paid_total", "cancelled_total", "refund_due"
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            sent = [name for name in self.READ_ONLY if name in data]
            if sent:
                raise serializers.ValidationError(
                    {name: ["This field is read-only; the server computes it."] for name in sent}
                )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("currency") in ZERO_DECIMAL_CURRENCIES:
            errors = order_amount_errors(attrs)
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def validate_attributes(self, value):
        if len(value) > 50:
            raise serializers.ValidationError("At most 50 attributes.")
        for key, item in value.items():
            if len(str(key)) > 100 or len(str(item)) > 2000:
                raise serializers.ValidationError(
                    f"Attribute '{str(key)[:40]}' is too long (keys 100, values 2000 chars)."
                )
        return value


def order_amount_errors(attrs: dict) -> dict:
    """Name, as field errors, the order's amounts its currency has no fraction for (1000.50
    JPY): its charges, each line's price and discount (by position), and its payment."""
    currency = attrs["currency"]
    errors = currency_amount_errors(
        currency,
        {name: attrs.get(name) for name in ("shipping_total", "tax_total", "discount_total")},
    )
    lines = item_errors(
        [
            currency_amount_errors(
                currency, {"unit_price": line["unit_price"], "discount": line.get("discount")}
            )
            for line in attrs["lines"]
        ]
    )
    if lines:
        errors["lines"] = lines
    payment = attrs.get("payment")
    payment_errors = payment and currency_amount_errors(currency, {"amount": payment["amount"]})
    if payment_errors:
        errors["payment"] = payment_errors
    return errors


class PaymentCreateSerializer(PaymentInputSerializer):
    """A payment of an existing order: give the order's currency as `context["currency"]` to
    refuse an amount it has no fraction for (1000.50 JPY)."""

    def validate(self, attrs):
        currency = self.context.get("currency", "")
        errors = currency_amount_errors(currency, {"amount": attrs["amount"]})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CancelLineSerializer(StrictSerializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class ShippingAddressChangeSerializer(StrictSerializer):
    shipping_address = AddressInputSerializer()
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)
    lines = CancelLineSerializer(many=True, required=False, allow_empty=False, max_length=500)

    def validate_lines(self, value):
        refuse_repeats(value, key="line_id")
        return value


class BulkCancelSerializer(StrictSerializer):
    numbers = serializers.ListField(
        child=serializers.CharField(max_length=32),
        allow_empty=False,
        max_length=settings.OMS_MAX_BULK_ITEMS,
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class HoldSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=HoldReason.choices)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ReleaseHoldSerializer(StrictSerializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class BulkCreateSerializer(StrictSerializer):
    orders = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=settings.OMS_MAX_BULK_ITEMS
    )


class CheckoutLineSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)


class CheckoutCreateSerializer(StrictSerializer):
    lines = CheckoutLineSerializer(
        many=True, allow_empty=False, max_length=settings.OMS_MAX_ORDER_LINES
    )
    destination = AddressInputSerializer(required=False, allow_null=True)
    fulfillment_method = serializers.ChoiceField(
        choices=FulfillmentMethod.choices, default=FulfillmentMethod.SHIP
    )
    pickup_location = serializers.CharField(max_length=40, required=False, allow_blank=True)
