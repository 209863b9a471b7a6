"""Warehouses (CRUD with `warehouses:write`) and carriers (read-only) over the API."""

from rest_framework import mixins, viewsets

from oms_project.api import CreatedLocationMixin, request_channel
from warehouses import services
from warehouses.filters import CarrierFilter, WarehouseFilter
from warehouses.models import Carrier, Warehouse
from warehouses.serializers import CarrierSerializer, WarehouseSerializer


class WarehouseViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    scope = "warehouses"
    created_locations = {"create": ("warehouse-detail", "code", "code")}
    queryset = Warehouse.objects.all()
    serializer_class = WarehouseSerializer
    filterset_class = WarehouseFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        """A channel key sees the locations its channel sells from (others are 404)."""
        channel = request_channel(self.request)
        if channel is None:
            return self.queryset
        return self.queryset.filter(channels=channel)

    def perform_create(self, serializer):
        serializer.instance = services.warehouse_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.warehouse_update(
            warehouse=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.warehouse_delete(warehouse=instance)


class CarrierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope = "warehouses"
    queryset = Carrier.objects.prefetch_related("service_levels")
    serializer_class = CarrierSerializer
    lookup_field = "code"
    filterset_class = CarrierFilter


def register(router) -> None:
    router.register("warehouses", WarehouseViewSet, basename="warehouse")
    router.register("carriers", CarrierViewSet, basename="carrier")
