"""Products (CRUD with `catalog:write`) and stock levels (read) over the API."""

import django_filters
from django.db.models import F, ProtectedError
from rest_framework import mixins, viewsets

from inventory import selectors
from inventory.models import Product, StockLevel
from inventory.serializers import ProductSerializer, StockLevelSerializer
from oms_project.errors import Conflict


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter()
    barcode = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Product
        fields = ["sku", "barcode", "external_id", "freight_class", "is_active"]

    def filter_search(self, queryset, name, value):
        return selectors.product_search(queryset, value)


class ProductViewSet(viewsets.ModelViewSet):
    scope = "catalog"
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict("This product has stock or orders; deactivate it instead.")


class StockLevelFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    search = django_filters.CharFilter(method="filter_search")
    low_stock = django_filters.BooleanFilter(method="filter_low_stock")
    out_of_stock = django_filters.BooleanFilter(method="filter_out_of_stock")

    class Meta:
        model = StockLevel
        fields = ["sku", "warehouse"]

    def filter_search(self, queryset, name, value):
        return selectors.stock_level_search(queryset, value)

    def filter_low_stock(self, queryset, name, value):
        condition = {"free__lte": F("reorder_point")}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)

    def filter_out_of_stock(self, queryset, name, value):
        return queryset.filter(free__lte=0) if value else queryset.filter(free__gt=0)


class StockLevelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    scope = "inventory"
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter

    def get_queryset(self):
        return selectors.stock_levels_with_availability()


def register(router) -> None:
    router.register("products", ProductViewSet, basename="product")
    router.register("stock-levels", StockLevelViewSet, basename="stock-level")
