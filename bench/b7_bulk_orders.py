"""B7: bulk order creation, 500 orders x 3 lines per request, against its peers.

Workload (seeded): full 5,000 orders (10 requests), quick 500 (1 request); 3 lines each on
200 SKUs stocked in 3 warehouses with ample stock, payment captured (so every order
allocates), customers drawn from a pool of half as many. One client, one request at a time,
to gunicorn (`bench.orders_wsgi`, 4 sync workers, DEBUG off) on a bench database.

Implementations, interleaved (bulk, single, raw, bulk, ...), each from the same seeded start:

- ours: `POST /api/v1/orders/bulk/` with 500 orders and an Idempotency-Key per request;
- single POSTs: the same orders one by one to `POST /api/v1/orders/`;
- raw psycopg: per 500 orders one transaction of multi-row INSERTs (customers upserted,
  orders, lines, payments, reservations, ledger rows) and one conditional stock UPDATE, with
  the same allocation rule (`bench.orders_setup.plan_picks`).

Checks after every sample: every order created once (none lost, none extra), every result
201, every line fully allocated, allocated = reservations = ledger on every stock row, no row
reserved over on hand, and the orders identical across implementations (channel order id,
total, SKU, quantity and allocated units of every line).

    python -m bench.b7_bulk_orders [--quick] [--pairs 3] [--database oms_bench_b7]
    python -m bench.b7_bulk_orders --profile   # one 500-order request in process, cProfiled
"""

import argparse
import cProfile
import hashlib
import json
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal

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
    http_request,
    order_bodies,
    plan_picks,
    profile_report,
    redis_broker,
    redis_flush,
    reset,
    seed,
    spread,
    sql_context,
)

SEED = 20260317
BATCH = 500
SKUS = 200
TARGETS = {"bulk_vs_single_min": 10.0, "bulk_vs_raw_min": 0.3}


def run_bulk(port: int, key: str, bodies: list[dict]) -> dict:
    statuses: dict[str, int] = defaultdict(int)
    for start in range(0, len(bodies), BATCH):
        payload = json.dumps({"orders": bodies[start:start + BATCH]}).encode()
        status, content = http_request(port, "POST", "/api/v1/orders/bulk/", payload,
                                       _headers(key), timeout=1800)
        if status != 200:
            statuses[f"request:{status}"] += 1
            continue
        for item in json.loads(content)["results"]:
            statuses[str(item["status"])] += 1
    return dict(statuses)


def run_single(port: int, key: str, bodies: list[dict]) -> dict:
    statuses: dict[str, int] = defaultdict(int)
    for body in bodies:
        status, _content = http_request(port, "POST", "/api/v1/orders/",
                                        json.dumps(body).encode(), _headers(key))
        statuses[str(status)] += 1
    return dict(statuses)


def _headers(key: str) -> dict:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {key}",
            "Idempotency-Key": str(uuid.uuid4())}


def run_raw(url: str, context: dict, bodies: list[dict]) -> dict:
    """Each batch of 500 in one transaction of set-based INSERTs."""
    statuses: dict[str, int] = defaultdict(int)
    with psycopg.connect(url, autocommit=True) as connection:
        for start in range(0, len(bodies), BATCH):
            with connection.transaction(), connection.cursor() as cursor:
                created = _raw_batch(cursor, context, bodies[start:start + BATCH])
            statuses["201"] += created
    return dict(statuses)


def _values(rows: list[tuple], template: str) -> tuple[str, list]:
    return ", ".join([template] * len(rows)), [value for row in rows for value in row]


