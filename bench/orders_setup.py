"""What the order benchmarks B1 and B7 share: the bench database, catalogue and stock, the
seeded order payloads, the peers' order-placement SQL, gunicorn, the load driver and the checks.

The peers' SQL (`order_place_sql`) is one order placement in the shape the OMS writes it,
reduced to the minimum: the products and free stock are read, the picks planned with the same
rule as `orders.services.allocation` (one warehouse that fills every line, else a split over at
most three in priority order), the customer upserted, order, lines and payment inserted, every
touched stock row updated with a conditional UPDATE in primary-key order (the only row locks,
held until commit), then one reservation and one ledger row per pick. It runs from raw psycopg
and from a minimal Django view (`bench.orders_wsgi`) with the same text.
"""

import http.client
import io
import json
import multiprocessing
import os
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
CHANNEL_CODE = "bench"
WAREHOUSE_CODES = ("BENCH-WH1", "BENCH-WH2", "BENCH-WH3")
SERVICE_LEVEL_CODE = "bench-ground"
MAX_SHIPMENTS = 3
PLAN_ATTEMPTS = 3
REDIS_URL = "redis://127.0.0.1:6379/{database}"


# --- database -------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def database_create(name: str) -> None:
    """Drop and create the bench database, then migrate it."""
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
        env={**os.environ, "DATABASE_URL": database_url(name)},
    )


def database_drop(name: str) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(url: str) -> None:
    """Point this process's Django at the bench database (before anything imports models)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(*, hot_skus: int, cold_skus: int, hot_units: int, cold_units: int) -> dict:
    """Create the channel (reject short orders), three warehouses, products and their stock.

    Stock goes in through `inventory.services.stock_receive` (one receipt ledger row per
    level). Returns the raw channel key and the product ids of the hot SKUs.
    """
    from inventory.models import Product
    from inventory.services import stock_receive
    from orders.models import SalesChannel
    from orders.services import api_key_create
    from warehouses.models import Carrier, ServiceLevel, Warehouse

    warehouses = [
        Warehouse.objects.create(code=code, name=code, priority=index + 1)
        for index, code in enumerate(WAREHOUSE_CODES)
    ]
    carrier = Carrier.objects.create(code="bench-carrier", name="Bench carrier")
    ServiceLevel.objects.create(carrier=carrier, code=SERVICE_LEVEL_CODE, name="Ground")
    channel = SalesChannel.objects.create(
        code=CHANNEL_CODE, name="Bench shop", shortage_policy="reject", allow_split=True,
        max_shipments=MAX_SHIPMENTS, order_number_prefix="B",
    )
    channel.warehouses.add(*warehouses)
    products = Product.objects.bulk_create(
        [Product(sku=sku, name=f"Product {sku}") for sku in hot_sku_names(hot_skus)]
        + [Product(sku=sku, name=f"Product {sku}") for sku in cold_sku_names(cold_skus)]
    )
    for product in products:
        units = hot_units if product.sku.startswith("HOT-") else cold_units
        for warehouse in warehouses:
            stock_receive(product=product, warehouse=warehouse, quantity=units,
                          reference="bench:seed", actor="bench")
    _key, raw_key = api_key_create(name="bench", channel=channel)
    from django.db import connections

    connections.close_all()
    return {
        "key": raw_key,
        "hot_product_ids": [product.pk for product in products if product.sku.startswith("HOT-")],
    }


def hot_sku_names(count: int) -> list[str]:
    return [f"HOT-{index:03d}" for index in range(count)]


def cold_sku_names(count: int) -> list[str]:
    return [f"COLD-{index:05d}" for index in range(count)]


def reset(url: str) -> None:
    """Back to the seeded state: no orders, customers, reservations or events; nothing allocated."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "TRUNCATE orders_order, customers_customer, inventory_stockreservation, "
            "orders_idempotencyrecord, oms_project_outboxevent, oms_project_emailmessage "
            "RESTART IDENTITY CASCADE"
        )
        connection.execute("DELETE FROM inventory_stockmovement WHERE reason <> 'receipt'")
        connection.execute(
            "UPDATE inventory_stocklevel SET allocated = 0, low_stock_alerted_at = NULL "
            "WHERE allocated <> 0 OR low_stock_alerted_at IS NOT NULL"
        )
        connection.execute("VACUUM ANALYZE inventory_stocklevel")
        connection.execute("VACUUM ANALYZE inventory_stockmovement")


