"""Writes to locations: create, change and delete warehouses, stores, 3PLs and vendors."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from oms_project.errors import Conflict, ValidationFailed
from warehouses.models import Warehouse

LIST_SETTINGS = ("accepted_freight_classes", "ships_to_countries", "contact_emails")


def _list_settings_check(fields: dict) -> None:
    """Refuse list settings that are not lists of valid values (routing reads them as sets)."""
    errors = {}
    for name in LIST_SETTINGS:
        if name not in fields:
            continue
        try:
            for validator in Warehouse._meta.get_field(name).validators:
                validator(fields[name])
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationFailed("The location's list settings are not valid.", errors=errors)


def warehouse_create(**fields) -> Warehouse:
    """Create a location; raises `Conflict` if its code is taken and `ValidationFailed` if a
    list setting is not a list of valid values."""
    _list_settings_check(fields)
    try:
        with transaction.atomic():
            return Warehouse.objects.create(**fields)
    except IntegrityError:
        raise Conflict(
            f"A location with code '{fields.get('code')}' already exists.",
            errors={"code": ["A location with this code already exists."]},
        )


def warehouse_update(*, warehouse: Warehouse, **changes) -> Warehouse:
    """Change a location's fields; raises `Conflict` if a new code is taken and
    `ValidationFailed` if a list setting is not a list of valid values."""
    _list_settings_check(changes)
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(warehouse, field, value)
            warehouse.save()
    except IntegrityError:
        raise Conflict(
            "Another location already has this code.",
            errors={"code": ["A location with this code already exists."]},
        )
    return warehouse


def warehouse_delete(*, warehouse: Warehouse) -> None:
    """Delete a location that never held stock or orders; otherwise raise `Conflict`."""
    try:
        with transaction.atomic():
            warehouse.delete()
    except ProtectedError:
        raise Conflict("This location still has stock or orders; deactivate it instead.")
