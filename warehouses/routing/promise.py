"""Promise dates: when a location ships and when the parcel arrives, skipping weekends and
the location's scheduled closures."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SATURDAY = 5


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_business_day(day: date) -> bool:
    return day.weekday() < SATURDAY


def next_business_day(day: date) -> date:
    """The day itself when it is a weekday, otherwise the following Monday."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=4096)
def add_business_days(day: date, days: int) -> date:
    """Move `days` weekdays forward from a weekday."""
    day = next_business_day(day)
    for _ in range(days):
        day = next_business_day(day + timedelta(days=1))
    return day


def ship_date(
    *, now: datetime, timezone_name: str, cutoff_time: time | None, handling_days: int
) -> date:
    """The date the location ships an order routed at `now`.

    Orders after the local cutoff time, or on a weekend, start on the next business day;
    handling days are business days on top.
    """
    return _ship_date(now, timezone_name, cutoff_time, handling_days)


@lru_cache(maxsize=4096)
def _ship_date(now: datetime, timezone_name: str, cutoff_time: time | None, handling_days: int):
    # Cached: routing a batch asks the same question for every order at the same moment.
    local = now.astimezone(_zone(timezone_name))
    day = local.date()
    if cutoff_time is not None and local.time() > cutoff_time:
        day += timedelta(days=1)
    return add_business_days(next_business_day(day), handling_days)


def ship_date_past_closures(
    *,
    now: datetime,
    timezone_name: str,
    cutoff_time: time | None,
    handling_days: int,
    closures: Sequence,
) -> tuple[date, tuple]:
    """Return the date the location ships an order routed at `now` despite its `closures`
    (anything with aware `starts_at` and `ends_at`), and the closures that held it up.

    The location works the order from the moment it takes it up until the end of its (local)
    ship day. A closure overlapping that stretch stops the work: the order is taken up again
    when the closure ends, and the cutoff time and handling days apply again from then.
    """
    start, held_up = now, []
    while True:
        shipped_on = _ship_date(start, timezone_name, cutoff_time, handling_days)
        day_ends = datetime.combine(
            shipped_on + timedelta(days=1), time(0), tzinfo=_zone(timezone_name)
        )
        in_the_way = [
            closure
            for closure in closures
            if closure.starts_at < day_ends and closure.ends_at > start
        ]
        if not in_the_way:
            return shipped_on, tuple(held_up)
        # Every closure in the way is over by then, so none holds the order up twice.
        held_up.extend(in_the_way)
        start = max(closure.ends_at for closure in in_the_way)


def delivery_date(*, shipped_on: date, transit_days: int) -> date:
    """The date a parcel shipped on `shipped_on` arrives after `transit_days` business days."""
    return add_business_days(shipped_on, transit_days)
