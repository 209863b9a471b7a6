from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms_project.serializers import FieldsBuiltOnce
from orders.models import Checkout, Order, OrderEvent, OrderLine, Payment


class AllocationSerializer(serializers.Serializer):
    warehouse = serializers.CharField()
    quantity = serializers.IntegerField()


class OrderLineSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="id", read_only=True)
    allocations = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = [
            "line_id",
            "sku",
            "name",
            "quantity",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
            "quantity_returned",
            "unit_price",
            "discount",
            "line_total",
            "allocations",
            "backorder_expected_date",
        ]
        read_only_fields = fields

    @extend_schema_field(AllocationSerializer(many=True))
    def get_allocations(self, line) -> list[dict]:
        return self.context.get("allocations", {}).get(line.pk, [])


class PaymentSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "method", "amount", "currency", "status", "reference", "created_at"]
        read_only_fields = fields


class OrderEventSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["type", "from_status", "to_status", "message", "actor", "data", "created_at"]
        read_only_fields = fields


class OrderSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", read_only=True)
    customer_id = serializers.IntegerField(read_only=True)
    pickup_location = serializers.CharField(
        source="pickup_location.code", read_only=True, default=None, allow_null=True
    )
    shipping_method = serializers.CharField(
        source="shipping_method.code", read_only=True, default=None, allow_null=True
    )
    lines = OrderLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "channel",
            "channel_order_id",
            "customer_id",
            "email",
            "status",
            "hold_reason",
            "fulfillment_method",
            "pickup_location",
            "shipping_method",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "total",
            "paid_total",
            "cancelled_total",
            "refund_due",
            "payment_method",
            "shipping_address",
            "billing_address",
            "attributes",
            "notify_customer",
            "placed_at",
            "promised_ship_date",
            "promised_delivery_date",
            "created_at",
            "updated_at",
            "lines",
            "payments",
        ]
        read_only_fields = fields


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "events"]
        read_only_fields = fields


class CheckoutSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", read_only=True)
    pickup_location = serializers.CharField(
        source="pickup_location.code", read_only=True, default=None, allow_null=True
    )
    order_number = serializers.CharField(
        source="order.number", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Checkout
        fields = [
            "token",
            "channel",
            "status",
            "lines",
            "destination",
            "fulfillment_method",
            "pickup_location",
            "expires_at",
            "order_number",
            "created_at",
        ]
        read_only_fields = fields
