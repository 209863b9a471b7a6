"""B1: order capture under concurrency, until the hot stock sells out, against its peers.

Workload (seeded): 16 client processes POST orders of 1-4 lines (quantity 1-3 each), 80% of
the lines on 20 hot SKUs stocked in 3 warehouses (full: 150 units per row, quick: 15), the rest
on 200 cold SKUs with ample stock; payment captured, so each order allocates at once; the
channel rejects short orders (409 `insufficient_stock`). Clients stop when the hot stock is
sold out, that is at most 1% of it is still free (or the order list, 3x the
hot stock, is spent). The server is gunicorn
(`bench.orders_wsgi`, 4 sync workers, DEBUG off) on a bench database; after-commit tasks go
to a Redis database nobody consumes (as in production, where a worker would).

Implementations, interleaved (ours, raw, minimal view, ours, ...), each from the same seeded
start:

- ours: `POST /api/v1/orders/` (API key, Idempotency-Key, the whole order service);
- raw (ceiling): 16 processes running `bench.orders_setup.order_place_sql` over psycopg;
- minimal view (ceiling): the same SQL behind a plain Django view under the same gunicorn;
- negative control (once): read-check-save without locks, which must fail the oversell check.

Checks after every sample: no stock row has more units reserved than on hand; allocated equals
the reservations and the ledger on every row and the order-line allocations in total; every
committed order is fully allocated and in the database (no lost rows); zero 5xx.

    python -m bench.b1_order_capture [--quick] [--pairs 3] [--database oms_bench_b1]
    python -m bench.b1_order_capture --quick --profile 200   # where ours spends its time
"""

import argparse
import cProfile
import json
import sys
import time
from collections import Counter

import psycopg

from bench.orders_setup import (
    Gunicorn,
    allocation_checks,
    checks_pass,
    cold_sku_names,
    database_create,
    database_drop,
    database_url,
    django_setup,
    hot_sku_names,
    load_run,
    order_bodies,
    percentile,
    profile_report,
    redis_broker,
    redis_flush,
    reset,
    seed,
    spread,
    sql_context,
)

SEED = 20260311
HOT_SKUS, COLD_SKUS, HOT_SHARE, LINES = 20, 200, 0.8, (1, 4)
EXPECTED_HOT_UNITS_PER_ORDER = (sum(LINES) / 2) * HOT_SHARE * 2
TARGETS = {
    "ours_vs_raw_min": 0.25,
    "ours_vs_minimal_view_min": 0.6,
    "p99_vs_minimal_view_max": 2.0,
    "oversell": 0,
    "server_errors": 0,
}


def sample_summary(outcome: dict, checks: dict) -> dict:
    statuses = outcome["statuses"]
    server_errors = sum(
        count
        for status, count in statuses.items()
        if status.startswith("5") or status.startswith("error")
    )
    return {
        "orders_per_second": outcome["committed"] / outcome["elapsed"],
        "committed": outcome["committed"],
        "rejected": statuses.get("409", 0),
        "sent": outcome["sent"],
        "elapsed_s": round(outcome["elapsed"], 3),
        "sold_out_at_s": (
            round(outcome["sold_out_at"], 3) if outcome["sold_out_at"] is not None else None
        ),
        "p50_ms": round(percentile(outcome["latencies"], 0.50) * 1000, 1),
        "p99_ms": round(percentile(outcome["latencies"], 0.99) * 1000, 1),
        "server_errors": server_errors,
        "mean_sessions_waiting_on_locks": outcome["mean_sessions_waiting_on_locks"],
        "mean_active_sessions": outcome["mean_active_sessions"],
        "statuses": statuses,
        "checks": checks,
        "correct": checks_pass(checks, outcome["committed"]) and server_errors == 0,
    }


