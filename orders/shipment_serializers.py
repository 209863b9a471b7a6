"""Shipment input (our snake_case shape and the channels' camelCase shape) and output."""

from datetime import UTC, date, datetime, time

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms_project.serializers import StrictSerializer, refuse_repeats
from orders.models import Shipment, ShipmentEvent

DATE_ONLY_HELP = (
    "A date alone (YYYY-MM-DD) stands for noon that day in the OMS's time zone, or for now "
    "when that noon is still ahead: a date-only time is never in the future."
)

# What channels send as `shipmentStatus` besides our own status names.
STATUS_ALIASES = {
    "shipped": Shipment.Status.IN_TRANSIT,
    "pending": Shipment.Status.AWAITING,
    "awaiting_pickup": Shipment.Status.AWAITING,
    "label_created": Shipment.Status.AWAITING,
    "failed": Shipment.Status.EXCEPTION,
    "returned_to_sender": Shipment.Status.RETURNED,
}


class ShipmentStatusField(serializers.CharField):
    """A shipment status, case-insensitive, with the aliases channels commonly use."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip().lower().replace("-", "_").replace(" ", "_")
        value = STATUS_ALIASES.get(value, value)
        if value not in Shipment.Status.values:
            raise serializers.ValidationError(
                f"'{data}' is not a shipment status. Use one of: "
                f"{', '.join(Shipment.Status.values)}."
            )
        return value


@extend_schema_field(
    {
        "type": "string",
        "description": "ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ssZ).",
        "example": "2026-12-03",
    }
)
class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date (`2026-03-01`) or date-time; `as_date` keeps only the date.

    As a time, a date alone is noon that day (`date_only_moment`).
    """

    default_error_messages = {
        "invalid": "Use an ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ssZ).",
        "out_of_range": "The time is out of range (years 1 to 9999 in UTC).",
    }

    def __init__(self, *, as_date: bool = False, **kwargs):
        self.as_date = as_date
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        try:
            moment = parse_datetime(text) if "T" in text or " " in text else None
            day = None if moment else parse_date(text)
        except ValueError:
            self.fail("invalid")
        if moment is None and day is None:
            self.fail("invalid")
        if self.as_date:
            return moment.date() if moment else day
        if moment is None:
            return date_only_moment(day)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        try:
            moment.astimezone(UTC)  # stored in UTC: 0001-01-01T00:00+05:00 cannot be
        except OverflowError:
            self.fail("out_of_range")
        return moment

    def to_representation(self, value):
        return value.isoformat() if isinstance(value, date | datetime) else value


def date_only_moment(day: date) -> datetime:
    """The time a date without a time of day stands for: noon that day in the default time
    zone, but never later than now (a 3PL's "delivered 2026-03-02" sent that morning is not a
    scan from the future); a day still to come keeps its noon (and is refused as future)."""
    noon = timezone.make_aware(datetime.combine(day, time(12, 0)), timezone.get_default_timezone())
    now = timezone.now()
    if day <= timezone.localdate(now) and noon > now:
        return now
    return noon


class ShipmentLineInputSerializer(StrictSerializer):
    line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)


class ShipmentInputSerializer(StrictSerializer):
    """`POST /api/v1/orders/{number}/shipments/`."""

    reference = serializers.CharField(max_length=100)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    service_level = serializers.CharField(max_length=40, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    warehouse = serializers.CharField(max_length=40, required=False, allow_blank=True)
    # Not given: awaiting for a new shipment, unchanged for one sent again.
    status = ShipmentStatusField(required=False, allow_null=True)
    estimated_delivery_date = DateOrDateTimeField(as_date=True, required=False, allow_null=True)
    shipped_at = DateOrDateTimeField(
        required=False, allow_null=True, help_text=f"When it left. {DATE_ONLY_HELP}"
    )
    lines = ShipmentLineInputSerializer(many=True, allow_empty=False, max_length=500)

    def validate_lines(self, lines):
        refuse_repeats(lines, key="line_id")
        return lines


class LineItemSerializer(StrictSerializer):
    lineItemId = serializers.IntegerField(min_value=1)  # noqa: N815 - the channels' own shape
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)