# --- payloads -------------------------------------------------------------------------------


def order_bodies(
    *, count: int, seed_value: int, prefix: str, hot: list[str], cold: list[str],
    hot_share: float, lines_range: tuple[int, int], customers: int,
) -> list[dict]:
    """Seeded order payloads in the API's shape (money as strings, captured payment)."""
    rng = random.Random(seed_value)
    bodies = []
    for index in range(count):
        skus: list[str] = []
        for _ in range(rng.randint(*lines_range)):
            pool = hot if rng.random() < hot_share else cold
            sku = rng.choice(pool)
            while sku in skus:
                sku = rng.choice(pool)
            skus.append(sku)
        lines = [
            {"sku": sku, "quantity": rng.randint(1, 3),
             "unit_price": str(Decimal(rng.randint(500, 9999)) / 100)}
            for sku in skus
        ]
        subtotal = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
        total = subtotal + Decimal("7.00")
        customer = rng.randrange(customers)
        bodies.append({
            "channel_order_id": f"{prefix}-{index:06d}",
            "customer": {"email": f"customer{customer}@bench.test", "first_name": "Pat",
                         "last_name": f"Buyer{customer}"},
            "shipping_address": {"line1": f"{customer} Main St", "city": "Reno",
                                 "postal_code": "89501", "country": "US"},
            "fulfillment_method": "ship",
            "shipping_method": SERVICE_LEVEL_CODE,
            "currency": "USD",
            "lines": lines,
            "shipping_total": "5.00",
            "tax_total": "2.00",
            "payment": {"method": "card", "amount": str(total), "status": "captured",
                        "reference": f"pay-{prefix}-{index}"},
            "attributes": {"gift_message": "Enjoy"},
        })
    return bodies


# --- the peers' SQL -------------------------------------------------------------------------


class ShortStock(Exception):
    """The order cannot be filled; `raced` when a conditional UPDATE lost to another order."""

    def __init__(self, raced: bool):
        super().__init__("short")
        self.raced = raced


def sql_context(cursor, channel_code: str = CHANNEL_CODE) -> dict:
    """The channel, its shipping warehouses in priority order and the service level ids."""
    cursor.execute("SELECT id, order_number_prefix FROM orders_saleschannel WHERE code = %s",
                   [channel_code])
    channel_id, prefix = cursor.fetchone()
    cursor.execute(
        "SELECT w.id FROM warehouses_warehouse w JOIN orders_saleschannel_warehouses cw "
        "ON cw.warehouse_id = w.id WHERE cw.saleschannel_id = %s AND w.is_active AND w.can_ship "
        "ORDER BY w.priority, w.code", [channel_id])
    warehouse_ids = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT id FROM warehouses_servicelevel WHERE code = %s", [SERVICE_LEVEL_CODE])
    return {"channel_id": channel_id, "prefix": prefix, "warehouse_ids": warehouse_ids,
            "service_level_id": cursor.fetchone()[0], "actor": "bench"}


