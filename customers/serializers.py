from rest_framework import serializers

from customers.models import Address, Customer
from oms_project.serializers import CountryCodeField, StrictModelSerializer


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
        extra_kwargs = {"email": {"validators": []}}
