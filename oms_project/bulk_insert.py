"""Insert many new rows of one model at once: `COPY` on PostgreSQL, `bulk_create` elsewhere.

Django's `bulk_create` prepares every value of every row in Python and, on PostgreSQL, binds
each column as one array parameter that psycopg turns into a quoted literal client-side. For
bulk order creation (500 orders make some 10,000 rows over eight tables) that preparation was
a quarter of the request. `rows_insert` hands the same rows to `COPY ... FROM STDIN`, whose
row formatting psycopg does in C, after taking the new primary keys from the table's sequence
in one query, so every instance comes back with its pk, as from `bulk_create`.

A few rows go through `bulk_create` even on PostgreSQL: one INSERT is one round trip, where
COPY needs the sequence query first (measured on a 2-core machine: COPY is slower for one
row, even at 10, faster from about 30).

Use it only for plain new rows: no multi-table inheritance, no conflicts to ignore or update
(COPY has no ON CONFLICT), no `pre_save` logic beyond Django's `auto_now`/`auto_now_add`.
"""

from collections.abc import Sequence
from functools import cache

from django.db import connection, models
from django.db.models import Model

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
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM_ROWS:
        return model.objects.bulk_create(objs)
    plan = _copy_plan(model)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="rows_insert")
    _pks_assign(model, [obj for obj in objs if obj.pk is None])
    # Errors come as Django's (IntegrityError, DataError, ...), as from any other query.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(plan.statement) as copy,
    ):
        for obj in objs:
            copy.write_row(plan.row(obj))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


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
    """The COPY statement of a model and how to read one row's values off an instance."""

    def __init__(self, model: type[Model]):
        fields = [field for field in model._meta.concrete_fields if not field.generated]
        quote = connection.ops.quote_name
        self.statement = (
            f"COPY {quote(model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
        )
        self.readers = [_reader(field) for field in fields]

    def row(self, obj: Model) -> list:
        return [read(obj) for read in self.readers]


@cache
def _copy_plan(model: type[Model]) -> _CopyPlan:
    return _CopyPlan(model)


def _reader(field: models.Field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add=True)
    attname = field.attname
    if type(field) in _PASS_THROUGH:
        return lambda obj: getattr(obj, attname)
    if type(field) is models.DateTimeField:
        return lambda obj: _datetime(field, getattr(obj, attname))
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def _datetime(field: models.DateTimeField, value):
    """An aware datetime goes to timestamptz as it is; a naive one is read in the default
    time zone (`TIME_ZONE`), as Django reads it."""
    if value is None or getattr(value, "tzinfo", None) is not None:
        return value
    return field.get_db_prep_save(value, connection)
