"""The pure routing engine: each rule kind, crafted scenarios, promise dates, and invariants."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouses.routing import (
    Candidate,
    DemandLine,
    Destination,
    Outage,
    Rules,
    ServiceTerms,
    route,
    rules_problems,
)
from warehouses.routing.distance import great_circle_km
from warehouses.routing.promise import delivery_date, ship_date

# A Wednesday morning in UTC.
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
RENO = Destination(country="US", region="NV", latitude=39.53, longitude=-119.81)
EAST = Candidate(id=1, code="EAST", priority=1, latitude=40.71, longitude=-74.0)
WEST = Candidate(id=2, code="WEST", priority=2, latitude=37.77, longitude=-122.42)


def line(key=1, product=10, quantity=1, freight="standard"):
    return DemandLine(key=key, product_id=product, sku=f"P{product}", quantity=quantity,
                      freight_class=freight)


DEFAULT_RULES = Rules()


def plan_for(demand, candidates, available, rules=DEFAULT_RULES, destination=RENO, service=None):
    return route(demand=demand, destination=destination, candidates=candidates,
                 available=available, rules=rules, now=NOW, service=service)


def placed(plan):
    codes = {report.location_id: report.code for report in plan.candidates}
    return sorted((a.line_key, codes[a.location_id], a.quantity) for a in plan.allocations)


def test_priority_wins_when_both_can_fill():
    plan = plan_for([line(quantity=2)], [EAST, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "EAST", 2)]
    assert plan.short == {}
    assert plan.reason == "EAST can fill the whole order"


def test_nearest_wins_with_the_nearest_strategy():
    rules = Rules(strategies=("nearest", "priority"))
    plan = plan_for([line(quantity=2)], [EAST, WEST], {(10, 1): 5, (10, 2): 5}, rules)
    assert placed(plan) == [(1, "WEST", 2)]
    west = plan.report_for(2)
    assert round(west.distance_km) == round(great_circle_km(39.53, -119.81, 37.77, -122.42))
    assert west.rank == 1 and plan.report_for(1).rank == 2


def test_single_location_that_fills_beats_a_nearer_split():
    rules = Rules(strategies=("nearest",))
    demand = [line(1, 10, 1), line(2, 11, 1)]
    available = {(10, 2): 1, (10, 1): 1, (11, 1): 1}
    assert placed(plan_for(demand, [EAST, WEST], available, rules)) == [
        (1, "EAST", 1), (2, "EAST", 1)
    ]


def test_nothing_fills_and_splits_are_off_reports_the_shortage():
    rules = Rules(allow_split=False)
    demand = [line(1, 10, 2), line(2, 11, 2)]
    available = {(10, 1): 2, (11, 2): 2}
    plan = plan_for(demand, [EAST, WEST], available, rules)
    assert placed(plan) == [(1, "EAST", 2)]
    assert plan.short == {2: 2}
    assert not plan.is_split


def test_split_when_allowed_up_to_max_shipments():
    third = Candidate(id=3, code="THIRD", priority=3)
    demand = [line(1, 10, 3)]
    available = {(10, 1): 1, (10, 2): 1, (10, 3): 1}
    plan = plan_for(demand, [EAST, WEST, third], available, Rules(max_shipments=2))
    assert placed(plan) == [(1, "EAST", 1), (1, "WEST", 1)]
    assert plan.short == {1: 1}
    assert plan.is_split


def test_fewest_shipments_takes_the_location_covering_most_first():
    third = Candidate(id=3, code="THIRD", priority=3)
    fourth = Candidate(id=4, code="FOURTH", priority=4)
    demand = [line(1, 10, 1), line(2, 11, 1), line(3, 12, 1), line(4, 13, 1)]
    available = {(10, 1): 1, (11, 2): 1, (10, 3): 1, (11, 3): 1, (12, 3): 1, (13, 4): 1}
    locations = [EAST, WEST, third, fourth]
    plain = plan_for(demand, locations, available, Rules(max_shipments=4))
    fewest = plan_for(demand, locations, available,
                      Rules(strategies=("fewest_shipments", "priority"), max_shipments=4))
    assert placed(plain) == [(1, "EAST", 1), (2, "WEST", 1), (3, "THIRD", 1), (4, "FOURTH", 1)]
    assert placed(fewest) == [(1, "THIRD", 1), (2, "THIRD", 1), (3, "THIRD", 1), (4, "FOURTH", 1)]


def test_most_stock_ranks_the_fuller_location_first():
    rules = Rules(strategies=("most_stock", "priority"), allow_split=False)
    demand = [line(1, 10, 2), line(2, 11, 2)]
    available = {(10, 1): 2, (10, 2): 2, (11, 2): 1}
    plan = plan_for(demand, [EAST, WEST], available, rules)
    assert placed(plan) == [(1, "WEST", 2), (2, "WEST", 1)]
    assert plan.short == {2: 1}


def test_hazmat_product_is_excluded_where_not_accepted():
    hazmat_ok = Candidate(
        id=2, code="WEST", priority=2, accepted_freight_classes=frozenset({"hazmat"})
    )
    plan = plan_for([line(freight="hazmat")], [EAST, hazmat_ok], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).rejected == ["no usable stock for this order"]
    assert plan.report_for(1).notes == ["does not accept hazmat (product 10)"]


def test_service_level_that_does_not_carry_hazmat_blocks_it_everywhere():
    hazmat_ok = Candidate(id=2, code="WEST", accepted_freight_classes=frozenset({"hazmat"}))
    ground = ServiceTerms(code="ground", transit_days=3)
    plan = plan_for([line(freight="hazmat")], [hazmat_ok], {(10, 2): 5}, service=ground)
    assert plan.allocations == [] and plan.short == {1: 1}
    assert plan.report_for(2).notes == ["service ground does not carry hazmat"]


def test_capacity_full_sends_the_order_to_the_next_location():
    full = Candidate(id=1, code="EAST", priority=1, daily_capacity=10, routed_today=10)
    plan = plan_for([line()], [full, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).rejected == ["daily capacity reached (10/10)"]
    unchecked = plan_for([line()], [full, WEST], {(10, 1): 5, (10, 2): 5},
                         Rules(check_capacity=False))
    assert placed(unchecked) == [(1, "EAST", 1)]


def test_outage_pauses_a_location_only_while_it_lasts():
    outage = Outage(starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1),
                    reason="stock count")
    later = Outage(starts_at=NOW + timedelta(hours=2), ends_at=NOW + timedelta(hours=3))
    paused = Candidate(id=1, code="EAST", priority=1, outages=(outage,))
    plan = plan_for([line()], [paused, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).rejected == [
        f"paused until {outage.ends_at.isoformat()}: stock count"
    ]
    upcoming = Candidate(id=1, code="EAST", priority=1, outages=(later,))
    assert placed(plan_for([line()], [upcoming, WEST], {(10, 1): 5})) == [(1, "EAST", 1)]


# EAST's scheduled stock count: from a minute after NOW (Wednesday) to the Saturday after next.
STOCK_COUNT = Outage(starts_at=NOW + timedelta(minutes=1), ends_at=NOW + timedelta(days=10),
                     reason="stock count")
# The first business day after the stock count.
AFTER_STOCK_COUNT = date(2026, 3, 16)


def test_a_location_closing_before_it_ships_ranks_after_an_open_one():
    closing = Candidate(id=1, code="EAST", priority=1, outages=(STOCK_COUNT,))
    plan = plan_for([line()], [closing, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.promise()[0] == date(2026, 3, 4)
    east = plan.report_for(1)
    assert (east.rejected, east.rank, east.ship_date) == ([], 2, AFTER_STOCK_COUNT)
    assert east.notes == [
        f"closed until {STOCK_COUNT.ends_at.isoformat()}: stock count; ships after it"
    ]


def test_a_closing_location_alone_with_the_stock_promises_after_the_closure():
    closing = Candidate(id=1, code="EAST", priority=1, outages=(STOCK_COUNT,))
    plan = plan_for([line()], [closing, WEST], {(10, 1): 5},
                    service=ServiceTerms(code="ground", transit_days=2))
    assert placed(plan) == [(1, "EAST", 1)]
    assert plan.promise() == (AFTER_STOCK_COUNT, date(2026, 3, 18))
    assert plan.explain()["promised_ship_date"] == "2026-03-16"


def test_a_location_closed_past_the_horizon_is_rejected():
    season = Outage(starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=90),
                    reason="closed for the season")
    closed = Candidate(id=1, code="EAST", priority=1, outages=(season,))
    plan = plan_for([line()], [closed, WEST], {(10, 1): 5})
    assert plan.allocations == [] and plan.short == {1: 1}
    assert plan.report_for(1).rejected == [
        f"closed until {season.ends_at.isoformat()}: closed for the season"
    ]
    unchecked = plan_for([line()], [closed, WEST], {(10, 1): 5}, Rules(check_outages=False))
    assert placed(unchecked) == [(1, "EAST", 1)]
    assert unchecked.promise()[0] == date(2026, 6, 2)


def test_a_closure_that_leaves_the_ship_date_alone_changes_nothing():
    lunch = Outage(starts_at=NOW + timedelta(hours=2), ends_at=NOW + timedelta(hours=3))
    open_after = Candidate(id=1, code="EAST", priority=1, outages=(lunch,))
    plan = plan_for([line()], [open_after, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "EAST", 1)]
    assert plan.report_for(1).ship_date == date(2026, 3, 4)
    assert plan.report_for(1).notes == []


def test_a_closure_past_the_cutoff_moves_the_ship_date_to_the_next_day():
    lunch = Outage(starts_at=NOW + timedelta(hours=2), ends_at=NOW + timedelta(hours=3))
    cutoff_before_noon = Candidate(id=1, code="EAST", priority=1, cutoff_time=time(11, 30),
                               outages=(lunch,))
    plan = plan_for([line()], [cutoff_before_noon, WEST], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).ship_date == date(2026, 3, 5)


def test_closures_back_to_back_move_the_ship_date_past_both():
    first = Outage(starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=1))
    second = Outage(starts_at=NOW + timedelta(days=1, hours=1), ends_at=NOW + timedelta(days=5))
    closing = Candidate(id=1, code="EAST", priority=1, outages=(first, second))
    plan = plan_for([line()], [closing], {(10, 1): 5})
    assert placed(plan) == [(1, "EAST", 1)]
    assert plan.promise()[0] == date(2026, 3, 9)


def test_without_the_outage_rule_a_closing_location_keeps_its_rank_but_not_a_false_promise():
    closing = Candidate(id=1, code="EAST", priority=1, outages=(STOCK_COUNT,))
    plan = plan_for([line()], [closing, WEST], {(10, 1): 5, (10, 2): 5},
                    Rules(check_outages=False))
    assert placed(plan) == [(1, "EAST", 1)]
    assert plan.promise()[0] == AFTER_STOCK_COUNT


def test_earliest_promise_counts_the_closure():
    closing = Candidate(id=1, code="EAST", priority=1, outages=(STOCK_COUNT,))
    slow = Candidate(id=2, code="WEST", priority=2, handling_days=3)
    rules = Rules(strategies=("earliest_promise", "priority"), check_outages=False)
    plan = plan_for([line()], [closing, slow], {(10, 1): 5, (10, 2): 5}, rules,
                    service=ServiceTerms(code="ground", transit_days=2))
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.promise() == (date(2026, 3, 9), date(2026, 3, 11))


def test_destination_country_and_region_filter():
    canada_only = Candidate(id=1, code="EAST", priority=1, ships_to=frozenset({"CA"}))
    nevada = Candidate(id=2, code="WEST", priority=2, ships_to=frozenset({"US-NV"}))
    plan = plan_for([line()], [canada_only, nevada], {(10, 1): 5, (10, 2): 5})
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).rejected == ["does not ship to US"]


def test_pickup_ignores_destination_and_only_uses_the_chosen_store():
    store = Candidate(id=3, code="STORE", ships_to=frozenset({"CA"}), is_pickup=True)
    plan = plan_for([line()], [store], {(10, 3): 1, (10, 1): 9})
    assert placed(plan) == [(1, "STORE", 1)]
    assert plan.report_for(3).delivery_date == plan.report_for(3).ship_date


def test_excluded_and_preferred_locations():
    rules = Rules(excluded_locations=frozenset({"EAST"}))
    plan = plan_for([line()], [EAST, WEST], {(10, 1): 5, (10, 2): 5}, rules)
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.report_for(1).rejected == ["excluded by the channel's rules"]
    preferred = plan_for([line()], [EAST, WEST], {(10, 1): 5, (10, 2): 5},
                         Rules(preferred_locations=("WEST",)))
    assert placed(preferred) == [(1, "WEST", 1)]


def test_earliest_promise_prefers_the_faster_location():
    slow = Candidate(id=1, code="EAST", priority=1, handling_days=3)
    rules = Rules(strategies=("earliest_promise", "priority"))
    plan = plan_for([line()], [slow, WEST], {(10, 1): 5, (10, 2): 5}, rules,
                    service=ServiceTerms(code="ground", transit_days=2))
    assert placed(plan) == [(1, "WEST", 1)]
    assert plan.promise() == (date(2026, 3, 4), date(2026, 3, 6))


def test_two_lines_of_one_product_share_the_stock():
    plan = plan_for([line(1, 10, 2), line(2, 10, 2)], [EAST], {(10, 1): 3})
    assert placed(plan) == [(1, "EAST", 2), (2, "EAST", 1)]
    assert plan.short == {2: 1}


def test_explanation_lists_every_candidate():
    plan = plan_for([line()], [EAST, WEST], {(10, 1): 5})
    explanation = plan.explain()
    assert explanation["locations"] == ["EAST"]
    assert [c["location"] for c in explanation["candidates"]] == ["EAST", "WEST"]
    assert explanation["candidates"][1]["rejected"] == ["no usable stock for this order"]
    assert explanation["promised_ship_date"] == "2026-03-04"


def test_ship_date_after_cutoff_and_over_weekend():
    friday_evening = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)  # 15:00 in Los Angeles
    assert ship_date(now=friday_evening, timezone_name="America/Los_Angeles",
                     cutoff_time=time(14, 0), handling_days=0) == date(2026, 3, 9)
    assert ship_date(now=friday_evening, timezone_name="America/Los_Angeles",
                     cutoff_time=time(16, 0), handling_days=1) == date(2026, 3, 9)
    assert ship_date(now=friday_evening, timezone_name="Not/AZone",
                     cutoff_time=None, handling_days=0) == date(2026, 3, 6)
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert ship_date(now=saturday, timezone_name="UTC", cutoff_time=None,
                     handling_days=2) == date(2026, 3, 11)
    assert delivery_date(shipped_on=date(2026, 3, 6), transit_days=2) == date(2026, 3, 10)


def test_rules_problems_refuse_contradictions_and_unknown_locations():
    problems = rules_problems(
        strategies=["priority", "priority", "cheapest"],
        excluded_locations=["EAST", "NOPE"],
        preferred_locations=["EAST"],
        known_locations=["EAST", "WEST"],
        channel_locations=["EAST"],
    )
    assert problems == {
        "strategies": [
            "Unknown strategy 'cheapest'. Use: priority, nearest, fewest_shipments, most_stock, "
            "earliest_promise.",
            "Strategy 'priority' is listed 2 times.",
        ],
        "excluded_locations": [
            "Unknown location 'NOPE'.",
            "These rules exclude every location of the channel.",
        ],
        "preferred_locations": ["Location 'EAST' is both preferred and excluded."],
    }
    assert rules_problems(strategies=[], excluded_locations=[], preferred_locations=[],
                          known_locations=[]) == {
        "strategies": ["Choose at least one ranking strategy."]
    }


STRATEGY_NAMES = ["priority", "nearest", "fewest_shipments", "most_stock", "earliest_promise"]


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 6), st.sampled_from(["standard", "hazmat"])),
        min_size=1, max_size=5,
    ),
    stock=st.dictionaries(
        st.tuples(st.integers(1, 4), st.integers(1, 5)), st.integers(-2, 8), max_size=20
    ),
    strategies=st.lists(st.sampled_from(STRATEGY_NAMES), min_size=1, max_size=5, unique=True),
    allow_split=st.booleans(),
    max_shipments=st.integers(1, 4),
    capacity_full=st.sets(st.integers(1, 5)),
)
def test_plan_never_oversells_and_reports_exactly_what_is_short(
    lines, stock, strategies, allow_split, max_shipments, capacity_full
):
    freight = {}
    demand = []
    for index, (product, quantity, freight_class) in enumerate(lines):
        freight_class = freight.setdefault(product, freight_class)
        demand.append(line(index, product, quantity, freight_class))
    candidates = [
        Candidate(id=i, code=f"L{i}", priority=10 - i, latitude=30 + i, longitude=-100 + i,
                  accepted_freight_classes=frozenset({"hazmat"}) if i % 2 else frozenset(),
                  daily_capacity=1 if i in capacity_full else None, routed_today=1)
        for i in range(1, 6)
    ]
    rules = Rules(strategies=tuple(strategies), allow_split=allow_split,
                  max_shipments=max_shipments)
    plan = plan_for(demand, candidates, stock, rules)
    taken = {}
    for allocation in plan.allocations:
        assert allocation.quantity > 0
        key = (allocation.product_id, allocation.location_id)
        taken[key] = taken.get(key, 0) + allocation.quantity
    for key, units in taken.items():
        assert units <= max(stock.get(key, 0), 0), f"took {units} of {key}, only {stock.get(key)}"
        location = next(c for c in candidates if c.id == key[1])
        assert location.id not in capacity_full, "used a location whose capacity is full"
        if freight[key[0]] == "hazmat":
            assert "hazmat" in location.accepted_freight_classes
    per_line = {}
    for allocation in plan.allocations:
        per_line[allocation.line_key] = per_line.get(allocation.line_key, 0) + allocation.quantity
    for demand_line in demand:
        got = per_line.get(demand_line.key, 0)
        assert got + plan.short.get(demand_line.key, 0) == demand_line.quantity
    assert all(units > 0 for units in plan.short.values())
    limit = max_shipments if allow_split else 1
    assert len(plan.location_ids) <= max(limit, 1)
    # Covering the whole demand from one location is always found when possible.
    usable_single = [
        c for c in candidates if c.id not in capacity_full and all(
            max(stock.get((d.product_id, c.id), 0), 0) >= sum(
                x.quantity for x in demand if x.product_id == d.product_id)
            and (freight[d.product_id] == "standard" or "hazmat" in c.accepted_freight_classes)
            for d in demand
        )
    ]
    if usable_single:
        assert plan.is_complete and len(plan.location_ids) == 1


def test_explanation_states_the_stock_seen_when_routed_even_after_it_changes():
    available = {(10, 1): 5, (10, 2): 5}
    plan = plan_for([line(quantity=2)], [EAST, WEST], available)
    available[(10, 1)] = 0
    available[(10, 2)] = 0
    assert placed(plan) == [(1, "EAST", 2)]
    assert [(c.code, c.coverable_units, c.rank, c.chosen) for c in plan.candidates] == [
        ("EAST", 2, 1, True),
        ("WEST", 2, 2, False),
    ]


def test_negative_quantity_is_refused():
    with pytest.raises(ValueError, match="negative quantity"):
        plan_for([line(quantity=-1)], [EAST], {(10, 1): 5})


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.sampled_from(["standard", "hazmat"])),
        min_size=1, max_size=4,
    ),
    stock=st.dictionaries(
        st.tuples(st.integers(1, 4), st.integers(1, 6)), st.integers(0, 6), max_size=20
    ),
    strategies=st.lists(st.sampled_from(STRATEGY_NAMES), min_size=1, max_size=5, unique=True),
    max_shipments=st.integers(1, 4),
    full=st.sets(st.integers(1, 6)),
)
def test_explanation_agrees_with_the_decision(lines, stock, strategies, max_shipments, full):
    freight = {}
    demand = [
        line(index, product, quantity, freight.setdefault(product, freight_class))
        for index, (product, quantity, freight_class) in enumerate(lines)
    ]
    candidates = [
        Candidate(id=i, code=f"L{i}", priority=i % 3, latitude=30 + i, longitude=-100 - i,
                  accepted_freight_classes=frozenset({"hazmat"}) if i % 2 else frozenset(),
                  daily_capacity=1 if i in full else None, routed_today=1)
        for i in range(1, 7)
    ]
    rules = Rules(strategies=tuple(strategies), max_shipments=max_shipments)
    plan = plan_for(demand, candidates, stock, rules)
    reports = {report.location_id: report for report in plan.candidates}
    assert list(reports) == [candidate.id for candidate in candidates]
    for location_id in plan.location_ids:
        assert reports[location_id].chosen and not reports[location_id].rejected
        assert reports[location_id].rank is not None
    for report in plan.candidates:
        assert report.chosen == (report.location_id in plan.location_ids)
    total = sum(demand_line.quantity for demand_line in demand)
    fillers = [r for r in plan.candidates if not r.rejected and r.coverable_units == total]
    if fillers:
        best = min(fillers, key=lambda report: report.rank)
        assert plan.location_ids == [best.location_id]


def closed_all_along(outages, start: datetime, end: datetime) -> bool:
    """Whether the outages leave no moment of [start, end) open."""
    for outage in sorted(outages, key=lambda outage: outage.starts_at):
        if outage.starts_at > start:
            break
        start = max(start, outage.ends_at)
    return start >= end


@settings(max_examples=200, deadline=None)
@given(
    quantities=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4)), min_size=1, max_size=3),
    stock=st.dictionaries(
        st.tuples(st.integers(1, 3), st.integers(1, 5)), st.integers(0, 6), max_size=15
    ),
    closures=st.dictionaries(
        st.integers(1, 5),
        # (hours from NOW to the start, hours it lasts): some under way, some far ahead.
        st.lists(st.tuples(st.integers(-30, 24 * 40), st.integers(1, 24 * 40)), max_size=3),
    ),
    zones=st.lists(st.sampled_from(["UTC", "America/Los_Angeles", "Asia/Tokyo"]),
                   min_size=5, max_size=5),
    strategies=st.lists(st.sampled_from(STRATEGY_NAMES), min_size=1, max_size=5, unique=True),
    check_outages=st.booleans(),
)
def test_no_ship_date_falls_inside_a_closure_and_open_locations_go_first(
    quantities, stock, closures, zones, strategies, check_outages
):
    from zoneinfo import ZoneInfo

    demand = [line(index, product, quantity) for index, (product, quantity) in
              enumerate(quantities)]
    candidates = [
        Candidate(
            id=i, code=f"L{i}", priority=i, latitude=30 + i, longitude=-100 - i,
            timezone=zones[i - 1], cutoff_time=time(15, 0) if i % 2 else None,
            handling_days=i % 3,
            outages=tuple(
                Outage(starts_at=NOW + timedelta(hours=start),
                       ends_at=NOW + timedelta(hours=start + hours))
                for start, hours in closures.get(i, ())
            ),
        )
        for i in range(1, 6)
    ]
    rules = Rules(strategies=tuple(strategies), check_outages=check_outages)
    plan = plan_for(demand, candidates, stock, rules, service=ServiceTerms("ground", 2))
    by_id = {candidate.id: candidate for candidate in candidates}

    def delayed(report) -> bool:
        candidate = by_id[report.location_id]
        return report.ship_date > ship_date(
            now=NOW, timezone_name=candidate.timezone, cutoff_time=candidate.cutoff_time,
            handling_days=candidate.handling_days,
        )

    for report in plan.candidates:
        if report.ship_date is None:
            continue
        zone = ZoneInfo(by_id[report.location_id].timezone)
        day_starts = datetime.combine(report.ship_date, time(0), tzinfo=zone)
        day_ends = datetime.combine(report.ship_date + timedelta(days=1), time(0), tzinfo=zone)
        assert not closed_all_along(
            by_id[report.location_id].outages, max(NOW, day_starts), day_ends
        ), f"{report.code} promised to ship on {report.ship_date}, a day it is closed"
    if not check_outages:
        return
    for location_id in plan.location_ids:
        assert not any(
            outage.starts_at <= NOW < outage.ends_at for outage in by_id[location_id].outages
        ), f"L{location_id} was used while paused"
    total = sum(demand_line.quantity for demand_line in demand)
    fillers = [r for r in plan.candidates if not r.rejected and r.coverable_units == total]
    if any(not delayed(report) for report in fillers):
        assert len(plan.location_ids) == 1
        assert not delayed(plan.report_for(plan.location_ids[0])), (
            "a location a closure delays was chosen over one that ships on time"
        )
