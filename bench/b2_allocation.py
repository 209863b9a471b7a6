"""B2: the allocation service alone, 16 processes on 20 hot stock rows, against raw psycopg.

    python -m bench.b2_allocation            # quick mode (about 1/10 of the full workload)
    python -m bench.b2_allocation --full

Each run starts 16 processes together; each places its own seeded baskets of 1-3 holds on
20 hot stock rows (enough stock for about 90% of the demand, so both the success and the
`insufficient_stock` paths run). Ours calls `inventory.services.stock_allocate`; the peer
(the ceiling) runs the same strategy in raw psycopg: one transaction, rows touched in pk
order with one conditional UPDATE each, then the reservation and ledger INSERTs. Runs are
interleaved (ours, raw, ours, raw, ...) on freshly reset stock.

PostgreSQL only, in its own database (`BENCH_DATABASE_URL`, default
`postgres://postgres@127.0.0.1:5432/oms_bench_b2`, created and migrated if missing).
Prints one JSON line; exits 1 if a correctness check fails (oversell, ledger or reservations
not adding up, a deadlock or any other error).
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_bench_b2"
PROCESSES = 16
HOT_ROWS = 20
MODES = {"quick": {"baskets": 100, "pairs": 3}, "full": {"baskets": 1000, "pairs": 5}}
SEED = 20240602


def _database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _seed_stock() -> list[tuple[int, int, int]]:
    """Create the 20 hot rows; return (level id, product id, warehouse id) ordered by pk."""
    from inventory.models import Product, StockLevel
    from warehouses.models import Warehouse

    warehouse, _ = Warehouse.objects.get_or_create(
        code="B2-WH", defaults={"name": "Bench warehouse", "country": "US"}
    )
    rows = []
    for index in range(HOT_ROWS):
        product, _ = Product.objects.get_or_create(
            sku=f"B2-HOT-{index:02d}", defaults={"name": f"Hot item {index}"}
        )
        level, _ = StockLevel.objects.get_or_create(product=product, warehouse=warehouse)
        rows.append((level.pk, product.pk, warehouse.pk))
    return sorted(rows)


def _reset(rows, units_per_row: int) -> None:
    """Put every hot row back to `units_per_row` on hand, nothing allocated, one receipt."""
    from django.db import connection

    level_ids = [row[0] for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM inventory_stockreservation WHERE stock_level_id = ANY(%s)", [level_ids]
        )
        cursor.execute(
            "DELETE FROM inventory_stockmovement WHERE stock_level_id = ANY(%s)", [level_ids]
        )
        cursor.execute(
            "UPDATE inventory_stocklevel SET on_hand = %s, allocated = 0, safety_stock = 0,"
            " reorder_point = 0, low_stock_alerted_at = NULL WHERE id = ANY(%s)",
            [units_per_row, level_ids],
        )
        cursor.execute(
            "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand,"
            " delta_allocated, reason, reference, actor, note, created_at)"
            " SELECT id, %s, 0, 'receipt', 'bench:b2', 'bench', '', now()"
            " FROM inventory_stocklevel WHERE id = ANY(%s)",
            [units_per_row, level_ids],
        )


def _baskets(rows, process_index: int, count: int, run_label: str) -> list[list[tuple]]:
    """Seeded baskets: 1-3 distinct hot rows, 1-2 units each, in random (unsorted) order."""
    generator = random.Random(SEED * 1000 + process_index)
    baskets = []
    for basket_index in range(count):
        size = generator.choice((1, 2, 2, 3))
        chosen = generator.sample(rows, size)
        reference = f"b2:{run_label}:{process_index}:{basket_index}"
        baskets.append([(row, generator.choice((1, 1, 2)), reference) for row in chosen])
    return baskets


# --- the two contenders (run inside worker processes) ---------------------------------------


def _run_ours(baskets, barrier, results) -> None:
    from django.db import OperationalError, connections

    from inventory.errors import InsufficientStock
    from inventory.services import Hold, stock_allocate

    connections.close_all()
    outcome = {"allocated": 0, "units": 0, "insufficient": 0, "deadlocks": 0, "errors": []}
    barrier.wait()
    started = time.monotonic()
    for basket in baskets:
        holds = [Hold(row[1], row[2], quantity, reference) for row, quantity, reference in basket]
        try:
            stock_allocate(holds=holds, actor="bench")
        except InsufficientStock:
            outcome["insufficient"] += 1
        except OperationalError as error:
            key = "deadlocks" if "deadlock" in str(error).lower() else None
            if key:
                outcome[key] += 1
            else:
                outcome["errors"].append(str(error)[:200])
        except Exception as error:  # reported and failed on by the parent
            outcome["errors"].append(f"{type(error).__name__}: {str(error)[:200]}")
        else:
            outcome["allocated"] += 1
            outcome["units"] += sum(quantity for _row, quantity, _ref in basket)
    outcome["started"], outcome["finished"] = started, time.monotonic()
    connections.close_all()
    results.put(outcome)


def _run_raw(baskets, barrier, results, url: str) -> None:
    import psycopg

    outcome = {"allocated": 0, "units": 0, "insufficient": 0, "deadlocks": 0, "errors": []}
    connection = psycopg.connect(url.replace("postgres://", "postgresql://", 1))
    barrier.wait()
    started = time.monotonic()
    for basket in baskets:
        demand: dict[int, int] = {}
        for row, quantity, _reference in basket:
            demand[row[0]] = demand.get(row[0], 0) + quantity
        try:
            with connection.transaction(), connection.cursor() as cursor:
                short = False
                for level_id in sorted(demand):
                    cursor.execute(
                        "UPDATE inventory_stocklevel SET allocated = allocated + %s"
                        " WHERE id = %s AND on_hand - allocated - safety_stock >= %s",
                        [demand[level_id], level_id, demand[level_id]],
                    )
                    short = short or cursor.rowcount == 0
                if short:
                    raise _Short
                reference = basket[0][2]
                cursor.executemany(
                    "INSERT INTO inventory_stockreservation"
                    " (stock_level_id, reference, quantity, created_at)"
                    " VALUES (%s, %s, %s, now())",
                    [(level_id, reference, units) for level_id, units in sorted(demand.items())],
                )
                cursor.executemany(
                    "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand,"
                    " delta_allocated, reason, reference, actor, note, created_at)"
                    " VALUES (%s, 0, %s, 'allocation', %s, 'bench', '', now())",
                    [(level_id, units, reference) for level_id, units in sorted(demand.items())],
                )
        except _Short:
            outcome["insufficient"] += 1
        except psycopg.errors.DeadlockDetected:
            outcome["deadlocks"] += 1
        except Exception as error:
            outcome["errors"].append(f"{type(error).__name__}: {str(error)[:200]}")
        else:
            outcome["allocated"] += 1
            outcome["units"] += sum(demand.values())
    outcome["started"], outcome["finished"] = started, time.monotonic()
    connection.close()
    results.put(outcome)


class _Short(Exception):
    pass


def _race(contender: str, rows, baskets_per_process: int, run_label: str, url: str) -> dict:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = []
    for index in range(PROCESSES):
        baskets = _baskets(rows, index, baskets_per_process, run_label)
        if contender == "ours":
            target, args = _run_ours, (baskets, barrier, results)
        else:
            target, args = _run_raw, (baskets, barrier, results, url)
        process = context.Process(target=target, args=args)
        process.start()
        processes.append(process)
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    wall = max(o["finished"] for o in outcomes) - min(o["started"] for o in outcomes)
    total = {
        key: sum(o[key] for o in outcomes)
        for key in ("allocated", "units", "insufficient", "deadlocks")
    }
    total["errors"] = [error for o in outcomes for error in o["errors"]][:10]
    total["seconds"] = round(wall, 4)
    total["allocations_per_second"] = round(total["allocated"] / wall, 1)
    total["attempts_per_second"] = round((total["allocated"] + total["insufficient"]) / wall, 1)
    total["checks"] = _check(rows, total["units"])
    return total


def _check(rows, units_allocated: int) -> dict:
    """Oversell and ledger checks after a run."""
    from django.db import connection

    level_ids = [row[0] for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              COALESCE(SUM(l.allocated), 0),
              COUNT(*) FILTER (WHERE l.allocated > l.on_hand - l.safety_stock),
              COUNT(*) FILTER (WHERE l.allocated <> COALESCE(r.reserved, 0)),
              COUNT(*) FILTER (WHERE l.allocated <> COALESCE(m.ledger, 0)
                                  OR l.on_hand <> COALESCE(m.ledger_on_hand, 0))
            FROM inventory_stocklevel l
            LEFT JOIN (SELECT stock_level_id, SUM(quantity) AS reserved
                       FROM inventory_stockreservation GROUP BY 1) r ON r.stock_level_id = l.id
            LEFT JOIN (SELECT stock_level_id, SUM(delta_allocated) AS ledger,
                              SUM(delta_on_hand) AS ledger_on_hand
                       FROM inventory_stockmovement GROUP BY 1) m ON m.stock_level_id = l.id
            WHERE l.id = ANY(%s)
            """,
            [level_ids],
        )
        allocated, oversold, reservations_off, ledger_off = cursor.fetchone()
    connection.close()
    return {
        "allocated_units": int(allocated),
        "units_reported_by_workers": units_allocated,
        "oversold_rows": oversold,
        "rows_with_reservations_off": reservations_off,
        "rows_with_ledger_off": ledger_off,
    }


