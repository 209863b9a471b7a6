"""API shapes of fulfillment orders, routing decisions and the fulfillment actions' input.

The input shapes are strict: a field they do not know is refused, as on every endpoint.
"""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from oms_project.serializers import StrictSerializer
from orders.models import FulfillmentOrder, FulfillmentOrderLine, RoutingDecision


class FulfillmentOrderLineSerializer(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")

    class Meta:
        model = FulfillmentOrderLine
        fields = ["line_id", "sku", "name", "quantity"]


class FulfillmentOrderSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    warehouse = serializers.CharField(source="warehouse.code")
    service_level = serializers.CharField(
        source="service_level.code", default=None, allow_null=True
    )
    shipment = serializers.CharField(source="shipment.reference", default=None, allow_null=True)
    lines = FulfillmentOrderLineSerializer(many=True)
    is_pickup_code_used = serializers.SerializerMethodField()

    class Meta:
        model = FulfillmentOrder
        fields = [
            "id", "order", "warehouse", "status", "hold_reason", "service_level",
            "promised_ship_date", "promised_delivery_date", "routing_decision", "shipment",
            "is_pickup_code_used", "packed_at", "created_at", "updated_at", "lines",
        ]

    def get_is_pickup_code_used(self, fulfillment_order) -> bool:
        return fulfillment_order.pickup_code_used_at is not None


class ReadyForPickupSerializer(FulfillmentOrderSerializer):
    pickup_code = serializers.CharField(
        allow_null=True,
        help_text="The code the customer collects with, when the OMS does not e-mail them "
        "(the order came in with notify_customer false, or the channel sends no customer "
        "e-mails): pass it on. Null when it was e-mailed.",
    )

    class Meta(FulfillmentOrderSerializer.Meta):
        fields = [*FulfillmentOrderSerializer.Meta.fields, "pickup_code"]


class RoutingDecisionSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")

    class Meta:
        model = RoutingDecision
        fields = [
            "id", "order", "trigger", "rules_version", "strategies", "locations", "is_complete",
            "is_split", "explanation", "actor", "created_at",
        ]


class NoInputSerializer(StrictSerializer):
    """The input of an action that takes none: an empty body (or none at all)."""


class ScanSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64, help_text="SKU or barcode.")
    quantity = serializers.IntegerField(min_value=1, max_value=100000, default=1)


SCAN_MAX_LENGTH = 64


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": SCAN_MAX_LENGTH,
             "description": "A scanned SKU or barcode: one unit."},
            {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "minLength": 1, "maxLength": SCAN_MAX_LENGTH,
                            "description": "SKU or barcode."},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 100000,
                                 "default": 1},
                },
                "required": ["sku"],
                "additionalProperties": False,
            },
        ]
    }
)
class ScannedItemField(serializers.Field):
    """One scanned item, as the pack service counts it: a SKU or barcode string (one unit) or
    {"sku": ..., "quantity": ...}."""

    default_error_messages = {
        # Braces doubled: DRF formats its messages.
        "invalid": 'Give a SKU, a barcode or {{"sku": ..., "quantity": ...}}.',
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            return serializers.CharField(max_length=SCAN_MAX_LENGTH).run_validation(data)
        if isinstance(data, dict):
            scan = ScanSerializer(data=data)
            scan.is_valid(raise_exception=True)
            return dict(scan.validated_data)
        self.fail("invalid")

    def to_representation(self, value):
        return value


class PackSerializer(StrictSerializer):
    items = serializers.ListField(
        child=ScannedItemField(), allow_empty=False,
        help_text="What was scanned: each a SKU or barcode (one unit), or "
        '{"sku": ..., "quantity": ...}; both forms may be mixed.',
    )


class ShipSerializer(StrictSerializer):
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class CollectSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200)


class HandOverSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=255,
        help_text="How the customer was identified, e.g. \"ID card checked against the order "
        "name\".",
    )


class RerouteSerializer(StrictSerializer):
    warehouse = serializers.CharField(
        max_length=40, required=False, allow_blank=True,
        help_text="Location code; leave out to let the channel's rules choose.",
    )
    reason = serializers.CharField(max_length=200)


# One order's promise, although `GET /orders/{number}/fulfillment/` is routed as a list.
@extend_schema_serializer(many=False)
class OrderPromiseSerializer(serializers.Serializer):
    order = serializers.CharField()
    promised_ship_date = serializers.DateField(allow_null=True)
    promised_delivery_date = serializers.DateField(allow_null=True)
    fulfillment_orders = FulfillmentOrderSerializer(many=True)
    routing_decisions = RoutingDecisionSerializer(many=True)