class ChannelShipmentSerializer(StrictSerializer):
    """One entry of `shipments` in the channels' camelCase shape (DESIGN §4), unchanged."""

    shipmentRef = serializers.CharField(max_length=100)  # noqa: N815
    shipmentCarrier = serializers.CharField(  # noqa: N815
        max_length=100, required=False, allow_blank=True, allow_null=True
    )
    shipmentCarrierUrl = serializers.URLField(  # noqa: N815
        max_length=500, required=False, allow_blank=True, allow_null=True
    )
    trackingNumber = serializers.CharField(  # noqa: N815
        max_length=100, required=False, allow_blank=True, allow_null=True
    )
    lineItems = LineItemSerializer(many=True, allow_empty=False, max_length=500)  # noqa: N815
    shipmentStatus = ShipmentStatusField(required=False, allow_null=True)  # noqa: N815
    estimatedDeliveryDate = DateOrDateTimeField(  # noqa: N815
        as_date=True, required=False, allow_null=True
    )
    shippedDate = DateOrDateTimeField(  # noqa: N815
        required=False, allow_null=True, help_text=f"When it left. {DATE_ONLY_HELP}"
    )

    def validate_lineItems(self, items):  # noqa: N802
        refuse_repeats(items, key="lineItemId")
        return items

    @staticmethod
    def to_shipment(data: dict) -> dict:
        """A validated entry in the snake_case shape the service takes."""
        return {
            "reference": data["shipmentRef"],
            "carrier": data.get("shipmentCarrier") or "",
            "tracking_url": data.get("shipmentCarrierUrl") or "",
            "tracking_number": data.get("trackingNumber") or "",
            "status": data.get("shipmentStatus"),
            "estimated_delivery_date": data.get("estimatedDeliveryDate"),
            "shipped_at": data.get("shippedDate"),
            "lines": [
                {"line_id": item["lineItemId"], "quantity": item["quantity"]}
                for item in data["lineItems"]
            ],
        }


class ChannelShipmentsSerializer(StrictSerializer):
    orderId = serializers.CharField(max_length=100)  # noqa: N815
    shipments = ChannelShipmentSerializer(many=True, allow_empty=False, max_length=500)

    def validate_shipments(self, shipments):
        refuse_repeats(shipments, key="shipmentRef", noun="Shipment")  # one parcel, one entry
        return shipments


# Our field names mapped back to the camelCase ones, for error messages in the channels' shape.
CAMEL_FIELDS = {
    "reference": "shipmentRef",
    "carrier": "shipmentCarrier",
    "tracking_url": "shipmentCarrierUrl",
    "tracking_number": "trackingNumber",
    "lines": "lineItems",
    "status": "shipmentStatus",
    "estimated_delivery_date": "estimatedDeliveryDate",
    "shipped_at": "shippedDate",
}


class TrackingEventInputSerializer(StrictSerializer):
    """`POST /api/v1/shipments/{id}/events/` from a carrier or 3PL."""

    status = ShipmentStatusField()
    time = DateOrDateTimeField(
        required=False,
        allow_null=True,
        help_text=f"When it happened (now when left out). {DATE_ONLY_HELP}",
    )
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True)


class TrackingUpdateInputSerializer(StrictSerializer):
    """`POST /api/v1/shipments/{id}/tracking/`: a tracking number added after shipping."""

    tracking_number = serializers.CharField(max_length=100)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class ShipmentEventSerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="occurred_at")

    class Meta:
        model = ShipmentEvent
        fields = ["status", "time", "location", "message", "actor", "created_at"]


class ShipmentSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    carrier = serializers.CharField(source="carrier_name")
    service_level = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    warehouse = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "id", "order", "reference", "carrier", "service_level", "tracking_number",
            "tracking_url", "warehouse", "status", "estimated_delivery_date", "shipped_at",
            "delivered_at", "lines", "created_at", "updated_at",
        ]

    def get_lines(self, shipment) -> list[dict]:
        return [
            {"line_id": line.order_line_id, "sku": line.order_line.sku, "quantity": line.quantity}
            for line in shipment.lines.all()
        ]


class ShipmentDetailSerializer(ShipmentSerializer):
    events = ShipmentEventSerializer(many=True, read_only=True)

    class Meta(ShipmentSerializer.Meta):
        fields = [*ShipmentSerializer.Meta.fields, "events"]
