"""Small helpers for the few statements written as plain SQL on hot paths.

Some queries run for every order and are simple: building them with the ORM costs several
times what running them does (about 0.35 ms of CPU per SELECT on a 2-core machine). Those
are written as portable SQL (PostgreSQL and SQLite) with these helpers; everything else
stays with the ORM.
"""

from collections.abc import Collection, Sequence
from functools import cache

from django.db import connection
from django.db.models import Field, Model


def placeholders(values: Collection) -> str:
    """`%s, %s, ...`, one per value, for an `IN (...)` list (never call it with none)."""
    if not values:
        raise ValueError("an IN list needs at least one value")
    return ", ".join(["%s"] * len(values))


def select_columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, qualified by `alias`, in `instance_from_row`'s order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in row_fields(model))


def instance_from_row(model: type[Model], values: Sequence) -> Model:
    """The instance a queryset would build from these column values (in `select_columns`
    order): the database's values go through the same converters (booleans and decimals on
    SQLite, JSON, time zones) as in a queryset."""
    fields = row_fields(model)
    converted = []
    for field, value in zip(fields, values, strict=True):
        column, converters = _converters_for(model, field.attname, connection.vendor)
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def row_fields(model: type[Model]) -> list[Field]:
    """A model's stored fields (its concrete ones, less generated columns), in table order."""
    return [field for field in model._meta.concrete_fields if not field.generated]


@cache
def _converters_for(model: type[Model], attname: str, vendor: str) -> tuple:
    """The column and what a queryset applies to its values (the backend's converters, then
    the field's; a foreign key converts as its target), per database engine."""
    field = next(field for field in row_fields(model) if field.attname == attname)
    column = field.get_col(model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    return column, converters