def _raw_batch(cursor, context: dict, batch: list[dict]) -> int:
    skus = sorted({line["sku"] for order in batch for line in order["lines"]})
    cursor.execute("SELECT sku, id, name FROM inventory_product WHERE sku = ANY(%s) AND is_active",
                   [skus])
    products = {sku: (product_id, name) for sku, product_id, name in cursor.fetchall()}
    cursor.execute(
        "SELECT product_id, warehouse_id, id, on_hand - allocated - safety_stock "
        "FROM inventory_stocklevel WHERE product_id = ANY(%s) AND warehouse_id = ANY(%s)",
        [[product_id for product_id, _name in products.values()], context["warehouse_ids"]])
    available = {(row[0], row[1]): (row[2], row[3]) for row in cursor.fetchall()}
    level_key = {level_id: key for key, (level_id, _free) in available.items()}
    plans, customers = [], {}
    for order in batch:
        lines = [(index, products[line["sku"]][0], line["quantity"])
                 for index, line in enumerate(order["lines"])]
        picks = plan_picks(lines, available, context["warehouse_ids"])
        if picks is None:
            raise RuntimeError(f"short stock for {order['channel_order_id']}")
        for _index, level_id, quantity in picks:
            key = level_key[level_id]
            available[key] = (level_id, available[key][1] - quantity)
        subtotal = sum((Decimal(line["unit_price"]) * line["quantity"]
                        for line in order["lines"]), Decimal("0.00"))
        total = subtotal + Decimal(order["shipping_total"]) + Decimal(order["tax_total"])
        plans.append((order, picks, subtotal, total))
        email = order["customer"]["email"].lower()
        count, value, first = customers.get(email, (0, Decimal("0"), order["customer"]))
        customers[email] = (count + 1, value + total, first)
    sql, params = _values(
        [(email, data.get("first_name", ""), data.get("last_name", ""), count, value)
         for email, (count, value, data) in sorted(customers.items())],
        "(%s, %s, %s, '', false, 'ground', 'card', '', %s, %s, now(), now(), now(), now())")
    cursor.execute(
        "INSERT INTO customers_customer (email, first_name, last_name, phone, accepts_marketing, "
        "preferred_shipping_method, preferred_payment_method, note, orders_count, lifetime_value, "
        "first_order_at, last_order_at, created_at, updated_at) VALUES " + sql
        + " ON CONFLICT ((lower(email))) DO UPDATE SET "
        "orders_count = customers_customer.orders_count + EXCLUDED.orders_count, "
        "lifetime_value = customers_customer.lifetime_value + EXCLUDED.lifetime_value, "
        "last_order_at = EXCLUDED.last_order_at, updated_at = now() RETURNING email, id", params)
    customer_ids = dict(cursor.fetchall())
    sql, params = _values(
        [(f"{context['prefix']}{order['channel_order_id']}"[:32], context["channel_id"],
          order["channel_order_id"], customer_ids[order["customer"]["email"].lower()],
          order["customer"]["email"].lower(), context["service_level_id"], order["currency"],
          subtotal, Decimal(order["shipping_total"]), Decimal(order["tax_total"]), total, total,
          order["payment"]["method"], json.dumps(order["shipping_address"]),
          json.dumps(order.get("attributes") or {}))
         for order, _picks, subtotal, total in plans],
        "(%s, %s, %s, %s, %s, 'processing', '', 'ship', %s, %s, %s, 0, %s, %s, %s, %s, 0, 0, %s, "
        "%s::jsonb, '{}'::jsonb, %s::jsonb, now(), now(), now())")
    cursor.execute(
        "INSERT INTO orders_order (number, channel_id, channel_order_id, customer_id, email, "
        "status, hold_reason, fulfillment_method, shipping_method_id, currency, subtotal, "
        "discount_total, shipping_total, tax_total, total, paid_total, refund_due, "
        "cancelled_total, payment_method, shipping_address, billing_address, attributes, "
        "placed_at, created_at, updated_at) VALUES " + sql + " RETURNING channel_order_id, id",
        params,
    )
    order_ids = dict(cursor.fetchall())
    line_rows = []
    for order, _picks, _subtotal, _total in plans:
        for line in order["lines"]:
            product_id, name = products[line["sku"]]
            price = Decimal(line["unit_price"])
            line_rows.append((order_ids[order["channel_order_id"]], product_id, line["sku"], name,
                              line["quantity"], line["quantity"], price,
                              price * line["quantity"]))
    sql, params = _values(line_rows, "(%s, %s, %s, %s, %s, %s, 0, 0, 0, %s, 0, %s)")
    cursor.execute(
        "INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, "
        "quantity_allocated, quantity_shipped, quantity_cancelled, quantity_returned, "
        "unit_price, discount, line_total) VALUES " + sql + " RETURNING id", params)
    line_ids = [row[0] for row in cursor.fetchall()]
    sql, params = _values(
        [(order_ids[order["channel_order_id"]], order["payment"]["method"], total,
          order["currency"], order["payment"].get("reference", ""))
         for order, _picks, _subtotal, total in plans],
        "(%s, %s, %s, %s, 'captured', %s, now())")
    cursor.execute("INSERT INTO orders_payment (order_id, method, amount, currency, status, "
                   "reference, created_at) VALUES " + sql, params)
    per_level: dict[int, int] = defaultdict(int)
    reservations, position = [], 0
    for order, picks, _subtotal, _total in plans:
        for index, level_id, quantity in picks:
            per_level[level_id] += quantity
            reservations.append((level_id, f"order_line:{line_ids[position + index]}", quantity))
        position += len(order["lines"])
    sql, params = _values(sorted(per_level.items()), "(%s::bigint, %s::integer)")
    cursor.execute(
        "UPDATE inventory_stocklevel l SET allocated = l.allocated + d.units FROM (VALUES "
        + sql + ") AS d (id, units) WHERE l.id = d.id "
        "AND l.on_hand - l.allocated - l.safety_stock >= d.units", params)
    if cursor.rowcount != len(per_level):
        raise RuntimeError("a stock row changed under the batch")
    sql, params = _values(reservations, "(%s, %s, %s, now())")
    cursor.execute("INSERT INTO inventory_stockreservation (stock_level_id, reference, quantity, "
                   "created_at) VALUES " + sql, params)
    sql, params = _values([(level_id, quantity, reference)
                           for level_id, reference, quantity in reservations],
                          "(%s, 0, %s, 'allocation', %s, 'bench', '', now())")
    cursor.execute("INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand, "
                   "delta_allocated, reason, reference, actor, note, created_at) VALUES " + sql,
                   params)
    return len(plans)