def run_profile(count: int, key: str, bodies: list[dict]) -> dict:
    """Place orders in process through the real endpoint, one at a time, and say where the
    time goes: the first half timed (wall, this process's CPU, database round trips, how long
    the stock rows stay locked: first stock UPDATE to commit), the second half under cProfile
    on the CPU clock (hot spots to stderr)."""
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from oms_project.runtime import gc_tune

    gc_tune()  # as in a server process (oms_project.wsgi)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    lock: dict = {}

    def stock_lock_timer(execute, sql, params, many, context):
        text = sql.replace('"', "") if isinstance(sql, str) else ""
        takes_stock_lock = text.startswith("UPDATE inventory_stocklevel") or (
            "FOR UPDATE" in text and "inventory_stocklevel" in text
        )
        if "start" not in lock and takes_stock_lock:
            lock["start"], lock["queries"] = time.perf_counter(), len(connection.queries_log)
            transaction.on_commit(
                lambda: lock.update(
                    end=time.perf_counter(), queries_end=len(connection.queries_log)
                )
            )
        return execute(sql, params, many, context)

    def post(index: int, body: dict):
        return client.post(
            "/api/v1/orders/",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"profile-{index}",
        )

    timed = bodies[: count // 2]
    walls, cpus, database, held, held_queries, queries, statuses = [], [], [], [], [], [], []
    for index, body in enumerate(timed):
        lock.clear()
        connection.queries_log.clear()
        began, cpu_began = time.perf_counter(), time.process_time()
        with (
            CaptureQueriesContext(connection) as captured,
            connection.execute_wrapper(stock_lock_timer),
        ):
            response = post(index, body)
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu_began)
        database.append(sum(float(query["time"]) for query in captured.captured_queries))
        queries.append(len(captured.captured_queries))
        statuses.append(response.status_code)
        if "end" in lock:
            held.append(lock["end"] - lock["start"])
            held_queries.append(lock["queries_end"] - lock["queries"])
    statements = Counter(
        # A statement prepared by the allocation has no text in Django's capture.
        " ".join((query["sql"] or "(prepared statement)").split()[:6])[:90]
        for query in captured.captured_queries
    )
    print(f"Queries of the last order ({sum(statements.values())}):", file=sys.stderr)
    for statement, times in statements.most_common():
        print(f"{times:4d}  {statement}", file=sys.stderr)
    # Timed by this process's CPU clock: waits on the database do not count as hot spots.
    profiler = cProfile.Profile(time.process_time)
    for index, body in enumerate(bodies[count // 2 : count], start=len(timed)):
        profiler.enable()
        statuses.append(post(index, body).status_code)
        profiler.disable()
    profile_report(profiler, "b1-orders", 40)

    def milliseconds(values: list[float]) -> dict:
        return spread([value * 1000 for value in values]) | {"samples": None}

    return {
        "orders": count,
        "timed_orders": len(timed),
        "wall_ms_per_order": milliseconds(walls),
        "process_cpu_ms_per_order": milliseconds(cpus),
        "database_round_trips_ms_per_order": milliseconds(database),
        "stock_rows_locked_ms": milliseconds(held),
        "queries_while_stock_rows_locked": spread([float(value) for value in held_queries]),
        "queries_per_order": spread([float(value) for value in queries]) | {"samples": None},
        "statuses": {str(status): statuses.count(status) for status in set(statuses)},
    }


def main(arguments) -> int:
    hot_units = 15 if arguments.quick else 150
    hot_total = hot_units * HOT_SKUS * 3
    order_count = int(hot_total / EXPECTED_HOT_UNITS_PER_ORDER * 3)
    url = database_url(arguments.database)
    database_create(arguments.database)
    django_setup(url)
    seeded = seed(hot_skus=HOT_SKUS, cold_skus=COLD_SKUS, hot_units=hot_units, cold_units=1_000_000)
    hot, cold = hot_sku_names(HOT_SKUS), cold_sku_names(COLD_SKUS)
    bodies = order_bodies(
        count=order_count,
        seed_value=SEED,
        prefix="B1",
        hot=hot,
        cold=cold,
        hot_share=HOT_SHARE,
        lines_range=LINES,
        customers=order_count // 2,
    )
    if arguments.profile:
        profile_bodies = order_bodies(
            count=arguments.profile,
            seed_value=SEED + 1,
            prefix="P",
            hot=hot,
            cold=cold,
            hot_share=0.0,
            lines_range=LINES,
            customers=arguments.profile // 2,
        )
        result = {
            "benchmark": "B1",
            "profile": run_profile(arguments.profile, seeded["key"], profile_bodies),
        }
        print(json.dumps(result))
        if not arguments.keep:
            database_drop(arguments.database)
        return 0
    broker = redis_broker(arguments.redis_db)
    server = Gunicorn(url=url, workers=arguments.workers, broker=broker)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        context = sql_context(cursor)
    targets = {
        "ours": ("http", {"port": server.port, "path": "/api/v1/orders/", "key": seeded["key"]}),
        "raw": ("raw", {"url": url, "context": context}),
        "minimal_view": (
            "http",
            {"port": server.port, "path": "/bench/orders/minimal/", "key": seeded["key"]},
        ),
        "negative_control": (
            "http",
            {"port": server.port, "path": "/bench/orders/unlocked/", "key": seeded["key"]},
        ),
    }

    def run(name: str, order_bodies_to_send: list[dict], hot_ids: list[int]) -> dict:
        reset(url)
        kind, target = targets[name]
        outcome = load_run(
            kind=kind,
            bodies=order_bodies_to_send,
            clients=arguments.clients,
            target=target,
            monitor_url=url,
            hot_product_ids=hot_ids,
            time_limit=arguments.time_limit,
            sold_out_units=max(1, hot_total // 100) if hot_ids else 0,
        )
        return sample_summary(outcome, allocation_checks(url))

    samples: dict[str, list[dict]] = {"ours": [], "raw": [], "minimal_view": []}
    try:
        warm = order_bodies(
            count=8 * arguments.workers,
            seed_value=SEED + 2,
            prefix="W",
            hot=hot,
            cold=cold,
            hot_share=0.0,
            lines_range=LINES,
            customers=50,
        )
        for name in ("ours", "minimal_view", "negative_control"):
            run(name, warm, [])
        for _pair in range(arguments.pairs):
            for name in samples:
                samples[name].append(run(name, bodies, seeded["hot_product_ids"]))
                print(
                    f"{name}: {samples[name][-1]['orders_per_second']:.1f} orders/s, "
                    f"p99 {samples[name][-1]['p99_ms']} ms",
                    file=sys.stderr,
                )
        negative = run("negative_control", bodies, seeded["hot_product_ids"])
    finally:
        server.stop()
        redis_flush(broker)
        if not arguments.keep:
            database_drop(arguments.database)

    rates = {name: [item["orders_per_second"] for item in items] for name, items in samples.items()}
    p99 = {name: [item["p99_ms"] for item in items] for name, items in samples.items()}
    ratios = {
        "ours_vs_raw": spread([a / b for a, b in zip(rates["ours"], rates["raw"], strict=True)], 3),
        "ours_vs_minimal_view": spread(
            [a / b for a, b in zip(rates["ours"], rates["minimal_view"], strict=True)], 3
        ),
        "p99_ours_vs_minimal_view": spread(
            [a / b for a, b in zip(p99["ours"], p99["minimal_view"], strict=True)], 3
        ),
    }
    failed = [
        f"{name}#{index}"
        for name, items in samples.items()
        for index, item in enumerate(items)
        if not item["correct"]
    ]
    negative_detected = not checks_pass(negative["checks"], negative["committed"])
    result = {
        "benchmark": "B1",
        "mode": "quick" if arguments.quick else "full",
        "workload": {
            "clients": arguments.clients,
            "gunicorn_workers": arguments.workers,
            "hot_skus": HOT_SKUS,
            "warehouses": 3,
            "hot_units_per_row": hot_units,
            "hot_units": hot_total,
            "sold_out_when_free_hot_units_at_most": max(1, hot_total // 100),
            "cold_skus": COLD_SKUS,
            "hot_line_share": HOT_SHARE,
            "lines_per_order": list(LINES),
            "orders_available": order_count,
            "pairs": arguments.pairs,
            "broker": broker.split("://")[0],
        },
        "samples": samples,
        "orders_per_second": {name: spread(values) for name, values in rates.items()},
        "p99_ms": {name: spread(values) for name, values in p99.items()},
        "ratios": ratios,
        "targets": TARGETS,
        "meets_targets": {
            "ours_vs_raw": ratios["ours_vs_raw"]["median"] >= TARGETS["ours_vs_raw_min"],
            "ours_vs_minimal_view": (
                ratios["ours_vs_minimal_view"]["median"] >= TARGETS["ours_vs_minimal_view_min"]
            ),
            "p99": (
                ratios["p99_ours_vs_minimal_view"]["median"] <= TARGETS["p99_vs_minimal_view_max"]
            ),
        },
        "negative_control": {**negative, "oversell_detected": negative_detected},
        "failed_samples": failed,
        "correct": not failed and negative_detected,
    }
    print(json.dumps(result))
    if failed:
        print(f"B1 correctness check failed: {failed}", file=sys.stderr)
        return 1
    if not negative_detected:
        print(
            "B1 negative control passed the oversell check: the check proves nothing",
            file=sys.stderr,
        )
        return 1
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 hot units per row, not 150")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per sample")
    parser.add_argument("--database", default="oms_bench_b1")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="only profile this many in-process orders (cold SKUs)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main(parse_arguments()))
