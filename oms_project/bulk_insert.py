"""Insert many new rows of one model at once: `COPY` on PostgreSQL, `bulk_create` elsewhere.

Django's `bulk_create` prepares every value of every row in Python and, on PostgreSQL, binds
each column as one array parameter that psycopg turns into a quoted literal client-side. For
bulk order creation (500 orders make some 10,000 rows over eight tables) that preparation was
a quarter of the request. `rows_insert` hands the same rows to `COPY ... FROM STDIN`, whose
row formatting psycopg does in C, after taking the new primary keys from the table's sequence
in one query, so every instance comes back with its pk, as from `bulk_create`.

A few rows go in one `INSERT ... VALUES ... RETURNING` instead: one round trip, where COPY
needs the sequence query first (measured on a 2-core machine: COPY is slower for one row,
even at 10, faster from about 30). On PostgreSQL that INSERT is built from the same per-model
plan as COPY rather than by `bulk_create`, whose preparation cost more than the statement
for the handful of rows a single order writes per table. Other databases use `bulk_create`.

Use it only for plain new rows: no multi-table inheritance, no conflicts to ignore or update
(COPY has no ON CONFLICT), no `pre_save` logic beyond Django's `auto_now`/`auto_now_add`.
"""

from collections.abc import Sequence
from functools import cache
from operator import attrgetter

from django.db import connection, models
from django.db.models import Model

from oms_project.sql import row_fields

# From this many rows on, COPY.
COPY_FROM_ROWS = 20

# Field types whose Python value psycopg writes as Django would: passed through untouched.
# Exact types only: a subclass may prepare its value (a country field holds a `Country`).
# Anything else (JSON, custom fields) is prepared by the field itself.
_PASS_THROUGH = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.IntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
        models.SmallIntegerField,
        models.BooleanField,
        models.CharField,
        models.EmailField,
        models.TextField,
        models.DecimalField,
        models.DateField,
        models.UUIDField,
        models.ForeignKey,
    }
)


def rows_insert(objs: Sequence[Model]) -> Sequence[Model]:
    """Insert these unsaved instances of one model, give each its pk, and return them."""
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        if connection.features.can_return_rows_from_bulk_insert:
            return model.objects.bulk_create(objs)
        # SQLite before 3.35 cannot return the pks of a multi-row INSERT: one row at a time.
        for obj in objs:
            obj.save(force_insert=True)
        return objs
    plan = _copy_plan(model)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="rows_insert")
    if len(objs) < COPY_FROM_ROWS:
        _insert(plan, objs)
    else:
        _copy(plan, model, objs)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def _copy(plan: "_CopyPlan", model: type[Model], objs: Sequence[Model]) -> None:
    _pks_assign(model, [obj for obj in objs if obj.pk is None])
    # Errors come as Django's (IntegrityError, DataError, ...), as from any other query.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(plan.statement) as copy,
    ):
        for obj in objs:
            copy.write_row(plan.row(obj))


def _insert(plan: "_CopyPlan", objs: Sequence[Model]) -> None:
    """One INSERT of all rows; rows without a pk take it from the column's default and get it
    back (PostgreSQL returns the rows of `INSERT ... VALUES` in their order)."""
    with_pk = [obj.pk is not None for obj in objs]
    if all(with_pk):
        statement, read = plan.insert_with_pk, plan.row
    elif not any(with_pk):
        statement, read = plan.insert_returning_pk, plan.row_without_pk
    else:
        # Some rows bring their own pk, others do not: one statement each way.
        _insert(plan, [obj for obj in objs if obj.pk is not None])
        _insert(plan, [obj for obj in objs if obj.pk is None])
        return
    values = ", ".join([f"({', '.join(['%s'] * read.width)})"] * len(objs))
    params = [value for obj in objs for value in read(obj)]
    with connection.cursor() as cursor:  # Django's cursor: its errors, its query log
        cursor.execute(statement.format(values=values), params)
        if not all(with_pk):
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk


def _pks_assign(model: type[Model], objs: list[Model]) -> None:
    """Take len(objs) ids from the primary key's sequence, in ascending order (one query)."""
    if not objs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [model._meta.db_table, model._meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk


class _CopyPlan:
    """The COPY and INSERT statements of a model and how to read one row's values off an
    instance (with and without its pk)."""

    def __init__(self, model: type[Model]):
        fields = row_fields(model)
        without_pk = [field for field in fields if not field.primary_key]
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)

        def columns(chosen) -> str:
            return ", ".join(quote(field.column) for field in chosen)

        self.statement = f"COPY {table} ({columns(fields)}) FROM STDIN"
        # `{values}` is filled with one placeholder group per row.
        self.insert_with_pk = f"INSERT INTO {table} ({columns(fields)}) VALUES {{values}}"
        self.insert_returning_pk = (
            f"INSERT INTO {table} ({columns(without_pk)}) VALUES {{values}} "
            f"RETURNING {quote(model._meta.pk.column)}"
        )
        self.row = _RowReader(fields)
        self.row_without_pk = _RowReader(without_pk)


@cache
def _copy_plan(model: type[Model]) -> _CopyPlan:
    return _CopyPlan(model)


class _RowReader:
    """Read one row's values off an instance: all attributes at once (`attrgetter`), then
    the few fields that prepare their value (auto_now, datetimes, JSON, custom fields)."""

    def __init__(self, fields: list[models.Field]):
        self.width = len(fields)
        get = attrgetter(*[field.attname for field in fields])
        self.get = get if len(fields) > 1 else (lambda obj: (get(obj),))
        self.prepare = [
            (index, prepare)
            for index, field in enumerate(fields)
            if (prepare := _preparation(field)) is not None
        ]

    def __call__(self, obj: Model) -> list:
        values = list(self.get(obj))
        for index, prepare in self.prepare:
            values[index] = prepare(obj, values[index])
        return values


def _preparation(field: models.Field):
    """How the field turns its attribute into the value to write, or None: as it is."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj, value: field.pre_save(obj, add=True)
    if type(field) in _PASS_THROUGH:
        return None
    if type(field) is models.DateTimeField:
        return lambda obj, value: _datetime(field, value)
    return lambda obj, value: field.get_db_prep_save(value, connection)


def _datetime(field: models.DateTimeField, value):
    """An aware datetime goes to timestamptz as it is; a naive one is read in the default
    time zone (`TIME_ZONE`), as Django reads it."""
    if value is None or getattr(value, "tzinfo", None) is not None:
        return value
    return field.get_db_prep_save(value, connection)
