"""Serializer building blocks shared by the apps' APIs."""

import copy

from django_countries import countries
from rest_framework import serializers

# Fields that hold other fields (a nested serializer, a list's child): bound to their
# holder when built, so each serializer instance needs a fresh one.
_HOLDS_FIELDS = (
    serializers.BaseSerializer,
    serializers.ListField,
    serializers.DictField,
    serializers.ManyRelatedField,
)


def fields_copy(fields: dict) -> dict:
    """Give a serializer instance its own copy of `fields`, as DRF's `copy.deepcopy` does, at
    a fraction of its cost.

    DRF deep-copies a field by calling its constructor again with deep-copied arguments, and
    does so for every field of every serializer instance: for one order in and out of the API
    that was a tenth of the request's CPU. A plain field only gets attributes of its own when
    bound (`field_name`, `parent`, `source`, ...); its validators, choices and messages are
    only read after construction. A shallow copy is therefore enough for it. A field that holds
    fields is still deep-copied (its parts go through this function again).
    """
    return {
        name: copy.deepcopy(field) if isinstance(field, _HOLDS_FIELDS) else copy.copy(field)
        for name, field in fields.items()
    }


class StrictSerializer(serializers.Serializer):
    """Refuse fields the serializer does not know and read-only fields sent on write."""

    def get_fields(self):
        return fields_copy(self._declared_fields)

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
    gives each instance its own copy (`fields_copy`).
    """

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return fields_copy(built)


# The narrowest range every supported database accepts; SQLite alone would take more.
INTEGER_LIMITS = {
    "SmallIntegerField": 32767,
    "PositiveSmallIntegerField": 32767,
    "IntegerField": 2147483647,
    "PositiveIntegerField": 2147483647,
}


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    """A strict model serializer whose integer fields accept the same range on every database."""

    def get_fields(self):
        # Its fields come from the model, not only from the declared ones.
        return serializers.ModelSerializer.get_fields(self)

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
