"""Schedule arithmetic (pure): run dates, month-end clamping, and DST rules per time zone."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.subscriptions.schedule import (
    Schedule,
    first_occurrence,
    occurrence_after,
    occurrence_on_or_after,
    occurrences_from,
    run_instant,
)
from tests.orders.test_subscription_support import utc

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def dates(schedule: Schedule, count: int) -> list[date]:
    return list(occurrences_from(schedule, schedule.start_date, limit=count))


def test_monthly_anchor_31_clamps_to_each_month_end_and_returns_to_31():
    schedule = Schedule("month", 1, date(2027, 12, 31))
    assert dates(schedule, 5) == [
        date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_monthly_anchor_30_clamps_in_february_only():
    schedule = Schedule("month", 1, date(2026, 1, 1), anchor_day=30)
    assert dates(schedule, 3) == [date(2026, 1, 30), date(2026, 2, 28), date(2026, 3, 30)]


def test_monthly_anchor_before_the_start_day_begins_next_month():
    schedule = Schedule("month", 2, date(2026, 1, 20), anchor_day=5)
    assert dates(schedule, 3) == [date(2026, 2, 5), date(2026, 4, 5), date(2026, 6, 5)]


def test_every_n_weeks_on_the_anchor_weekday():
    schedule = Schedule("week", 4, date(2026, 1, 1), anchor_day=1)  # 1 Jan 2026 is a Thursday
    assert dates(schedule, 3) == [date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]


def test_weekly_without_anchor_keeps_the_start_weekday():
    schedule = Schedule("week", 1, date(2026, 1, 1))
    assert dates(schedule, 2) == [date(2026, 1, 1), date(2026, 1, 8)]


def test_every_n_days_and_the_end_date():
    schedule = Schedule("day", 10, date(2026, 1, 1), end_date=date(2026, 1, 25))
    assert dates(schedule, 10) == [date(2026, 1, 1), date(2026, 1, 11), date(2026, 1, 21)]
    assert occurrence_after(schedule, date(2026, 1, 21)) is None


def test_occurrence_on_or_after_a_date_inside_the_schedule():
    schedule = Schedule("month", 3, date(2026, 1, 31))
    assert occurrence_on_or_after(schedule, date(2026, 4, 30)) == date(2026, 4, 30)
    assert occurrence_on_or_after(schedule, date(2026, 5, 1)) == date(2026, 7, 31)
    assert occurrence_on_or_after(schedule, date(2025, 1, 1)) == date(2026, 1, 31)
    assert first_occurrence(schedule) == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("unit", "anchor", "message"),
    [
        ("day", 3, "Daily schedules take no anchor day."),
        ("week", 8, "The anchor day must be between 1 and 7."),
        ("month", 32, "The anchor day must be between 1 and 31."),
        ("year", None, "Unknown interval unit 'year'."),
    ],
)
def test_invalid_schedules_are_refused(unit, anchor, message):
    with pytest.raises(ValueError, match=message):
        Schedule(unit, 1, date(2026, 1, 1), anchor_day=anchor)


def test_ordinary_local_time_converts_with_the_day_offset():
    assert run_instant(date(2026, 1, 15), time(9), NEW_YORK) == utc(2026, 1, 15, 14)
    assert run_instant(date(2026, 7, 15), time(9), NEW_YORK) == utc(2026, 7, 15, 13)


def test_spring_forward_gap_moves_to_the_moment_clocks_jump():
    # New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    assert run_instant(date(2026, 3, 8), time(2, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    assert run_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)
    assert run_instant(date(2026, 3, 8), time(2, 59), NEW_YORK) == utc(2026, 3, 8, 7)
    assert run_instant(date(2026, 3, 8), time(3, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    # Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    assert run_instant(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1)


def test_fall_back_uses_the_first_of_the_repeated_local_times():
    # New York, 1 November 2026: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 (EST).
    assert run_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    # Berlin, 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET).
    assert run_instant(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


@given(
    unit=st.sampled_from(["day", "week", "month"]),
    count=st.integers(min_value=1, max_value=12),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    anchor=st.integers(min_value=1, max_value=31),
)
def test_runs_strictly_increase_and_monthly_runs_keep_the_clamped_anchor(
    unit, count, start, anchor
):
    anchor_day = None if unit == "day" else (anchor if unit == "month" else anchor % 7 + 1)
    schedule = Schedule(unit, count, start, anchor_day=anchor_day)
    runs = dates(schedule, 8)
    assert runs[0] >= start
    assert all(later > earlier for earlier, later in zip(runs, runs[1:], strict=False))
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert occurrence_after(schedule, earlier) == later
        assert occurrence_on_or_after(schedule, earlier + timedelta(days=1)) == later
    if unit == "month":
        for run in runs:
            next_month_first = (run.replace(day=28) + timedelta(days=4)).replace(day=1)
            last_day = (next_month_first - timedelta(days=1)).day
            assert run.day == min(anchor, last_day)
    else:
        step = count * (7 if unit == "week" else 1)
        assert {(later - earlier).days for earlier, later in zip(runs, runs[1:], strict=False)} == {
            step
        }


@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    zone=st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Sydney"]),
)
def test_run_instant_is_the_local_time_or_the_first_instant_after_a_gap(day, minutes, zone):
    zone = ZoneInfo(zone)
    wall = time(minutes // 60, minutes % 60)
    instant = run_instant(day, wall, zone)
    local = instant.astimezone(zone).replace(tzinfo=None)
    wanted = local.combine(day, wall)
    assert local >= wanted
    if local != wanted:  # a gap: the previous second was before the wanted wall time
        before = (instant - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
        assert before < wanted
    else:  # on a repeated hour, the earlier of the two instants
        assert (instant - timedelta(hours=1)).astimezone(zone).replace(tzinfo=None) != wanted


# The zones furthest from UTC either way: a run on the calendar's last or first days there is
# still an instant Python can hold only when the schedule keeps off those days.
EXTREME_ZONES = ["Etc/GMT+12", "Pacific/Kiritimati", "America/Los_Angeles", "UTC"]


@given(
    unit=st.sampled_from(["day", "week", "month"]),
    count=st.integers(min_value=1, max_value=366),
    start=st.dates(min_value=date(9990, 1, 1)),
    anchor=st.integers(min_value=1, max_value=31),
    offset=st.integers(min_value=0, max_value=4000),
    zone=st.sampled_from(EXTREME_ZONES),
)
def test_runs_near_the_end_of_the_calendar_end_in_none_instead_of_an_error(
    unit, count, start, anchor, offset, zone
):
    anchor_day = None if unit == "day" else (anchor if unit == "month" else anchor % 7 + 1)
    schedule = Schedule(unit, count, start, anchor_day=anchor_day)
    day = min(start + timedelta(days=min(offset, (date.max - start).days)), date.max)
    found = occurrence_on_or_after(schedule, day)
    assert found is None or found >= day
    runs = list(occurrences_from(schedule, start, limit=20))
    assert all(later > earlier for earlier, later in zip(runs, runs[1:], strict=False))
    for run in runs:
        run_instant(run, time(23, 59), ZoneInfo(zone))
    assert occurrence_after(schedule, date.max) is None


@pytest.mark.parametrize("unit", ["day", "week", "month"])
@pytest.mark.parametrize("zone", EXTREME_ZONES)
def test_a_schedule_starting_on_the_calendars_last_or_first_day_never_raises(unit, zone):
    for start in (date.max, date.max - timedelta(days=1), date.min):
        schedule = Schedule(unit, 366, start)
        for run in occurrences_from(schedule, start, limit=3):
            run_instant(run, time(0, 0), ZoneInfo(zone))
            run_instant(run, time(23, 59), ZoneInfo(zone))
    assert list(occurrences_from(Schedule(unit, 1, date.max), date.max, limit=3)) == []
