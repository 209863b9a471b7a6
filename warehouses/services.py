"""Writes to locations: create, change and delete warehouses, stores, 3PLs and vendors."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from oms_project.errors import Conflict
from warehouses.models import Warehouse


def warehouse_create(**fields) -> Warehouse:
    """Create a location; raises `Conflict` if its code is taken."""
    try:
        with transaction.atomic():
            return Warehouse.objects.create(**fields)
    except IntegrityError:
        raise Conflict(
            f"A location with code '{fields.get('code')}' already exists.",
            errors={"code": ["A location with this code already exists."]},
        )


def warehouse_update(*, warehouse: Warehouse, **changes) -> Warehouse:
    """Change a location's fields; raises `Conflict` if a new code is taken."""
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
