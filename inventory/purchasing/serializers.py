"""API serializers for suppliers, supplier products and purchase orders (input and output)."""

from decimal import Decimal

from rest_framework import serializers

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
    Supplier,
    SupplierProduct,
)
from inventory.purchasing.limits import EXPECTED_DATE_HORIZON
from inventory.purchasing.selectors import purchase_order_total
from inventory.purchasing_models import SUPPLIER_CODE_TAKEN
from inventory.serializers import WholeNumberField
from oms_project.serializers import StrictModelSerializer, StrictSerializer

MAX_LINES = 500


class UnitCostField(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 4)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)


class SupplierSerializer(StrictModelSerializer):
    class Meta:
        model = Supplier
        fields = [
            "code", "name", "contact_emails", "lead_time_days", "currency",
            "minimum_order_value", "over_receipt_percent", "is_active", "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"minimum_order_value": {"min_value": Decimal("0")}}

    def validate_code(self, value: str) -> str:
        clash = Supplier.objects.filter(code__iexact=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(SUPPLIER_CODE_TAKEN)
        return value


class SupplierProductInputSerializer(StrictSerializer):
    supplier = serializers.CharField(max_length=40, help_text="Supplier code.")
    sku = serializers.CharField(max_length=64)
    supplier_sku = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    unit_cost = UnitCostField()
    pack_size = WholeNumberField(min_value=1, required=False, default=1)
    minimum_quantity = WholeNumberField(min_value=1, required=False, default=1)
    is_preferred = serializers.BooleanField(required=False, default=False)


class SupplierProductSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = SupplierProduct
        fields = [
            "id", "supplier", "sku", "supplier_sku", "unit_cost", "pack_size",
            "minimum_quantity", "is_preferred", "updated_at",
        ]
        read_only_fields = fields


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    quantity_outstanding = serializers.IntegerField(read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "sku", "supplier_sku", "quantity", "unit_cost", "quantity_received",
            "quantity_damaged", "quantity_outstanding",
        ]
        read_only_fields = fields


class PurchaseOrderSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    status = serializers.CharField(
        read_only=True,
        help_text="draft, sent, partially_received, received, closed or cancelled.",
    )
    total = serializers.SerializerMethodField()
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "number", "supplier", "warehouse", "status", "currency", "expected_date", "note",
            "total", "created_by", "created_at", "sent_at", "closed_at", "lines",
        ]
        read_only_fields = fields

    def get_total(self, purchase_order) -> str:
        return str(purchase_order_total(lines=purchase_order.lines.all()))


QUANTITY_HELP = "Whole packs of the supplier's pack size, at least its minimum quantity."


class PurchaseLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = WholeNumberField(min_value=1, help_text=QUANTITY_HELP)
    unit_cost = UnitCostField(required=False, help_text="Defaults to the supplier's price.")


class PurchaseOrderCreateSerializer(StrictSerializer):
    supplier = serializers.CharField(max_length=40, help_text="Supplier code.")
    warehouse = serializers.CharField(max_length=40, help_text="Ship-to warehouse code.")
    expected_date = serializers.DateField(
        required=False,
        help_text="Defaults to today plus the supplier's lead time; from today to "
        f"{EXPECTED_DATE_HORIZON.days} days ahead.",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = PurchaseLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)


class PurchaseLineSetSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = WholeNumberField(
        help_text=f"The new ordered quantity; 0 removes the line. {QUANTITY_HELP}"
    )
    unit_cost = UnitCostField(required=False)


class ExpectedDateSerializer(StrictSerializer):
    expected_date = serializers.DateField(
        help_text=f"From today to {EXPECTED_DATE_HORIZON.days} days ahead."
    )


class SendSerializer(StrictSerializer):
    accept_below_minimum = serializers.BooleanField(
        required=False, default=False,
        help_text="Send even if the order is worth less than the supplier's minimum.",
    )


class SuggestSerializer(StrictSerializer):
    """The body of `suggest/`: it takes no fields, and refuses any that is sent."""


class PurchaseOrderReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReceiptLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity_received = WholeNumberField(required=False, default=0)
    quantity_damaged = WholeNumberField(required=False, default=0)


class ReceiptInputSerializer(StrictSerializer):
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="The supplier's delivery note; a note already received is refused (409).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = ReceiptLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)


class ReceiptLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="line.product.sku", read_only=True)

    class Meta:
        model = PurchaseReceiptLine
        fields = ["sku", "quantity_received", "quantity_damaged"]
        read_only_fields = fields


class ReceiptSerializer(serializers.ModelSerializer):
    lines = ReceiptLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseReceipt
        fields = ["id", "reference", "note", "actor", "created_at", "lines"]
        read_only_fields = fields


class ReceiptResultSerializer(serializers.Serializer):
    receipt = ReceiptSerializer()
    purchase_order = PurchaseOrderSerializer()
    orders = serializers.ListField(
        child=serializers.CharField(), help_text="Backordered orders that got stock."
    )
    filled = serializers.ListField(
        child=serializers.CharField(), help_text="Of those, orders with nothing left waiting."
    )


class SuggestionResultSerializer(serializers.Serializer):
    purchase_orders = serializers.ListField(child=serializers.CharField())
    lines_added = serializers.IntegerField()
    lines_increased = serializers.IntegerField()
    without_supplier = serializers.ListField(child=serializers.DictField())
    notices = serializers.IntegerField()
