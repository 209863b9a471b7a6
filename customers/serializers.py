"""Customer profiles as the API reads and writes them."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from customers.models import Address, Customer, CustomerChannel, CustomerErasure
from oms_project.api import request_channel
from oms_project.serializers import CountryCodeField, StrictModelSerializer, StrictSerializer
from warehouses.models import ServiceLevel

# Merchant-wide figures that count every channel's orders: channel keys never see them.
MERCHANT_TOTALS = ("orders_count", "lifetime_value", "first_order_at", "last_order_at")


class AddressSerializer(serializers.ModelSerializer):
    country = CountryCodeField()

    class Meta:
        model = Address
        fields = [
            "id", "first_name", "last_name", "company", "line1", "line2", "city", "region",
            "postal_code", "country", "phone", "is_default_shipping", "is_default_billing",
        ]
        read_only_fields = fields


class CustomerSerializer(StrictModelSerializer):
    external_id = serializers.CharField(
        required=False, allow_blank=True, max_length=100, write_only=True,
        help_text="The channel's own customer id (channel keys only).",
    )
    addresses = AddressSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "email", "first_name", "last_name", "phone", "accepts_marketing",
            "preferred_shipping_method", "preferred_payment_method", "note", "external_id",
            "orders_count", "lifetime_value", "first_order_at", "last_order_at", "addresses",
            "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "orders_count", "lifetime_value", "first_order_at", "last_order_at",
            "created_at", "updated_at",
        ]
        # Uniqueness is case-insensitive; `validate_email` checks it.
        extra_kwargs = {
            "email": {"validators": []},
            "note": {"max_length": 5000},
            "orders_count": {
                "help_text": "Orders placed, not counting orders cancelled in full."
            },
            "lifetime_value": {
                "help_text": "What the customer's orders came to, less cancelled units and "
                "refunds."
            },
        }

    def validate_email(self, value: str) -> str:
        value = value.strip().lower()
        clash = Customer.objects.filter(email__iexact=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("A customer with this e-mail already exists.")
        return value

    def validate_preferred_shipping_method(self, value: str) -> str:
        """An active service level's code, as orders and subscriptions take, or blank. A
        customer may keep a method retired since they chose it, not choose it anew."""
        unchanged = self.instance is not None and (
            value == self.instance.preferred_shipping_method
        )
        if not value or unchanged:
            return value
        if not ServiceLevel.objects.offered().filter(code=value).exists():
            raise serializers.ValidationError(f"Unknown shipping method '{value}'.")
        return value

    def validate_external_id(self, value: str) -> str:
        channel = request_channel(self.context["request"])
        if channel is None:
            raise serializers.ValidationError("Only a channel key can set a channel customer id.")
        value = value.strip()
        if value:
            clash = CustomerChannel.objects.filter(channel_code=channel.code, external_id=value)
            if self.instance is not None:
                clash = clash.exclude(customer=self.instance)
            if clash.exists():
                raise serializers.ValidationError("This channel already uses this customer id.")
        return value


class CustomerSerializerScheme(OpenApiSerializerExtension):
    """Document the merchant totals as optional: answers to channel keys leave them out."""

    target_class = CustomerSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if "required" in schema:
            schema["required"] = [
                name for name in schema["required"] if name not in MERCHANT_TOTALS
            ]
        for name in MERCHANT_TOTALS:
            if name in schema.get("properties", {}):
                field = schema["properties"][name]
                field["description"] = (
                    f"{field.get('description', '')} Left out in answers to channel keys."
                ).strip()
        return schema


class CustomerEraseSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=1000,
        help_text="Why the customer's personal data is erased (e.g. the request's ticket "
        "number), without personal data: it is kept in the audit record.",
    )


class CustomerErasureSerializer(serializers.ModelSerializer):
    """The audit record of an erasure: who, when, why and how many records were anonymised."""

    customer = serializers.IntegerField(source="customer_number", read_only=True)

    class Meta:
        model = CustomerErasure
        fields = ["customer", "erased_at", "actor", "reason", "counts"]
        read_only_fields = fields
