"""Subscription schedule arithmetic: run dates, and the instants they fall at in a time zone.

Pure functions of their arguments (no database, no clock). The rules:

- **Every N days**: the start date, then every N days.
- **Every N weeks**: the first anchor weekday (ISO, 1 = Monday; default the start date's
  weekday) on or after the start date, then every 7 x N days.
- **Every N months**: the anchor day (1-31; default the start date's day) of every N-th month,
  counting from the first month whose run falls on or after the start date. A day the month
  does not have clamps to the month's last day, always from the anchor and never from the
  previous run: an anchor of 31 runs on Jan 31, Feb 28 (29), Mar 31, Apr 30.
- **End date**: no run falls after it.
- **Calendar edges**: no run falls on the calendar's first or last day (`FIRST_RUN_DATE`,
  `LAST_RUN_DATE`), where a local time in some zones is an instant Python cannot hold; a
  schedule that would run past them has no next run (None), never an error.
- **Local time to instant** (`run_instant`): each run is due at the customer's local time on
  its date, in the customer's zone (IANA name, via `zoneinfo`). On daylight-saving changes:
  a local time that does not exist (the spring-forward gap) runs at the first valid instant
  after the gap, i.e. the moment the clocks jump (02:30 on a 02:00 -> 03:00 night runs at
  03:00); a local time that happens twice (fall back) runs at its first occurrence (fold=0,
  the earlier instant).
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY, WEEK, MONTH = "day", "week", "month"
# Any local time on these days, in any zone (offsets within a day), is an instant in range.
FIRST_RUN_DATE = date.min + timedelta(days=1)
LAST_RUN_DATE = date.max - timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """How often a subscription runs; see the module docstring for the rules."""

    interval_unit: str
    interval_count: int
    start_date: date
    anchor_day: int | None = None
    end_date: date | None = None

    def __post_init__(self):
        if self.interval_unit not in (DAY, WEEK, MONTH):
            raise ValueError(f"Unknown interval unit {self.interval_unit!r}.")
        if self.interval_count < 1:
            raise ValueError("The interval must be at least 1.")
        if self.anchor_day is not None:
            if self.interval_unit == DAY:
                raise ValueError("Daily schedules take no anchor day.")
            highest = 7 if self.interval_unit == WEEK else 31
            if not 1 <= self.anchor_day <= highest:
                raise ValueError(f"The anchor day must be between 1 and {highest}.")


def clamp_day(year: int, month: int, day: int) -> date:
    """The given day of the month, or the month's last day if the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_date(index: int, anchor: int) -> date:
    return clamp_day(index // 12, index % 12 + 1, anchor)


def first_occurrence(schedule: Schedule) -> date | None:
    """The first run date on or after the start date (None if it falls after the end)."""
    return occurrence_on_or_after(schedule, schedule.start_date)


def occurrence_on_or_after(schedule: Schedule, day: date) -> date | None:
    """The first run date on or after `day`, or None when that is after the end date (or
    past `LAST_RUN_DATE`)."""
    day = max(day, schedule.start_date, FIRST_RUN_DATE)
    if schedule.interval_unit == MONTH:
        found = _monthly_on_or_after(schedule, day)
    else:
        found = _periodic_on_or_after(schedule, day)
    if found is None or (schedule.end_date is not None and found > schedule.end_date):
        return None
    return found


def _monthly_on_or_after(schedule: Schedule, day: date) -> date | None:
    step, last_month = schedule.interval_count, _month_index(LAST_RUN_DATE)
    anchor = schedule.anchor_day or schedule.start_date.day
    first_month = _month_index(schedule.start_date)
    if _month_date(first_month, anchor) < schedule.start_date:
        first_month += 1
    month = first_month + max(0, (_month_index(day) - first_month) // step) * step
    while month <= last_month:
        found = _month_date(month, anchor)
        if found >= day:
            return found if found <= LAST_RUN_DATE else None
        month += step
    return None


def _periodic_on_or_after(schedule: Schedule, day: date) -> date | None:
    """Daily and weekly runs, counted in day ordinals so no step leaves the calendar."""
    length = schedule.interval_count * (7 if schedule.interval_unit == WEEK else 1)
    first = schedule.start_date.toordinal()
    if schedule.interval_unit == WEEK:
        weekday = schedule.anchor_day or schedule.start_date.isoweekday()
        first += (weekday - schedule.start_date.isoweekday()) % 7
    runs = max(0, -(-(day.toordinal() - first) // length))
    found = first + runs * length
    return date.fromordinal(found) if found <= LAST_RUN_DATE.toordinal() else None


def occurrence_after(schedule: Schedule, day: date) -> date | None:
    """The first run date strictly after `day` (None past the end date)."""
    if day >= LAST_RUN_DATE:
        return None
    return occurrence_on_or_after(schedule, day + timedelta(days=1))


def occurrences_from(schedule: Schedule, day: date, *, limit: int):
    """Up to `limit` run dates from `day` on (inclusive), in order."""
    found = occurrence_on_or_after(schedule, day)
    while found is not None and limit > 0:
        yield found
        limit -= 1
        found = occurrence_after(schedule, found)


def run_instant(day: date, local_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a run on `day` at `local_time` in `zone` is due (DST rules above)."""
    wall = datetime.combine(day, local_time.replace(tzinfo=None))
    first = wall.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _end_of_gap(wall, zone, wall.replace(tzinfo=zone, fold=1).astimezone(UTC), instant)


def _end_of_gap(wall: datetime, zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant whose local wall time is at or after `wall` (a time in a gap).

    `low` (the wall time read with the offset after the change) is before the jump and `high`
    (read with the offset before it) after it; the jump is found by bisection to the second.
    """
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The date on the customer's calendar at `instant`."""
    return instant.astimezone(zone).date()