def plan_picks(lines: list[tuple[int, int, int]], available: dict, warehouse_ids: list[int]):
    """(line index, level id, units) picks for (line index, product id, units) lines, or None.

    `available` maps (product id, warehouse id) -> (level id, free units). The rule is the
    OMS's: the first warehouse that fills every line, else a split over at most
    `MAX_SHIPMENTS` warehouses in priority order.
    """
    needs: dict[int, int] = defaultdict(int)
    for _index, product_id, quantity in lines:
        needs[product_id] += quantity
    for warehouse_id in warehouse_ids:
        if all(available.get((product_id, warehouse_id), (0, 0))[1] >= quantity
               for product_id, quantity in needs.items()):
            return [(index, available[(product_id, warehouse_id)][0], quantity)
                    for index, product_id, quantity in lines]
    remaining = {key: free for key, (_level, free) in available.items()}
    picks, used = [], []
    for index, product_id, quantity in lines:
        for warehouse_id in warehouse_ids:
            if quantity <= 0:
                break
            if warehouse_id not in used and len(used) >= MAX_SHIPMENTS:
                continue
            take = min(remaining.get((product_id, warehouse_id), 0), quantity)
            if take > 0:
                picks.append((index, available[(product_id, warehouse_id)][0], take))
                remaining[(product_id, warehouse_id)] -= take
                quantity -= take
                if warehouse_id not in used:
                    used.append(warehouse_id)
        if quantity > 0:
            return None
    return picks


def order_place_sql(cursor, order: dict, context: dict) -> str:
    """Place one order with the minimal SQL (call inside a transaction); return its number.

    Raises `ShortStock` (the caller rolls back): `raced=False` when the stock read says the
    order cannot be filled, `raced=True` when a conditional UPDATE found less than planned.
    """
    skus = [line["sku"] for line in order["lines"]]
    cursor.execute("SELECT sku, id, name FROM inventory_product WHERE sku = ANY(%s) AND is_active",
                   [skus])
    products = {sku: (product_id, name) for sku, product_id, name in cursor.fetchall()}
    lines = [(index, products[line["sku"]][0], line["quantity"])
             for index, line in enumerate(order["lines"])]
    cursor.execute(
        "SELECT product_id, warehouse_id, id, on_hand - allocated - safety_stock "
        "FROM inventory_stocklevel WHERE product_id = ANY(%s) AND warehouse_id = ANY(%s)",
        [[line[1] for line in lines], context["warehouse_ids"]])
    available = {(row[0], row[1]): (row[2], row[3]) for row in cursor.fetchall()}
    picks = plan_picks(lines, available, context["warehouse_ids"])
    if picks is None:
        raise ShortStock(raced=False)
    prices = [Decimal(line["unit_price"]) for line in order["lines"]]
    totals = [price * line["quantity"] for price, line in zip(prices, order["lines"], strict=True)]
    subtotal = sum(totals, Decimal("0.00"))
    shipping, tax = Decimal(order["shipping_total"]), Decimal(order["tax_total"])
    total = subtotal + shipping + tax
    customer = order["customer"]
    cursor.execute(
        "INSERT INTO customers_customer (email, first_name, last_name, phone, accepts_marketing, "
        "preferred_shipping_method, preferred_payment_method, note, orders_count, lifetime_value, "
        "first_order_at, last_order_at, created_at, updated_at) "
        "VALUES (%s, %s, %s, '', false, %s, %s, '', 1, %s, now(), now(), now(), now()) "
        "ON CONFLICT ((lower(email))) DO UPDATE SET "
        "orders_count = customers_customer.orders_count + 1, "
        "lifetime_value = customers_customer.lifetime_value + EXCLUDED.lifetime_value, "
        "last_order_at = EXCLUDED.last_order_at, updated_at = now() RETURNING id",
        [customer["email"].lower(), customer.get("first_name", ""), customer.get("last_name", ""),
         order["shipping_method"], order["payment"]["method"], total])
    customer_id = cursor.fetchone()[0]
    number = f"{context['prefix']}{order['channel_order_id']}"[:32]
    cursor.execute(
        "INSERT INTO orders_order (number, channel_id, channel_order_id, customer_id, email, "
        "status, hold_reason, fulfillment_method, shipping_method_id, currency, subtotal, "
        "discount_total, shipping_total, tax_total, total, paid_total, refund_due, "
        "cancelled_total, payment_method, shipping_address, billing_address, attributes, "
        "placed_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 'processing', '', "
        "'ship', %s, %s, %s, 0, %s, %s, %s, %s, 0, 0, %s, %s::jsonb, '{}'::jsonb, %s::jsonb, "
        "now(), now(), now()) RETURNING id",
        [number, context["channel_id"], order["channel_order_id"], customer_id,
         customer["email"].lower(), context["service_level_id"], order["currency"], subtotal,
         shipping, tax, total, total, order["payment"]["method"],
         json.dumps(order["shipping_address"]), json.dumps(order.get("attributes") or {})])
    order_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, "
        "quantity_allocated, quantity_shipped, quantity_cancelled, quantity_returned, "
        "unit_price, discount, line_total) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, 0, 0, 0, %s, 0, %s)"] * len(lines))
        + " RETURNING id",
        [value for (index, product_id, quantity), price, line_total in
         zip(lines, prices, totals, strict=True)
         for value in (order_id, product_id, skus[index], products[skus[index]][1], quantity,
                       quantity, price, line_total)])
    line_ids = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "INSERT INTO orders_payment (order_id, method, amount, currency, status, reference, "
        "created_at) VALUES (%s, %s, %s, %s, 'captured', %s, now())",
        [order_id, order["payment"]["method"], Decimal(order["payment"]["amount"]),
         order["currency"], order["payment"].get("reference", "")])
    per_level: dict[int, int] = defaultdict(int)
    for _index, level_id, quantity in picks:
        per_level[level_id] += quantity
    for level_id in sorted(per_level):
        cursor.execute(
            "UPDATE inventory_stocklevel SET allocated = allocated + %s WHERE id = %s "
            "AND on_hand - allocated - safety_stock >= %s",
            [per_level[level_id], level_id, per_level[level_id]])
        if cursor.rowcount != 1:
            raise ShortStock(raced=True)
    rows = [(level_id, f"order_line:{line_ids[index]}", quantity)
            for index, level_id, quantity in picks]
    cursor.execute(
        "INSERT INTO inventory_stockreservation (stock_level_id, reference, quantity, created_at) "
        "VALUES " + ", ".join(["(%s, %s, %s, now())"] * len(rows)),
        [value for row in rows for value in row])
    cursor.execute(
        "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand, delta_allocated, "
        "reason, reference, actor, note, created_at) VALUES "
        + ", ".join(["(%s, 0, %s, 'allocation', %s, %s, '', now())"] * len(rows)),
        [value for level_id, reference, quantity in rows
         for value in (level_id, quantity, reference, context["actor"])])
    return number


