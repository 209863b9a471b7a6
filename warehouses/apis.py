"""Warehouses (CRUD with `warehouses:write`) and carriers (read-only) over the API."""

import django_filters
from django.db.models import ProtectedError
from rest_framework import mixins, viewsets

from oms_project.errors import Conflict
from warehouses.models import Carrier, Warehouse
from warehouses.serializers import CarrierSerializer, WarehouseSerializer


class WarehouseFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()
    country = django_filters.CharFilter()

    class Meta:
        model = Warehouse
        fields = ["code", "kind", "is_active", "pickup_enabled", "can_ship", "country"]


class WarehouseViewSet(viewsets.ModelViewSet):
    scope = "warehouses"
    queryset = Warehouse.objects.all()
    serializer_class = WarehouseSerializer
    filterset_class = WarehouseFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict(
                "This location still has stock or orders; deactivate it instead.",
            )


class CarrierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope = "warehouses"
    queryset = Carrier.objects.prefetch_related("service_levels")
    serializer_class = CarrierSerializer
    lookup_field = "code"
    filterset_fields = ["is_active"]


def register(router) -> None:
    router.register("warehouses", WarehouseViewSet, basename="warehouse")
    router.register("carriers", CarrierViewSet, basename="carrier")
