"""Keeping `updated_at` true on writes that bypass `auto_now`, and reading changes by it.

`auto_now` runs only in `Model.save()`; a `QuerySet.update()` (the conditional UPDATEs every
service uses for counters and statuses) leaves the field as it was. Integrators page through
changes by `updated_at`, so every write that changes a row moves it, in the UPDATE the write
already issues. Lists of such rows take `?updated_after=` and `?ordering=updated_at`: pages
of changes, oldest first, that a poller follows without missing or repeating a row.
"""

from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oms_project.filters import MAX_ID, MomentFilter


def change_time() -> datetime:
    """The time a write stamps on the rows it changes (the application's clock, like
    `auto_now`, so rows written either way compare in one order)."""
    return timezone.now()


def update_changed(queryset: QuerySet, **changes) -> int:
    """`queryset.update(**changes)` that also moves the rows' `updated_at`; returns the count."""
    return queryset.update(**changes, updated_at=change_time())


# --- Reading changes: `?updated_after=<ISO time>&ordering=updated_at` -------------------------

CHANGE_ORDERING = "updated_at"


def updated_after_filter() -> MomentFilter:
    """The `updated_after` filter of a list whose rows have `updated_at` (strictly after)."""
    return MomentFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Only rows changed after this ISO 8601 time (e.g. 2026-03-01T08:00:00Z). "
        "With `ordering=updated_at`, follow `next` to the end, then ask again with the "
        "`updated_at` of the last row you got.",
    )


def change_position(row) -> str:
    """Where a page of changes ended: the last row's `updated_at` and id."""
    return f"{row.updated_at.isoformat()}|{row.pk}"


def after_change_position(queryset: QuerySet, position: str | None) -> QuerySet:
    """The rows changed after `position` (see `change_position`), oldest change first, the id
    breaking ties, so a page boundary inside rows changed at one instant loses none.
    Raises `ValueError` for a position this module did not write."""
    queryset = queryset.order_by(CHANGE_ORDERING, "pk")
    if position is None:
        return queryset
    moment, _, pk = position.partition("|")
    try:
        changed_at = parse_datetime(moment)
        if changed_at is not None and changed_at.tzinfo is not None:
            changed_at.astimezone(UTC)  # stored in UTC: a time past its range is no position
    except (ValueError, OverflowError):
        changed_at = None
    if changed_at is None or not pk.isdigit() or int(pk) > MAX_ID:
        raise ValueError(f"Not a change position: {position!r}.")
    return queryset.filter(
        Q(updated_at__gt=changed_at) | Q(updated_at=changed_at, pk__gt=int(pk))
    )