def _failures(label: str, run: dict) -> list[str]:
    checks = run["checks"]
    failures = []
    if checks["oversold_rows"]:
        failures.append(f"{label}: {checks['oversold_rows']} rows oversold")
    if checks["allocated_units"] != checks["units_reported_by_workers"]:
        failures.append(f"{label}: allocated units differ from the successful allocations")
    if checks["rows_with_reservations_off"] or checks["rows_with_ledger_off"]:
        failures.append(f"{label}: reservations or ledger do not add up")
    if run["deadlocks"]:
        failures.append(f"{label}: {run['deadlocks']} deadlocks")
    if run["errors"]:
        failures.append(f"{label}: errors {run['errors']}")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Full workload (default: quick).")
    options = parser.parse_args(argv)
    mode = "full" if options.full else "quick"
    baskets_per_process, pairs = MODES[mode]["baskets"], MODES[mode]["pairs"]
    url = _database_url()
    _ensure_database(url)
    _django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = _seed_stock()
    demand_units = sum(
        quantity
        for index in range(PROCESSES)
        for basket in _baskets(rows, index, baskets_per_process, "size")
        for _row, quantity, _reference in basket
    )
    units_per_row = int(demand_units * 0.9 / HOT_ROWS)
    samples: dict[str, list] = {"ours": [], "raw": []}
    failures: list[str] = []
    for pair in range(pairs):
        for contender in ("ours", "raw"):
            _reset(rows, units_per_row)
            run = _race(contender, rows, baskets_per_process, f"{pair}{contender}", url)
            samples[contender].append(run)
            failures += _failures(f"{contender} run {pair + 1}", run)
    ratios = [
        round(ours["allocations_per_second"] / raw["allocations_per_second"], 3)
        for ours, raw in zip(samples["ours"], samples["raw"], strict=True)
    ]
    report = {
        "benchmark": "B2",
        "mode": mode,
        "workload": {
            "processes": PROCESSES,
            "hot_rows": HOT_ROWS,
            "baskets_per_process": baskets_per_process,
            "lines_per_basket": "1-3",
            "units_per_row": units_per_row,
            "demand_units": demand_units,
            "pairs": pairs,
        },
        "metric": "successful allocations per second",
        "ours_per_second": [run["allocations_per_second"] for run in samples["ours"]],
        "raw_per_second": [run["allocations_per_second"] for run in samples["raw"]],
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "ratios": ratios,
        "target": ">= 0.6x raw, zero deadlocks",
        "meets_target": statistics.median(ratios) >= 0.6 and not failures,
        "deadlocks": sum(run["deadlocks"] for runs in samples.values() for run in runs),
        "samples": samples,
        "correctness_failures": failures,
    }
    print(json.dumps(report))
    if failures:
        print("CORRECTNESS CHECK FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
