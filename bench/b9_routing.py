"""B9: routing decisions per second with every rule kind on, against priority-only routing.

Workload (seeded): full 10,000 orders, quick 1,000; 1-5 lines each over 400 SKUs (5% hazmat,
3% oversize) and 50 locations spread over the United States and Canada with priorities,
coordinates, time zones and cutoffs, handling days, freight acceptance (a third take hazmat,
half take oversize), destination lists (a fifth ship to one country only), daily capacities
(a third) and outages (three paused now, three later). Destinations come from 300 postal
points. Stock is drawn per location; each run starts from the same stock and takes what it
routes, so later orders see less, and capacity counts grow as orders land.

Implementations, interleaved (ours, peer, ours, peer, ...), each from the same start:

- ours: `warehouses.routing.route` with every filter on and the ranking
  nearest > earliest_promise > fewest_shipments > most_stock > priority, splits up to 3;
- peer (priority-only, "first location with stock"): the first location in priority order
  holding the whole order, else units taken location by location in priority order.

Both are pure Python over the same in-memory inputs (no database: the figure is the engine).

Checks: every plan of ours never takes more than is available, covers each line or reports
exactly what is short, never uses a location that is paused, full, does not ship to the
destination or does not accept a product's freight class, and uses at most 3 locations; our
engine with priority-only rules and no filters makes the same choices as the peer wherever one
location fills the order (identical output); negative control: the peer's plans, checked
against the rules, must break them (proving the rule checks can fail).

    python -m bench.b9_routing [--quick] [--pairs 3]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
django.setup()

from warehouses.routing import (  # noqa: E402
    Candidate,
    DemandLine,
    Destination,
    Outage,
    Rules,
    ServiceTerms,
    route,
)

SEED = 20260309
LOCATIONS = 50
SKUS = 400
TARGET_RATIO = 0.3
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
ALL_RULES = Rules(
    strategies=("nearest", "earliest_promise", "fewest_shipments", "most_stock", "priority"),
    allow_split=True,
    max_shipments=3,
)
PRIORITY_ONLY = Rules(
    strategies=("priority",), check_freight=False, check_destination=False,
    check_capacity=False, check_outages=False, allow_split=True, max_shipments=LOCATIONS,
)


def build(order_count: int):
    rng = random.Random(SEED)
    freight = {}
    for product in range(1, SKUS + 1):
        roll = rng.random()
        freight[product] = "hazmat" if roll < 0.05 else "oversize" if roll < 0.08 else "standard"
    candidates = []
    for index in range(1, LOCATIONS + 1):
        country = "CA" if index % 10 == 0 else "US"
        outages = ()
        if index in (3, 17, 29):
            outages = (Outage(NOW - timedelta(hours=1), NOW + timedelta(hours=5), "count"),)
        elif index in (5, 21, 40):
            outages = (Outage(NOW + timedelta(days=1), NOW + timedelta(days=2), "holiday"),)
        candidates.append(Candidate(
            id=index, code=f"L{index:02d}", priority=rng.randint(1, 100),
            latitude=rng.uniform(26, 55), longitude=rng.uniform(-124, -68),
            timezone=rng.choice(ZONES), cutoff_time=clock(rng.choice([12, 14, 16, 18])),
            handling_days=rng.choice([0, 0, 1, 2]),
            accepted_freight_classes=frozenset(
                {"hazmat"} if index % 3 == 0 else set()
            ) | frozenset({"oversize"} if index % 2 == 0 else set()),
            ships_to=frozenset({country}) if index % 5 == 0 else frozenset(),
            daily_capacity=rng.randint(order_count // 60 + 5, order_count // 15 + 10)
            if index % 3 == 1 else None,
            outages=outages,
        ))
    stock = {}
    for candidate in candidates:
        for product in rng.sample(range(1, SKUS + 1), SKUS // 3):
            stock[(product, candidate.id)] = rng.randint(1, 40)
    points = [(rng.choice(["US"] * 9 + ["CA"]), rng.uniform(26, 55), rng.uniform(-124, -68))
              for _ in range(300)]
    orders = []
    for _number in range(order_count):
        country, latitude, longitude = rng.choice(points)
        products = rng.sample(range(1, SKUS + 1), rng.randint(1, 5))
        orders.append((
            Destination(country=country, latitude=latitude, longitude=longitude),
            [DemandLine(key=i, product_id=p, sku=f"S{p}", quantity=rng.randint(1, 3),
                        freight_class=freight[p]) for i, p in enumerate(products)],
        ))
    return candidates, stock, orders


def first_with_stock(demand, candidates, available):
    """The users' pick: first location (priority order) holding the order, else greedy."""
    needs = defaultdict(int)
    for line in demand:
        needs[line.product_id] += line.quantity
    ordered = sorted(candidates, key=lambda c: (c.priority, c.code))
    for candidate in ordered:
        if all(available.get((p, candidate.id), 0) >= q for p, q in needs.items()):
            return {candidate.id: dict(needs)}
    taken, remaining = {}, dict(needs)
    for candidate in ordered:
        for product, quantity in list(remaining.items()):
            units = min(available.get((product, candidate.id), 0), quantity)
            if units > 0:
                taken.setdefault(candidate.id, {})[product] = units
                remaining[product] -= units
                if not remaining[product]:
                    del remaining[product]
        if not remaining:
            break
    return taken


