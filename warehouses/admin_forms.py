"""Admin forms of locations and service levels: list settings typed as text ("US, CA"), and
the time zone checked as the API checks it."""

import re
from collections.abc import Callable

from django import forms

from warehouses.list_settings import (
    MAX_CONTACT_EMAILS,
    MAX_COUNTRIES,
    country_code_clean,
    email_clean,
    freight_class_clean,
    values_clean,
)
from warehouses.models import ServiceLevel, Warehouse
from warehouses.serializers import timezone_check

SEPARATORS = re.compile(r"[\s,;]+")


class ValueListField(forms.CharField):
    """Values separated by commas, semicolons or spaces, cleaned one by one into a list;
    empty gives an empty list."""

    def __init__(
        self, *, item_clean: Callable[[str], str], max_items: int | None = None, **kwargs
    ):
        self.item_clean = item_clean
        self.max_items = max_items
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 60}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, (list, tuple)):
            values = [str(item) for item in value]
        else:
            values = [part for part in SEPARATORS.split(super().to_python(value)) if part]
        return values_clean(values, item_clean=self.item_clean, max_items=self.max_items)

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(initial or []) != self.to_python(data)
        except forms.ValidationError:
            return True


def freight_classes_field(help_text: str) -> ValueListField:
    return ValueListField(item_clean=freight_class_clean, help_text=help_text)


class WarehouseAdminForm(forms.ModelForm):
    accepted_freight_classes = freight_classes_field(
        "Freight classes beyond standard it may hold and ship: oversize, hazmat, cold "
        "(separated by commas)."
    )
    ships_to_countries = ValueListField(
        item_clean=country_code_clean,
        max_items=MAX_COUNTRIES,
        help_text="ISO country codes separated by commas (US, CA, DE); empty means anywhere.",
    )
    contact_emails = ValueListField(
        item_clean=email_clean,
        max_items=MAX_CONTACT_EMAILS,
        help_text="Who hears about low stock here; addresses separated by commas.",
    )

    class Meta:
        model = Warehouse
        fields = [
            "code", "name", "kind", "is_active", "line1", "line2", "postal_code", "city",
            "region", "country", "latitude", "longitude", "timezone", "priority", "can_ship",
            "pickup_enabled", "daily_order_capacity", "order_cutoff_time", "handling_days",
            "accepted_freight_classes", "ships_to_countries", "contact_emails",
        ]

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"]
        timezone_check(value)
        return value


class ServiceLevelAdminForm(forms.ModelForm):
    accepted_freight_classes = freight_classes_field(
        "Freight classes beyond standard it may carry: oversize, hazmat, cold "
        "(separated by commas)."
    )

    class Meta:
        model = ServiceLevel
        fields = [
            "carrier", "code", "name", "transit_days_min", "transit_days_max",
            "accepted_freight_classes", "is_active",
        ]