def place_with_retries(transaction_runner, order: dict) -> tuple[int, str]:
    """Run `transaction_runner(order)` (one transaction) with the OMS's re-plan on a lost race.

    Returns (201, number) or (409, "insufficient_stock").
    """
    for _attempt in range(PLAN_ATTEMPTS):
        try:
            return 201, transaction_runner(order)
        except ShortStock as short:
            if not short.raced:
                break
    return 409, "insufficient_stock"


def psycopg_runner(connection, context: dict):
    def run(order: dict) -> str:
        with connection.transaction(), connection.cursor() as cursor:
            return order_place_sql(cursor, order, context)

    return run


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_broker(database: int) -> str:
    """A Redis database for the enqueued tasks (nobody consumes them); memory:// if no Redis.

    Refuses a Redis database that already holds keys, so nobody else's data is flushed.
    """
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL.format(database=database), socket_timeout=1)
        if client.dbsize():
            raise SystemExit(f"Redis database {database} is not empty; pass another --redis-db.")
        return REDIS_URL.format(database=database)
    except (ImportError, OSError) as error:
        print(f"Redis not reachable ({error}); tasks go to an in-memory broker.", file=sys.stderr)
        return "memory://"
    except Exception as error:  # redis.ConnectionError is not an OSError
        if type(error).__name__ != "ConnectionError":
            raise
        return "memory://"


