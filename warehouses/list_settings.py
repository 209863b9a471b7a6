"""The list settings of locations and service levels: ships-to countries, accepted freight
classes and contact e-mails.

Each is stored as a JSON list. The `*_clean` functions turn typed values into that list
(normalised, de-duplicated in order) or raise `ValidationError` naming the first bad value;
the `*_validator` functions are the models' guard, so no path stores anything but a valid
list (a stored string "US" would be read as the countries {"U", "S"}).
"""

from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.deconstruct import deconstructible
from django_countries import countries

MAX_COUNTRIES = 300
MAX_CONTACT_EMAILS = 20


def country_code_clean(value: str) -> str:
    code = value.strip().upper()
    if code not in countries:
        raise ValidationError(f"'{code}' is not an ISO 3166-1 country code.", code="invalid")
    return code


def special_freight_classes() -> list[str]:
    """The freight classes a location or service level must accept explicitly."""
    from warehouses.models import FreightClass  # the models import this module

    return [choice for choice in FreightClass.values if choice != FreightClass.STANDARD]


def freight_class_clean(value: str) -> str:
    freight_class = value.strip().lower()
    special = special_freight_classes()
    if freight_class not in special:
        raise ValidationError(
            f"'{value.strip()}' is not a freight class; use {', '.join(special)} "
            "(standard goes anywhere).",
            code="invalid",
        )
    return freight_class


def email_clean(value: str) -> str:
    address = value.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(f"'{address}' is not a valid e-mail address.", code="invalid")
    return address


def values_clean(
    values: Iterable[str], *, item_clean: Callable[[str], str], max_items: int | None = None
) -> list[str]:
    """Clean each value and drop repeats, keeping the first occurrence's position."""
    cleaned = list(dict.fromkeys(item_clean(value) for value in values))
    if max_items is not None and len(cleaned) > max_items:
        raise ValidationError(f"At most {max_items} values, not {len(cleaned)}.", code="max_items")
    return cleaned


@deconstructible
class ListValidator:
    """Accept only a list of text values that each pass `kind`'s clean function."""

    cleaners = {
        "country_codes": (country_code_clean, MAX_COUNTRIES),
        "freight_classes": (freight_class_clean, None),
        "contact_emails": (email_clean, MAX_CONTACT_EMAILS),
    }

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, value) -> None:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError("Must be a list of text values.", code="not_a_list")
        item_clean, max_items = self.cleaners[self.kind]
        values_clean(value, item_clean=item_clean, max_items=max_items)

    def __eq__(self, other) -> bool:
        return isinstance(other, ListValidator) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)


country_codes_validator = ListValidator("country_codes")
freight_classes_validator = ListValidator("freight_classes")
contact_emails_validator = ListValidator("contact_emails")
