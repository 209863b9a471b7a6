"""Serializers for returns and refunds: what channels and staff send, and what they read."""

from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from oms_project.serializers import StrictSerializer
from orders.input_serializers import MoneyField
from returns.models import (
    ItemCondition,
    Refund,
    RefundLine,
    ReturnEvent,
    ReturnExchangeItem,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
)

MAX_LINES = 500


# --- input ----------------------------------------------------------------------------------


class ReturnLineInputSerializer(StrictSerializer):
    line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ExchangeItemInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY)
    unit_price = MoneyField(
        required=False,
        help_text="Defaults to the price paid per unit of a returned line of the same SKU.",
    )


class ReturnCreateSerializer(StrictSerializer):
    order = serializers.CharField(max_length=32, help_text="The order number.")
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    exchange_items = ExchangeItemInputSerializer(
        many=True, required=False, max_length=MAX_LINES,
        help_text="Replacement items: they become a new order when the return is received.",
    )
    customer_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    window_override_reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Staff only: why a return outside the channel's window is accepted.",
    )


class ReturnApproveSerializer(StrictSerializer):
    return_carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    return_tracking_number = serializers.CharField(
        max_length=100, required=False, allow_blank=True
    )
    return_label_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReturnRejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=255)


class ReturnNoteSerializer(StrictSerializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReceiveLineInputSerializer(StrictSerializer):
    line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    condition = serializers.ChoiceField(choices=ItemCondition.choices)
    quantity = serializers.IntegerField(min_value=0, max_value=settings.OMS_MAX_LINE_QUANTITY)
    location = serializers.CharField(
        max_length=40, required=False, allow_blank=True,
        help_text="Warehouse code where resellable units are restocked.",
    )


class ReturnReceiveSerializer(StrictSerializer):
    lines = ReceiveLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES * 3)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RefundOptionsSerializer(StrictSerializer):
    refund_shipping = serializers.BooleanField(required=False, default=False)
    restocking_fee = MoneyField(required=False, default=Decimal("0.00"))
    adjustment = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, default=Decimal("0.00"),
        help_text="Added to (or, negative, taken from) the computed amount; needs a reason.",
    )
    adjustment_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ReturnRefundSerializer(RefundOptionsSerializer):
    method = serializers.CharField(
        max_length=50, required=False, allow_blank=True,
        help_text="Defaults to the order's payment method.",
    )
    processor_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class OrderRefundCreateSerializer(StrictSerializer):
    order = serializers.CharField(max_length=32, help_text="The order number.")
    kind = serializers.ChoiceField(
        choices=[Refund.Kind.CANCELLATION, Refund.Kind.GOODWILL],
        help_text="`cancellation` pays back units cancelled before shipment (refund_due); "
        "`goodwill` needs a reason.",
    )
    amount = MoneyField(
        min_value=Decimal("0.01"), required=False,
        help_text="Required for goodwill; a cancellation refund defaults to all that is due.",
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)
    method = serializers.CharField(max_length=50, required=False, allow_blank=True)
    processor_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


# --- output ---------------------------------------------------------------------------------


class ReturnLineSerializer(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    restock_location = serializers.CharField(
        source="restock_location.code", allow_null=True, default=None
    )

    class Meta:
        model = ReturnLine
        fields = [
            "line_id", "sku", "name", "quantity", "reason", "note", "quantity_resellable",
            "quantity_damaged", "quantity_missing", "restock_location",
        ]


class ExchangeItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = ReturnExchangeItem
        fields = ["sku", "quantity", "unit_price"]


class ReturnEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReturnEvent
        fields = ["created_at", "type", "from_status", "to_status", "actor", "message", "data"]


class RefundLineSerializer(serializers.ModelSerializer):
    line_id = serializers.IntegerField(source="order_line_id")

    class Meta:
        model = RefundLine
        fields = ["line_id", "quantity", "amount", "tax_amount"]


class RefundSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    return_number = serializers.CharField(
        source="return_request.number", allow_null=True, default=None
    )
    lines = RefundLineSerializer(many=True)

    class Meta:
        model = Refund
        fields = [
            "number", "kind", "order", "return_number", "currency", "amount", "goods_amount",
            "tax_amount", "shipping_amount", "restocking_fee", "adjustment",
            "adjustment_reason", "exchange_credit", "method", "processor_reference", "reason",
            "created_by", "created_at", "lines",
        ]


class RefundSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["number", "kind", "amount", "currency", "method", "created_at"]


class ReturnSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    channel = serializers.CharField(source="channel.code")
    exchange_order = serializers.CharField(
        source="exchange_order.number", allow_null=True, default=None
    )
    order_return_status = serializers.SerializerMethodField(
        help_text="`not_returned`, `partially_returned` or `returned`, from the order's lines."
    )
    lines = ReturnLineSerializer(many=True)
    exchange_items = ExchangeItemSerializer(many=True)
    refunds = RefundSummarySerializer(many=True)

    class Meta:
        model = ReturnRequest
        fields = [
            "number", "status", "order", "channel", "order_return_status", "customer_note",
            "window_override_reason", "rejection_reason", "return_carrier",
            "return_tracking_number", "return_label_url", "exchange_order", "exchange_credit",
            "created_by", "created_at", "updated_at", "approved_at", "received_at", "closed_at",
            "lines", "exchange_items", "refunds",
        ]

    def get_order_return_status(self, return_request: ReturnRequest) -> str:
        return self.context.get("return_statuses", {}).get(return_request.order_id, "")


class ReturnDetailSerializer(ReturnSerializer):
    events = ReturnEventSerializer(many=True)

    class Meta(ReturnSerializer.Meta):
        fields = [*ReturnSerializer.Meta.fields, "events"]


class OrderReturnLineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    quantity_returned = serializers.IntegerField()
    quantity_returnable = serializers.IntegerField()


class OrderReturnsSerializer(serializers.Serializer):
    order = serializers.CharField()
    return_status = serializers.CharField()
    return_window_closes_at = serializers.DateTimeField()
    refund_due = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    refundable = serializers.DecimalField(
        max_digits=14, decimal_places=2,
        help_text="What returns and goodwill may still refund: paid, less refunded, less "
        "exchange credit kept by replacement orders, less `refund_due` (owed for cancelled "
        "units, payable besides).",
    )
    lines = OrderReturnLineSerializer(many=True)
    returns = ReturnSerializer(many=True)


class RefundQuoteLineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    amount = serializers.CharField(
        help_text="What the units are worth, with their share of order discount and tax."
    )
    tax_amount = serializers.CharField(help_text="The tax included in `amount`.")


class RefundQuoteSerializer(serializers.Serializer):
    lines = RefundQuoteLineSerializer(many=True)
    goods_amount = serializers.CharField(
        help_text="The lines' amounts added up (tax included)."
    )
    tax_amount = serializers.CharField(
        help_text="The tax included in the refund (for accounting; not added again): the "
        "goods' tax less the share the exchange credit took to the replacement order."
    )
    shipping_amount = serializers.CharField()
    restocking_fee = serializers.CharField()
    adjustment = serializers.CharField()
    adjustment_reason = serializers.CharField()
    exchange_credit = serializers.CharField()
    amount = serializers.CharField()
