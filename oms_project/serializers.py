"""Serializer building blocks shared by the apps' APIs."""

import copy

from django_countries import countries
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuse fields the serializer does not know and read-only fields sent on write."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            read_only = {name for name, field in self.fields.items() if field.read_only}
            errors = {}
            for key in data:
                if key in read_only:
                    errors[key] = ["This field is read-only."]
                elif key not in writable:
                    errors[key] = ["Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class FieldsBuiltOnce:
    """Mix into a model serializer whose fields depend on its class alone (no context).

    A `ModelSerializer` introspects its model to build its fields on every instance, which
    for small objects costs more than rendering them. This builds them once per class and
    gives each instance a deep copy, as DRF does with declared fields.
    """

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return copy.deepcopy(built)


# The narrowest range every supported database accepts; SQLite alone would take more.
INTEGER_LIMITS = {
    "SmallIntegerField": 32767,
    "PositiveSmallIntegerField": 32767,
    "IntegerField": 2147483647,
    "PositiveIntegerField": 2147483647,
}


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    """A strict model serializer whose integer fields accept the same range on every database."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        limit = INTEGER_LIMITS.get(model_field.get_internal_type())
        if limit is not None and "choices" not in field_kwargs:
            field_kwargs["max_value"] = min(field_kwargs.get("max_value", limit), limit)
        return field_class, field_kwargs


class CountryCodeField(serializers.CharField):
    """An ISO 3166-1 alpha-2 country code, upper-cased."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).upper()
        if value not in countries:
            raise serializers.ValidationError(f"'{value}' is not an ISO 3166-1 country code.")
        return value

    def to_representation(self, value):
        return getattr(value, "code", value) or ""


class CountryCodeListField(serializers.ListField):
    child = CountryCodeField()
