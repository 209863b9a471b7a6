"""Serializer building blocks shared by the apps' APIs."""

from django.utils.functional import cached_property
from django_countries import countries
from rest_framework import serializers

from oms_project.currencies import currency_code_validator

# A field that holds another (a list's child, a relation list's child relation) binds it to
# itself when built: each copy needs a copy of the held field, bound to the copy.
_HELD_FIELD = (
    (serializers.ListSerializer, "child"),
    (serializers.ListField, "child"),
    (serializers.DictField, "child"),
    (serializers.ManyRelatedField, "child_relation"),
)
# What a serializer computes or receives once in use; a declared one never has it, and a copy
# starts without it.
_IN_USE_STATE = (
    "fields",
    "_field_names",
    "_writable_fields",
    "_readable_fields",
    "_validated_data",
    "_errors",
    "_data",
    "initial_data",
)


def fields_copy(fields: dict) -> dict:
    """Give a serializer instance its own copy of `fields`, as DRF's `copy.deepcopy` does, at
    a fraction of its cost.

    DRF deep-copies a field by calling its constructor again with deep-copied arguments, and
    does so for every field of every serializer instance: for one order in and out of the API
    that was a tenth of the request's CPU. A field only gets attributes of its own when bound
    (`field_name`, `parent`, `source`, ...); its validators, choices and messages are only read
    after construction, and a nested serializer builds its own fields when first used. So a
    copy of the field's attributes is enough, plus a copy of any field it holds.
    """
    return {name: _field_copy(field) for name, field in fields.items()}


def _field_copy(field):
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if isinstance(field, serializers.BaseSerializer):
        for name in _IN_USE_STATE:
            clone.__dict__.pop(name, None)
    for kind, attribute in _HELD_FIELD:
        if isinstance(field, kind):
            held = _field_copy(getattr(field, attribute))
            _unbind(held)
            setattr(clone, attribute, held)
            held.bind(field_name="", parent=clone)
            break
    return clone


def _unbind(field) -> None:
    """Undo what binding a held field to its holder (as `field_name=""`) set, so the copy can
    be bound to its own holder: the source and label binding filled in, and the binding."""
    for name in ("field_name", "parent", "source_attrs"):
        field.__dict__.pop(name, None)
    if field.source == "":
        field.source = None
    if field.label == "" and "label" not in field._kwargs:
        field.label = None


class FieldListsOnce:
    """Mix into a serializer: list its writable and readable fields once per instance.

    DRF walks `self.fields` (a mapping with Python-level iteration) for every object it
    validates or renders; a list's child validates or renders every item with one instance.
    The field set does not change once built, so the lists are kept.
    """

    @cached_property
    def _writable_fields(self) -> list:
        return [field for field in self.fields.values() if not field.read_only]

    @cached_property
    def _readable_fields(self) -> list:
        return [field for field in self.fields.values() if not field.write_only]


class StrictSerializer(FieldListsOnce, serializers.Serializer):
    """Refuse fields the serializer does not know and read-only fields sent on write."""

    def get_fields(self):
        return fields_copy(self._declared_fields)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable, read_only = self._field_names
            errors = {}
            for key in data:
                if key in read_only:
                    errors[key] = ["This field is read-only."]
                elif key not in writable:
                    errors[key] = ["Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    @cached_property
    def _field_names(self) -> tuple[frozenset, frozenset]:
        """(writable, read-only) names; worked out once per instance, as a nested serializer
        or a list's child validates every item with the same instance."""
        fields = self.fields.items()
        return (
            frozenset(name for name, field in fields if not field.read_only),
            frozenset(name for name, field in fields if field.read_only),
        )


class FieldsBuiltOnce(FieldListsOnce):
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


class CurrencyCodeField(serializers.CharField):
    """An ISO 4217 currency code, upper-cased (`oms_project.currencies`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)
        self.validators.append(currency_code_validator)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


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


def refuse_repeats(items: list[dict], *, key: str, noun: str = "Line") -> None:
    """Refuse an item whose `key` an earlier item of the list already gave, keyed by its
    position then the field, as every item error is (`oms_project.errors.item_errors`)."""
    first: dict = {}
    errors = {}
    for position, item in enumerate(items):
        value = item[key]
        if value in first:
            errors[str(position)] = {
                key: [f"{noun} {value} is listed twice (first at position {first[value]})."]
            }
        first.setdefault(value, position)
    if errors:
        raise serializers.ValidationError(errors)
