"""Small helpers for the few statements written as plain SQL on hot paths.

Some queries run for every order and are simple: building them with the ORM costs several
times what running them does (about 0.35 ms of CPU per SELECT on a 2-core machine). Those
are written as portable SQL (PostgreSQL and SQLite) with these helpers; everything else
stays with the ORM.
"""

from collections.abc import Collection


def placeholders(values: Collection) -> str:
    """`%s, %s, ...`, one per value, for an `IN (...)` list (never call it with none)."""
    if not values:
        raise ValueError("an IN list needs at least one value")
    return ", ".join(["%s"] * len(values))
