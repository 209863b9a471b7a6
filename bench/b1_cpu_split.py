"""Where the machine's CPU goes per order of B1's kind: gunicorn workers, PostgreSQL, Redis.

B1 is CPU-bound on a 2-core machine (16 clients, 4 gunicorn workers and PostgreSQL share it),
so its throughput follows the CPU each order costs. This sends the same cold-SKU orders (no
sell-out, no 409s) to our endpoint and to B1's minimal view, one after the other under the same
gunicorn, and reads every process's CPU time from /proc before and after: CPU milliseconds per
committed order, grouped as gunicorn (all workers), postgres (all backends), redis, and the rest.
Linux only.

    python -m bench.b1_cpu_split [--orders 1000]
"""

import argparse
import json
import os
import sys
import time

from bench import orders_setup as setup

PATHS = {"ours": "/api/v1/orders/", "minimal_view": "/bench/orders/minimal/"}


def process_cpu() -> dict[str, tuple[str, float]]:
    """{pid: (group, CPU seconds so far)} for every process on the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline", "rb") as cmd:
                text = stat.read()
                command = cmd.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if "gunicorn" in command:
            group = "gunicorn"
        elif name.startswith("postgres"):
            group = "postgres"
        elif "redis" in name:
            group = "redis"
        else:
            group = "other"
        found[pid] = (group, seconds)
    return found


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    spent: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        spent[group] = spent.get(group, 0.0) + seconds - before.get(pid, (group, 0.0))[1]
    return spent


def main(arguments) -> int:
    url = setup.database_url(arguments.database)
    setup.database_create(arguments.database)
    setup.django_setup(url)
    seeded = setup.seed(hot_skus=20, cold_skus=200, hot_units=15, cold_units=1_000_000)
    hot, cold = setup.hot_sku_names(20), setup.cold_sku_names(200)
    broker = setup.redis_broker(arguments.redis_db)
    server = setup.Gunicorn(url=url, workers=4, broker=broker)
    results = {}
    try:
        for number, (name, path) in enumerate(PATHS.items()):
            target = {"port": server.port, "path": path, "key": seeded["key"]}

            def bodies(count: int, prefix: str, seed_value: int) -> list[dict]:
                return setup.order_bodies(
                    count=count,
                    seed_value=seed_value,
                    prefix=prefix,
                    hot=hot,
                    cold=cold,
                    hot_share=0.0,
                    lines_range=(1, 4),
                    customers=max(count // 2, 1),
                )

            warm = bodies(32, f"W{number}", 100 + number)
            setup.load_run(
                kind="http",
                bodies=warm,
                clients=16,
                target=target,
                monitor_url=url,
                hot_product_ids=[],
                time_limit=60,
            )
            before, began = process_cpu(), time.perf_counter()
            outcome = setup.load_run(
                kind="http",
                bodies=bodies(arguments.orders, f"C{number}", number),
                clients=16,
                target=target,
                monitor_url=url,
                hot_product_ids=[],
                time_limit=300,
            )
            elapsed, spent = time.perf_counter() - began, cpu_spent(before, process_cpu())
            committed = outcome["committed"]
            results[name] = {
                "committed": committed,
                "orders_per_second": round(committed / outcome["elapsed"], 1),
                "statuses": outcome["statuses"],
                "cpu_ms_per_order": {
                    group: round(seconds * 1000 / committed, 2)
                    for group, seconds in sorted(spent.items())
                },
                "machine_cpu_ms_per_order_available": round(
                    (os.cpu_count() or 1) * elapsed * 1000 / committed, 2
                ),
            }
            print(f"{name}: {results[name]}", file=sys.stderr)
    finally:
        server.stop()
        setup.redis_flush(broker)
        setup.database_drop(arguments.database)
    print(json.dumps({"benchmark": "B1 CPU split", "orders": arguments.orders, **results}))
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--database", default="oms_bench_b1_cpu")
    parser.add_argument("--redis-db", type=int, default=12)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main(parse_arguments()))