def redis_flush(broker: str) -> None:
    if broker.startswith("redis://"):
        import redis

        redis.Redis.from_url(broker).flushdb()


class Gunicorn:
    """`gunicorn bench.orders_wsgi:application -w N` on a free port of 127.0.0.1."""

    def __init__(self, *, url: str, workers: int, broker: str, timeout: int = 300):
        self.port = free_port()
        handle, self.log_path = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        environment = {
            **os.environ, "DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_BROKER_URL": broker, "CELERY_TASK_ALWAYS_EAGER": "0",
            "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "oms_project.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.orders_wsgi:application", "-w",
             str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", str(timeout),
             "--log-level", "warning"],
            cwd=ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT,
        )
        os.close(handle)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if http_request(self.port, "GET", "/bench/ping/", None, {})[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def http_request(port: int, method: str, path: str, body: bytes | None, headers: dict,
                 timeout: float = 300):
    """One request on a fresh connection (gunicorn's sync workers close after each)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def api_headers(key: str) -> dict:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {key}",
            "Idempotency-Key": str(uuid.uuid4())}


# --- the load driver ------------------------------------------------------------------------

_SHARED: dict = {}


def _client(number, kind, target, counter, ready, start, stop, results):
    bodies = _SHARED["bodies"]
    if kind == "http":
        encoded = [json.dumps(body).encode() for body in bodies]
        send = None
    else:
        connection = psycopg.connect(target["url"], autocommit=True)
        send = psycopg_runner(connection, target["context"])
    outcomes = []
    with ready.get_lock():
        ready.value += 1
    start.wait()
    while not stop.is_set():
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        if index >= len(bodies):
            break
        began = time.perf_counter()
        try:
            if kind == "http":
                status, _body = http_request(target["port"], "POST", target["path"],
                                             encoded[index], api_headers(target["key"]))
            else:
                status, _number = place_with_retries(send, bodies[index])
        except (OSError, http.client.HTTPException, psycopg.Error) as error:
            status = f"error:{type(error).__name__}"
        ended = time.perf_counter()
        outcomes.append((status, ended - began, ended))
    results.put((number, outcomes))
    results.close()
    results.join_thread()
    os._exit(0)


def load_run(*, kind: str, bodies: list[dict], clients: int, target: dict, monitor_url: str,
             hot_product_ids: list[int], time_limit: float, sold_out_units: int = 0) -> dict:
    """Let `clients` processes place `bodies` until the hot stock sells out (or all are sent).

    Sold out means at most `sold_out_units` hot units are still free. `kind` is "http"
    (target: port, path, key) or "raw" (target: url, context). Returns the elapsed seconds
    (first request to last answer), the answers by status and the latencies.
    """
    context = multiprocessing.get_context("fork")
    _SHARED["bodies"] = bodies
    counter, ready = context.Value("l", 0), context.Value("l", 0)
    start, stop, results = context.Event(), context.Event(), context.Queue()
    from django.db import connections

    connections.close_all()
    processes = [context.Process(target=_client, args=(number, kind, target, counter, ready,
                                                       start, stop, results))
                 for number in range(clients)]
    for process in processes:
        process.start()
    while ready.value < clients:
        time.sleep(0.01)
    monitor = psycopg.connect(monitor_url, autocommit=True)
    began = time.perf_counter()
    start.set()
    sold_out_at, collected, activity = None, [], []
    while len(collected) < clients:
        activity.append(monitor.execute(
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE "
            "state = 'active') - 1 FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone())
        if sold_out_at is None and hot_product_ids:
            free = monitor.execute(
                "SELECT coalesce(sum(on_hand - allocated - safety_stock), 0) FROM "
                "inventory_stocklevel WHERE product_id = ANY(%s)", [hot_product_ids]).fetchone()[0]
            if free <= sold_out_units:
                sold_out_at = time.perf_counter() - began
                stop.set()
        if time.perf_counter() - began > time_limit:
            stop.set()
        while not results.empty():
            collected.append(results.get())
        time.sleep(0.02)
    for process in processes:
        process.join()
    monitor.close()
    outcomes = [outcome for _number, items in collected for outcome in items]
    statuses = Counter(str(status) for status, _latency, _ended in outcomes)
    last = max((ended for _status, _latency, ended in outcomes), default=began)
    return {
        "elapsed": last - began,
        "statuses": dict(statuses),
        "committed": statuses.get("201", 0),
        "latencies": [latency for _status, latency, _ended in outcomes],
        "sold_out_at": sold_out_at,
        "sent": len(outcomes),
        "mean_sessions_waiting_on_locks": round(
            statistics.mean(row[0] for row in activity), 2) if activity else 0.0,
        "mean_active_sessions": round(
            statistics.mean(row[1] for row in activity), 2) if activity else 0.0,
    }


# --- checks and summaries -------------------------------------------------------------------


def allocation_checks(url: str) -> dict:
    """The oversell and ledger checks over the whole database (zero means correct)."""
    with psycopg.connect(url) as connection:
        def scalar(sql: str):
            return connection.execute(sql).fetchone()[0]

        reserved = ("(SELECT coalesce(sum(quantity), 0) FROM inventory_stockreservation r "
                    "WHERE r.stock_level_id = l.id)")
        return {
            "rows_reserved_over_on_hand": scalar(
                f"SELECT count(*) FROM inventory_stocklevel l WHERE {reserved} > l.on_hand"),
            "rows_allocated_not_reserved": scalar(
                f"SELECT count(*) FROM inventory_stocklevel l WHERE {reserved} <> l.allocated"),
            "rows_allocated_not_ledger": scalar(
                "SELECT count(*) FROM inventory_stocklevel l WHERE l.allocated <> (SELECT "
                "coalesce(sum(delta_allocated), 0) FROM inventory_stockmovement m "
                "WHERE m.stock_level_id = l.id)"),
            "allocated_units": scalar("SELECT coalesce(sum(allocated), 0) FROM "
                                      "inventory_stocklevel"),
            "line_allocated_units": scalar("SELECT coalesce(sum(quantity_allocated), 0) FROM "
                                           "orders_orderline"),
            "lines_not_reserved": scalar(
                "SELECT count(*) FROM orders_orderline o WHERE o.quantity_allocated <> (SELECT "
                "coalesce(sum(quantity), 0) FROM inventory_stockreservation r "
                "WHERE r.reference = 'order_line:' || o.id)"),
            "lines_not_fully_allocated": scalar(
                "SELECT count(*) FROM orders_orderline WHERE quantity_allocated <> quantity"),
            "orders": scalar("SELECT count(*) FROM orders_order"),
        }


def checks_pass(checks: dict, committed: int) -> bool:
    return (
        checks["rows_reserved_over_on_hand"] == 0
        and checks["rows_allocated_not_reserved"] == 0
        and checks["rows_allocated_not_ledger"] == 0
        and checks["allocated_units"] == checks["line_allocated_units"]
        and checks["lines_not_reserved"] == 0
        and checks["lines_not_fully_allocated"] == 0
        and checks["orders"] == committed
    )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def spread(values: list[float], digits: int = 1) -> dict:
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits),
            "samples": [round(value, digits) for value in values]}


def profile_report(profiler, name: str, rows: int) -> None:
    """Save `profiler`'s data as <tmp>/<name>.prof and print its top `rows` functions by
    cumulative and by own time to stderr."""
    dump = Path(tempfile.gettempdir()) / f"{name}.prof"
    profiler.dump_stats(dump)
    print(f"cProfile data: {dump}", file=sys.stderr)
    for sort in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(sort).print_stats(rows)
        print(text.getvalue(), file=sys.stderr)
