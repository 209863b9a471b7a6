"""The list filters of locations and carriers, which answer 400 on a value they cannot read."""

import django_filters

from oms_project.filters import StrictBooleanFilter
from warehouses.models import Carrier, Warehouse


class WarehouseFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()
    country = django_filters.CharFilter(method="filter_country")
    is_active = StrictBooleanFilter()
    pickup_enabled = StrictBooleanFilter()
    can_ship = StrictBooleanFilter()

    class Meta:
        model = Warehouse
        fields = ["code", "kind", "is_active", "pickup_enabled", "can_ship", "country"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value.strip().upper())


class CarrierFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = Carrier
        fields = ["is_active"]
