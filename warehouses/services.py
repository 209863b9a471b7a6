"""Writes to locations: create, change and delete warehouses, stores, 3PLs and vendors.

Channels' routing rules name locations by code (preferred and excluded locations), so a new
code is written into them with the location, and a location they name is not deleted.
"""

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError

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
    """Change a location's fields; a new code is written into every routing rule set that
    names the old one, in the same transaction.

    Raises `Conflict` if a new code is taken and `ValidationFailed` if a list setting is not
    a list of valid values; nothing is changed then.
    """
    _list_settings_check(changes)
    try:
        with transaction.atomic():
            # From the row: the caller's copy may already carry the new code (admin forms).
            old_code = (
                Warehouse.objects.select_for_update()
                .values_list("code", flat=True)
                .get(pk=warehouse.pk)
            )
            for field, value in changes.items():
                setattr(warehouse, field, value)
            warehouse.save()
            if warehouse.code != old_code:
                _rule_sets_rename_location(old_code=old_code, new_code=warehouse.code)
    except IntegrityError:
        raise Conflict(
            "Another location already has this code.",
            errors={"code": ["A location with this code already exists."]},
        )
    return warehouse


def warehouse_delete(*, warehouse: Warehouse) -> None:
    """Delete a location that never held stock or orders and that no routing rules name.

    Raises `Conflict` otherwise (nothing deleted): one naming the channels whose rules
    prefer or exclude it (`routing_rules`), which the user takes it out of first.
    """
    try:
        with transaction.atomic():
            naming = routing_rule_sets_naming(codes={warehouse.code}, lock=True)
            if naming:
                channels = [rule_set.channel.code for rule_set in naming]
                raise Conflict(
                    f"The routing rules of {'channel' if len(channels) == 1 else 'channels'} "
                    f"{', '.join(channels)} name location "
                    f"'{warehouse.code}'; take it out of them before deleting it.",
                    extra={"routing_rules": channels},
                )
            warehouse.delete()
    except ProtectedError:
        raise Conflict("This location still has stock or orders; deactivate it instead.")


def routing_rule_sets_naming(*, codes: Collection[str], lock: bool = False) -> list:
    """The routing rule sets (with their channel) that prefer or exclude any location of
    `codes`, by pk; `lock` locks every rule set, so none starts naming one before the
    caller commits.

    Every rule set is read: there is at most one per channel, and JSON containment is not
    a lookup every database supports.
    """
    from orders.models import RoutingRuleSet  # orders sits above warehouses

    rule_sets = RoutingRuleSet.objects.select_related("channel").order_by("pk")
    if lock:
        rule_sets = rule_sets.select_for_update(of=("self",))
    codes = set(codes)
    return [
        rule_set
        for rule_set in rule_sets
        if codes & {*rule_set.preferred_locations, *rule_set.excluded_locations}
    ]


def _rule_sets_rename_location(*, old_code: str, new_code: str) -> None:
    """Write `new_code` for `old_code` in every rule set naming it, raising its version (the
    save also makes order intake drop its kept copy of the rules)."""
    for rule_set in routing_rule_sets_naming(codes={old_code}, lock=True):
        rule_set.preferred_locations = [
            new_code if code == old_code else code for code in rule_set.preferred_locations
        ]
        rule_set.excluded_locations = [
            new_code if code == old_code else code for code in rule_set.excluded_locations
        ]
        rule_set.version = F("version") + 1
        rule_set.save(
            update_fields=["preferred_locations", "excluded_locations", "version", "updated_at"]
        )