def orders_digest(url: str) -> str:
    """A hash of every order's channel id, total and (SKU, quantity, allocated) per line."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT o.channel_order_id, o.total::text, string_agg(l.sku || ':' || l.quantity "
            "|| ':' || l.quantity_allocated, ',' ORDER BY l.sku) FROM orders_order o "
            "JOIN orders_orderline l ON l.order_id = o.id GROUP BY o.id ORDER BY 1").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def run_profile(key: str, bodies: list[dict]) -> dict:
    """Send the orders in process through `POST /api/v1/orders/bulk/`, 500 per request: the
    first warms caches, the last runs under cProfile (hot spots to stderr), the others are
    timed (milliseconds per order, wall and this process's CPU: the CPU figure holds up
    on a busy machine)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from oms_project.runtime import gc_tune

    gc_tune()  # as in a server process (oms_project.wsgi)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    batches = [bodies[start : start + BATCH] for start in range(0, len(bodies), BATCH)]
    profiler, walls, cpus, queries = cProfile.Profile(), [], [], []
    for index, batch in enumerate(batches):
        body = json.dumps({"orders": batch})
        began, began_cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as captured:
            if index and index == len(batches) - 1:
                profiler.enable()
            response = client.post("/api/v1/orders/bulk/", data=body,
                                   content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
            profiler.disable()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
        queries.append(len(captured.captured_queries))
        assert response.status_code == 200, response.content[:500]
    profile_report(profiler, "b7-bulk", 50)
    timed = [wall * 1000 / len(batch) for wall, batch in zip(walls[1:-1], batches[1:-1],
                                                             strict=True)]
    cpu = [spent * 1000 / len(batch) for spent, batch in zip(cpus[1:-1], batches[1:-1],
                                                              strict=True)]
    return {"requests": len(batches), "wall_s": [round(wall, 3) for wall in walls],
            "queries": queries, "timed_ms_per_order": spread(timed, 3) if timed else None,
            "cpu_ms_per_order": spread(cpu, 3) if cpu else None}


def main(arguments) -> int:
    count = arguments.orders or (500 if arguments.quick else 5000)
    url = database_url(arguments.database)
    database_create(arguments.database)
    django_setup(url)
    seeded = seed(hot_skus=0, cold_skus=SKUS, hot_units=0, cold_units=1_000_000)
    bodies = order_bodies(count=count, seed_value=SEED, prefix="B7", hot=[],
                          cold=cold_sku_names(SKUS), hot_share=0.0, lines_range=(3, 3),
                          customers=count // 2)
    if arguments.profile:
        try:
            print(json.dumps({"benchmark": "B7", "profile": run_profile(seeded["key"], bodies)}))
        finally:
            if not arguments.keep:
                database_drop(arguments.database)
        return 0
    broker = redis_broker(arguments.redis_db)
    server = Gunicorn(url=url, workers=arguments.workers, broker=broker, timeout=1800)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        context = sql_context(cursor)
    runners = {
        "bulk": lambda: run_bulk(server.port, seeded["key"], bodies),
        "single": lambda: run_single(server.port, seeded["key"], bodies),
        "raw": lambda: run_raw(url, context, bodies),
    }
    samples: dict[str, list[dict]] = {name: [] for name in runners}
    try:
        warm = order_bodies(count=4 * arguments.workers, seed_value=SEED + 1, prefix="W",
                            hot=[], cold=cold_sku_names(SKUS), hot_share=0.0,
                            lines_range=(3, 3), customers=10)
        run_single(server.port, seeded["key"], warm)
        run_bulk(server.port, seeded["key"], warm)
        for _pair in range(arguments.pairs):
            for name, runner in runners.items():
                reset(url)
                began = time.perf_counter()
                statuses = runner()
                elapsed = time.perf_counter() - began
                checks = allocation_checks(url)
                sample = {
                    "orders_per_second": count / elapsed, "elapsed_s": round(elapsed, 3),
                    "statuses": statuses, "checks": checks, "digest": orders_digest(url),
                    "correct": (statuses == {"201": count} and checks_pass(checks, count)),
                }
                samples[name].append(sample)
                print(f"{name}: {sample['orders_per_second']:.1f} orders/s", file=sys.stderr)
    finally:
        server.stop()
        redis_flush(broker)
        if not arguments.keep:
            database_drop(arguments.database)

    rates = {name: [item["orders_per_second"] for item in items]
             for name, items in samples.items()}
    ratios = {
        "bulk_vs_single": spread([a / b for a, b in zip(rates["bulk"], rates["single"],
                                                         strict=True)], 3),
        "bulk_vs_raw": spread([a / b for a, b in zip(rates["bulk"], rates["raw"], strict=True)],
                              3),
    }
    digests = {item["digest"] for items in samples.values() for item in items}
    failed = [f"{name}#{index}" for name, items in samples.items()
              for index, item in enumerate(items) if not item["correct"]]
    if len(digests) != 1:
        failed.append(f"outputs differ: {sorted(digests)}")
    result = {
        "benchmark": "B7",
        "mode": "quick" if arguments.quick else "full",
        "workload": {"orders": count, "lines_per_order": 3, "orders_per_request": BATCH,
                     "skus": SKUS, "warehouses": 3, "clients": 1,
                     "gunicorn_workers": arguments.workers, "pairs": arguments.pairs,
                     "broker": broker.split("://")[0]},
        "samples": samples,
        "orders_per_second": {name: spread(values) for name, values in rates.items()},
        "ratios": ratios,
        "targets": TARGETS,
        "meets_targets": {
            "bulk_vs_single": ratios["bulk_vs_single"]["median"] >= TARGETS["bulk_vs_single_min"],
            "bulk_vs_raw": ratios["bulk_vs_raw"]["median"] >= TARGETS["bulk_vs_raw_min"],
        },
        "identical_output": len(digests) == 1,
        "failed": failed,
        "correct": not failed,
    }
    print(json.dumps(result))
    if failed:
        print(f"B7 correctness check failed: {failed}", file=sys.stderr)
        return 1
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 orders instead of 5,000")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=0, help="override the order count")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--database", default="oms_bench_b7")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--profile", action="store_true",
                        help="only profile the bulk requests in process (no gunicorn, no peers)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main(parse_arguments()))
