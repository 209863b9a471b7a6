from rest_framework import serializers

from inventory.models import Product, StockLevel
from oms_project.serializers import StrictModelSerializer
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
