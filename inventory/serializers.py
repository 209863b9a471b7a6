"""Serializers for products, stock, transfers and bulk adjustments."""

from django.conf import settings
from rest_framework import serializers

from inventory.adjustments import ADJUSTMENT_REASONS
from inventory.models import Product, StockLevel, Transfer, TransferLine
from inventory.services import MAX_QUANTITY
from oms_project.errors import item_errors
from oms_project.serializers import StrictModelSerializer, StrictSerializer
from warehouses.models import FreightClass


class ProductSerializer(StrictModelSerializer):
    freight_class = serializers.ChoiceField(choices=FreightClass.choices, required=False)

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "external_id", "barcode", "weight_grams", "length_mm",
            "width_mm", "height_mm", "freight_class", "low_stock_threshold", "is_active",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The catalogue service says which product already has the barcode (409).
        extra_kwargs = {"barcode": {"validators": []}}


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = [
            "id", "sku", "product_name", "warehouse", "on_hand", "allocated", "safety_stock",
            "available", "reorder_point", "reorder_quantity", "updated_at",
        ]
        read_only_fields = fields


class StockSummaryWarehouseSerializer(serializers.Serializer):
    """One warehouse's numbers in a stock summary row."""

    warehouse = serializers.CharField(help_text="Warehouse code.")
    on_hand = serializers.IntegerField()
    allocated = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    available = serializers.IntegerField(help_text="On hand less allocated and safety stock.")
    reorder_point = serializers.IntegerField()


class StockSummaryRowSerializer(serializers.Serializer):
    """One SKU's totals over the warehouses that stock it."""

    sku = serializers.CharField()
    product_id = serializers.CharField(help_text="The product's external id.")
    name = serializers.CharField()
    barcode = serializers.CharField()
    on_hand = serializers.IntegerField()
    allocated = serializers.IntegerField()
    available = serializers.IntegerField()
    warehouses = StockSummaryWarehouseSerializer(many=True)


class StockSummaryPageSerializer(serializers.Serializer):
    """`GET /stock-levels/summary/`: one page of SKUs, in SKU order."""

    results = StockSummaryRowSerializer(many=True)
    next_after = serializers.CharField(
        allow_null=True,
        help_text="Pass as `?after=` for the next page; null on the last page.",
    )


class WholeNumberField(serializers.IntegerField):
    """An integer given as a JSON number: no strings, booleans or fractions."""

    default_error_messages = {"invalid": "A whole number is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_QUANTITY)
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TransferLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = WholeNumberField(min_value=1)


def known_skus_required(lines: list[dict]) -> list[dict]:
    """Refuse lines naming SKUs that do not exist (one query), as order creation does: each
    error keyed by the line's position (`item_errors`)."""
    skus = {line["sku"] for line in lines}
    known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    line_errors = [
        {} if line["sku"] in known else {"sku": [f"Unknown SKU '{line['sku']}'."]}
        for line in lines
    ]
    if any(line_errors):
        raise serializers.ValidationError(item_errors(line_errors))
    return lines


class TransferCreateSerializer(StrictSerializer):
    source = serializers.CharField(max_length=40, help_text="Warehouse code.")
    destination = serializers.CharField(max_length=40, help_text="Warehouse code.")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    lines = TransferLineInputSerializer(many=True, allow_empty=False, max_length=500)

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        return known_skus_required(lines)


class TransferReceiveSerializer(StrictSerializer):
    lines = TransferLineInputSerializer(
        many=True, required=False, allow_empty=False, max_length=500,
        help_text="Units received per SKU; omit to receive everything outstanding.",
    )

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        return known_skus_required(lines)


class TransferActionSerializer(StrictSerializer):
    """The body of `ship/` and `cancel/`: they take no fields, and refuse any that is sent
    (validate it before acting)."""


class TransferCloseSerializer(StrictSerializer):
    """The body of `close/`: why the units still in transit are written off."""

    reason = serializers.CharField(
        max_length=255, help_text="Why the units still in transit will not arrive."
    )


class TransferLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity", "quantity_received", "quantity_lost"]
        read_only_fields = fields


class TransferSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code", read_only=True)
    destination = serializers.CharField(source="destination.code", read_only=True)
    lines = TransferLineSerializer(many=True, read_only=True)

    class Meta:
        model = Transfer
        fields = [
            "number", "source", "destination", "status", "note", "created_by", "created_at",
            "shipped_at", "received_at", "closed_at", "closed_by", "close_reason", "lines",
        ]
        read_only_fields = fields


class AdjustmentItemSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=40)
    set = WholeNumberField(required=False, help_text="The new absolute on-hand count.")
    delta = WholeNumberField(
        required=False, min_value=-MAX_QUANTITY, help_text="Units to add (negative to remove)."
    )
    expected_on_hand = WholeNumberField(
        required=False, help_text="Refuse the item with 409 stock_changed unless on hand is this."
    )
    reason = serializers.ChoiceField(choices=[(reason.value, reason.label)
                                              for reason in ADJUSTMENT_REASONS])
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("set" in attrs) == ("delta" in attrs):
            raise serializers.ValidationError("Give exactly one of `set` and `delta`.")
        if attrs.get("delta") == 0:
            raise serializers.ValidationError({"delta": ["Must not be zero."]})
        return attrs


class AdjustmentErrorSerializer(serializers.Serializer):
    """Why an item failed; extra members (`on_hand`, ...) depend on the code."""

    code = serializers.CharField(help_text="`unknown_sku`, `below_allocated`, `stock_changed`...")
    status = serializers.IntegerField(help_text="The HTTP status the item alone would get.")
    detail = serializers.CharField()


class AdjustmentResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the request, from 0.")
    sku = serializers.CharField()
    warehouse = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["applied", "unchanged", "failed", "not_applied"]
    )
    on_hand = serializers.IntegerField(allow_null=True)
    allocated = serializers.IntegerField(allow_null=True)
    available = serializers.IntegerField(allow_null=True)
    error = AdjustmentErrorSerializer(allow_null=True)


class AdjustmentBatchResultSerializer(serializers.Serializer):
    """What `POST /inventory/adjustments/` did, item by item."""

    atomic = serializers.BooleanField()
    applied = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = AdjustmentResultSerializer(many=True)


class AdjustmentBatchSerializer(StrictSerializer):
    items = AdjustmentItemSerializer(many=True, allow_empty=False,
                                     max_length=settings.OMS_MAX_BULK_ITEMS)
    atomic = serializers.BooleanField(
        default=False, help_text="All or nothing: any failed item rolls the whole batch back."
    )

    def to_internal_value(self, data):
        # Refuse an oversized batch before checking any of its items.
        items = data.get("items") if isinstance(data, dict) else None
        limit = settings.OMS_MAX_BULK_ITEMS
        if isinstance(items, list) and len(items) > limit:
            raise serializers.ValidationError(
                {"items": [f"At most {limit} items per request; {len(items)} given."]}
            )
        return super().to_internal_value(data)
