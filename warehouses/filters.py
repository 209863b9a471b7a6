"""The list filters of locations and carriers, which answer 400 on a value they cannot read.

`StrictBooleanFilter` is the yes/no filter the inventory lists use: django-filter's own reads
`?is_active=maybe` as no filter at all and lists everything.
"""

import django_filters
from django import forms

from warehouses.models import Carrier, Warehouse


class BooleanParameterField(forms.Field):
    """A yes/no query parameter: `true`, `false`, `1` or `0` in any case, or nothing (no
    filter). Anything else is an error, not silently no filter."""

    default_error_messages = {"invalid": "Use true, false, 1 or 0."}
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        parsed = self.VALUES.get(str(value).strip().lower())
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter that answers 400 for `?flag=maybe` instead of ignoring it."""

    field_class = BooleanParameterField


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
