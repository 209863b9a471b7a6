"""A clock for tests of change polling: write at chosen minutes, read `updated_at` back."""

from datetime import UTC, datetime, timedelta

import time_machine

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(minutes: int):
    """Travel to `minutes` after START (the clock stands still there)."""
    return time_machine.travel(START + timedelta(minutes=minutes), tick=False)


def updated_at(row) -> datetime:
    """The row's `updated_at` as stored."""
    return type(row).objects.values_list("updated_at", flat=True).get(pk=row.pk)
