"""List filters that refuse what the database cannot take, as a 400 on the parameter.

A time is kept in UTC: one that is valid where it was written but falls outside years
1-9999 once in UTC (`0001-01-01T00:00:00+05:00`) cannot be compared, so it is refused here
rather than failing in the database adapter. An id is a whole number a database key can hold.
A yes/no parameter is `true`, `false`, `1` or `0`.
"""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

MAX_ID = 2**63 - 1


class MomentField(IsoDateTimeField):
    default_error_messages = {
        "out_of_range": "The time %(value)s is out of range (years 1 to 9999 in UTC)."
    }

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None and moment.tzinfo is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(
                    self.error_messages["out_of_range"], code="out_of_range",
                    params={"value": value},
                ) from None
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time filter (`2026-03-01T08:00:00Z`) that stays within UTC's range."""

    field_class = MomentField


class IdFilter(django_filters.NumberFilter):
    """A filter on a row id: a whole number from 1 to the largest key."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


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
    """A boolean filter that answers 400 for `?flag=maybe` (django-filter's own reads it as no
    filter at all and lists everything)."""

    field_class = BooleanParameterField