def run_ours(candidates, stock, orders, rules=ALL_RULES):
    available, routed, plans = dict(stock), defaultdict(int), []
    current = list(candidates)
    position = {candidate.id: index for index, candidate in enumerate(candidates)}
    service = ServiceTerms("ground", 3, frozenset({"hazmat", "oversize"}))
    started = time.perf_counter()
    for destination, demand in orders:
        plan = route(demand=demand, destination=destination, candidates=current,
                     available=available, rules=rules, now=NOW, service=service)
        for allocation in plan.allocations:
            available[(allocation.product_id, allocation.location_id)] -= allocation.quantity
        for location_id in plan.location_ids:
            routed[location_id] += 1
            index = position[location_id]
            current[index] = _with_count(current[index], routed[location_id])
        plans.append(plan)
    return time.perf_counter() - started, plans


def _with_count(candidate, count):
    if candidate.daily_capacity is None:
        return candidate
    return replace(candidate, routed_today=count)


def run_peer(candidates, stock, orders):
    available, plans = dict(stock), []
    started = time.perf_counter()
    for _destination, demand in orders:
        taken = first_with_stock(demand, candidates, available)
        for location_id, products in taken.items():
            for product, units in products.items():
                available[(product, location_id)] -= units
        plans.append(taken)
    return time.perf_counter() - started, plans


def check_ours(candidates, stock, orders, plans) -> dict:
    by_id = {c.id: c for c in candidates}
    available, routed = dict(stock), defaultdict(int)
    problems = defaultdict(int)
    for (destination, demand), plan in zip(orders, plans, strict=True):
        per_line = defaultdict(int)
        for allocation in plan.allocations:
            key = (allocation.product_id, allocation.location_id)
            available[key] = available.get(key, 0) - allocation.quantity
            if available[key] < 0:
                problems["oversold"] += 1
            per_line[allocation.line_key] += allocation.quantity
        for line in demand:
            if per_line[line.key] + plan.short.get(line.key, 0) != line.quantity:
                problems["short_mismatch"] += 1
        problems["rule_violations"] += len(violations(
            by_id, destination, demand,
            {a.location_id: {a.product_id: a.quantity} for a in plan.allocations}, routed))
        if len(plan.location_ids) > ALL_RULES.max_shipments:
            problems["too_many_shipments"] += 1
        for location_id in plan.location_ids:
            routed[location_id] += 1
    return dict(problems)


def violations(by_id, destination, demand, taken, routed) -> list[str]:
    found = []
    freight = {line.product_id: line.freight_class for line in demand}
    for location_id, products in taken.items():
        location = by_id[location_id]
        if any(o.starts_at <= NOW < o.ends_at for o in location.outages):
            found.append("paused")
        if location.daily_capacity is not None and routed[location_id] >= location.daily_capacity:
            found.append("capacity")
        if location.ships_to and destination.country not in location.ships_to:
            found.append("destination")
        for product in products:
            if freight[product] != "standard" and (
                freight[product] not in location.accepted_freight_classes
            ):
                found.append("freight")
    return found


def check_identical(candidates, stock, orders) -> int:
    """Priority-only engine vs the peer on orders one location fills: same location."""
    _, engine_plans = run_ours(candidates, stock, orders, PRIORITY_ONLY)
    _, peer_plans = run_peer(candidates, stock, orders)
    differences = 0
    for plan, taken in zip(engine_plans, peer_plans, strict=True):
        if len(taken) == 1 and plan.location_ids != list(taken):
            differences += 1
    return differences


def negative_control(candidates, stock, orders) -> int:
    by_id = {c.id: c for c in candidates}
    _, peer_plans = run_peer(candidates, stock, orders)
    routed, broken = defaultdict(int), 0
    for (destination, demand), taken in zip(orders, peer_plans, strict=True):
        broken += bool(violations(by_id, destination, demand, taken, routed))
        for location_id in taken:
            routed[location_id] += 1
    return broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 orders instead of 10,000")
    parser.add_argument("--pairs", type=int, default=3)
    options = parser.parse_args()
    order_count = 1000 if options.quick else 10000
    candidates, stock, orders = build(order_count)
    ours, peer, problems = [], [], {}
    for _ in range(max(options.pairs, 3)):
        seconds, plans = run_ours(candidates, stock, orders)
        ours.append(order_count / seconds)
        problems = check_ours(candidates, stock, orders, plans)
        seconds, _ = run_peer(candidates, stock, orders)
        peer.append(order_count / seconds)
    ratios = [a / b for a, b in zip(ours, peer, strict=True)]
    splits = sum(len(plan.location_ids) > 1 for plan in plans)
    short_orders = sum(bool(plan.short) for plan in plans)
    checks = {
        "plan_problems": problems,
        "identical_priority_choices_differences": check_identical(candidates, stock, orders),
        "negative_control_peer_orders_breaking_rules": negative_control(
            candidates, stock, orders),
    }
    passed = (
        not any(problems.values())
        and checks["identical_priority_choices_differences"] == 0
        and checks["negative_control_peer_orders_breaking_rules"] > 0
    )
    ratio = statistics.median(ratios)
    print(json.dumps({
        "benchmark": "B9",
        "workload": {"orders": order_count, "locations": LOCATIONS, "skus": SKUS,
                     "lines_per_order": "1-5", "rules": list(ALL_RULES.strategies)
                     + ["freight", "destination", "capacity", "outages"]},
        "ours_decisions_per_second": [round(value) for value in ours],
        "peer_decisions_per_second": [round(value) for value in peer],
        "ratio": {"median": round(ratio, 3), "min": round(min(ratios), 3),
                  "max": round(max(ratios), 3), "target_min": TARGET_RATIO},
        "ours_splits": splits, "ours_orders_short": short_orders,
        "checks": checks, "checks_passed": passed, "target_met": ratio >= TARGET_RATIO,
    }))
    if not passed:
        print("B9 correctness check failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
