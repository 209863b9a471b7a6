"""Warehouses, carriers and service levels as the API reads and writes them."""

from functools import cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from rest_framework import serializers

from oms_project.serializers import CountryCodeField, CountryCodeListField, StrictModelSerializer
from warehouses.models import Carrier, FreightClass, ServiceLevel, Warehouse


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_check(value: str) -> None:
    """Refuse a location time zone that is not an IANA zone (routing would silently work
    its cut-off and promise dates out in UTC); the API and the admin form both call this."""
    if value not in known_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone.", code="invalid")


SPECIAL_FREIGHT = [choice for choice in FreightClass.values if choice != FreightClass.STANDARD]


class FreightClassListField(serializers.ListField):
    child = serializers.ChoiceField(choices=SPECIAL_FREIGHT)


class WarehouseSerializer(StrictModelSerializer):
    country = CountryCodeField()
    ships_to_countries = CountryCodeListField(required=False, max_length=300)
    accepted_freight_classes = FreightClassListField(required=False)
    contact_emails = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=20
    )

    class Meta:
        model = Warehouse
        fields = [
            "id", "code", "name", "kind", "line1", "line2", "city", "region", "postal_code",
            "country", "latitude", "longitude", "priority", "is_active", "can_ship",
            "pickup_enabled", "daily_order_capacity", "timezone", "order_cutoff_time",
            "handling_days", "accepted_freight_classes", "ships_to_countries", "contact_emails",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_timezone(self, value: str) -> str:
        timezone_check(value)
        return value

    def validate_latitude(self, value):
        if value is not None and not -90 <= value <= 90:
            raise serializers.ValidationError("Latitude must be between -90 and 90.")
        return value

    def validate_longitude(self, value):
        if value is not None and not -180 <= value <= 180:
            raise serializers.ValidationError("Longitude must be between -180 and 180.")
        return value


class ServiceLevelSerializer(serializers.ModelSerializer):
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ServiceLevel
        fields = [
            "code", "name", "carrier", "transit_days_min", "transit_days_max",
            "accepted_freight_classes", "is_active",
        ]


class CarrierSerializer(serializers.ModelSerializer):
    service_levels = ServiceLevelSerializer(many=True, read_only=True)

    class Meta:
        model = Carrier
        fields = ["code", "name", "tracking_url_template", "is_active", "service_levels"]
