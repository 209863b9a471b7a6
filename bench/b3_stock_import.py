"""B3: a stock CSV of 100k rows (quick: 10k) through the real import path, against its peers.

Workload (seeded): 70% of the rows update existing stock levels, 30% create new ones, 0.5% are
bad (unknown SKU, negative, fractional, duplicate of an earlier row), mode `apply_valid`.

Implementations, run interleaved (ours, COPY, default resource, ours, ...) from the same
starting state, each sample in a fresh process so its peak RSS is its own:

- ours: `inventory.imports` (the service behind the API and the admin): the file is checked,
  staged with COPY, validated by joins, written with ledger rows, bad rows reported;
- COPY ceiling: raw psycopg, COPY of the already valid rows into a staging table and one
  `INSERT ... ON CONFLICT DO UPDATE` (no validation, no ledger);
- users' pick: a default django-import-export `ModelResource` keyed on (product, warehouse),
  on a 20k-row slice (quick: 2k).

Correctness checks (the run fails loudly if one fails): the final stock equals the expected
state for every implementation; ours reports every planted bad row with its row number and
code, and every touched level's ledger sums to its on hand.

    python -m bench.b3_stock_import [--quick] [--pairs 3] [--database oms_bench_b3]
"""

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
WAREHOUSES = [f"B3-WH{number}" for number in range(1, 6)]
BAD_KINDS = ("unknown_sku", "negative_quantity", "not_integer", "duplicate_row")
SEED = 20260310


# --- data -----------------------------------------------------------------------------------


def build_workload(rows: int) -> dict:
    """Plan the seed stock, the CSV rows, the planted bad rows and the expected final stock."""
    rng = random.Random(SEED)
    existing_count = int(rows * 0.7)
    seed_levels = {
        (f"B3-{index:07d}", WAREHOUSES[index % 5]): rng.randint(0, 1000)
        for index in range(existing_count)
    }
    lines, expected = [], dict(seed_levels)
    for index in range(rows):
        pair = (f"B3-{index:07d}", WAREHOUSES[index % 5])
        if pair in seed_levels and rng.random() < 0.2:
            delta = rng.randint(1, 50)
            lines.append([pair[0], pair[1], "", str(delta)])
            expected[pair] = seed_levels[pair] + delta
        else:
            quantity = rng.randint(0, 1000)
            lines.append([pair[0], pair[1], str(quantity), ""])
            expected[pair] = quantity
    order = list(range(rows))
    rng.shuffle(order)
    lines = [lines[position] for position in order]
    bad_count = max(int(rows * 0.005), len(BAD_KINDS))
    bad_rows = {}
    for number, position in enumerate(rng.sample(range(rows // 10, rows), bad_count)):
        kind = BAD_KINDS[number % len(BAD_KINDS)]
        sku, warehouse, on_hand, delta = lines[position]
        pair = (sku, warehouse)
        expected[pair] = seed_levels.get(pair)
        if kind == "duplicate_row":
            first = lines[rng.randrange(0, rows // 10)]
            lines[position] = [first[0], first[1], "7", ""]
        else:
            if kind == "unknown_sku":
                lines[position] = [f"NOPE-{position}", warehouse, "5", ""]
            elif kind == "negative_quantity":
                lines[position] = [sku, warehouse, "-5", ""]
            else:
                lines[position] = [sku, warehouse, "1.5", ""]
        bad_rows[position + 2] = kind
    expected = {pair: value for pair, value in expected.items() if value is not None}
    return {"seed": seed_levels, "lines": lines, "bad_rows": bad_rows, "expected": expected,
            "products": rows}


def valid_absolute_rows(workload: dict) -> list[tuple[str, str, int]]:
    """The rows a peer without validation is given: one absolute count per valid pair."""
    return [(sku, warehouse, on_hand) for (sku, warehouse), on_hand
            in sorted(workload["expected"].items())]


def write_csv(workload: dict, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["sku", "warehouse", "on_hand", "delta"])
        writer.writerows(workload["lines"])


# --- database -------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def create_database(name: str) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
        env={**os.environ, "DATABASE_URL": database_url(name)},
    )


def seed(connection, workload: dict) -> None:
    """Products, warehouses and the starting stock levels, each with its seed ledger row."""
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY warehouses_warehouse (code, name, kind, line1, line2, city, region, "
            "postal_code, country, priority, is_active, can_ship, pickup_enabled, timezone, "
            "handling_days, accepted_freight_classes, ships_to_countries, contact_emails, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for code in WAREHOUSES:
                copy.write_row((code, code, "warehouse", "", "", "", "", "", "US", 100, True,
                                True, False, "UTC", 0, "[]", "[]", "[]", "now", "now"))
        with cursor.copy(
            "COPY inventory_product (sku, name, external_id, barcode, freight_class, "
            "low_stock_threshold, is_active, created_at, updated_at) FROM STDIN"
        ) as copy:
            for index in range(workload["products"]):
                copy.write_row((f"B3-{index:07d}", f"Product {index}", "", "", "standard", 5,
                                True, "now", "now"))
        cursor.execute("CREATE TABLE bench_seed (sku text, warehouse text, on_hand integer)")
        with cursor.copy("COPY bench_seed FROM STDIN") as copy:
            for (sku, warehouse), on_hand in workload["seed"].items():
                copy.write_row((sku, warehouse, on_hand))
        cursor.execute(
            "INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, allocated, "
            "safety_stock, reorder_point, reorder_quantity, updated_at) "
            "SELECT p.id, w.id, s.on_hand, 0, 0, 0, 0, now() FROM bench_seed s "
            "JOIN inventory_product p ON p.sku = s.sku "
            "JOIN warehouses_warehouse w ON w.code = s.warehouse ORDER BY p.id"
        )
        cursor.execute(
            "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand, "
            "delta_allocated, reason, reference, actor, note, created_at) "
            "SELECT id, on_hand, 0, 'receipt', 'bench:seed', 'bench', '', now() "
            "FROM inventory_stocklevel WHERE on_hand <> 0"
        )
        cursor.execute(
            "CREATE TABLE bench_seed_max AS SELECT max(id) AS id FROM inventory_stocklevel"
        )
    connection.commit()


def reset(connection) -> None:
    """Put the stock back to the seeded state (the same start for every sample)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_stockmovement WHERE reference <> 'bench:seed'")
        cursor.execute(
            "DELETE FROM inventory_stocklevel WHERE id > (SELECT id FROM bench_seed_max)"
        )
        cursor.execute(
            "UPDATE inventory_stocklevel l SET on_hand = s.on_hand FROM bench_seed s, "
            "inventory_product p, warehouses_warehouse w WHERE p.sku = s.sku AND "
            "w.code = s.warehouse AND l.product_id = p.id AND l.warehouse_id = w.id "
            "AND l.on_hand <> s.on_hand"
        )
        cursor.execute("DELETE FROM inventory_importjob")
    connection.commit()
    connection.autocommit = True
    connection.execute("VACUUM ANALYZE inventory_stocklevel")
    connection.autocommit = False


def stock_state(connection) -> dict:
    rows = connection.execute(
        "SELECT p.sku, w.code, l.on_hand FROM inventory_stocklevel l "
        "JOIN inventory_product p ON p.id = l.product_id "
        "JOIN warehouses_warehouse w ON w.id = l.warehouse_id"
    ).fetchall()
    return {(sku, code): on_hand for sku, code, on_hand in rows}


def ledger_mismatches(connection) -> int:
    return connection.execute(
        "SELECT count(*) FROM inventory_stocklevel l WHERE l.on_hand <> COALESCE((SELECT "
        "sum(delta_on_hand) FROM inventory_stockmovement m WHERE m.stock_level_id = l.id), 0)"
    ).fetchone()[0]


# --- the implementations (each run in its own process) --------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def run_ours(csv_path: str) -> dict:
    setup_django()
    from django.core.files import File

    from inventory.imports import import_job_create, import_job_run

    started = time.perf_counter()
    with open(csv_path, "rb") as file:
        job = import_job_create(file=File(file, name="b3.csv"), mode="apply_valid",
                                actor="bench", run=False)
    job = import_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    from django.core.files.storage import default_storage

    from inventory.imports.jobs import error_file_name

    with default_storage.open(error_file_name(job), "r") as errors:
        reported = {int(row["row"]): row["code"] for row in csv.DictReader(errors)}
    return {"seconds": elapsed, "status": job.status, "error_rows": job.error_rows,
            "inserted": job.inserted, "updated": job.updated, "unchanged": job.unchanged,
            "reported": reported}


def run_copy(rows_path: str, url: str) -> dict:
    with open(rows_path) as file:
        rows = json.load(file)
    started = time.perf_counter()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE staging (sku text, warehouse text, on_hand integer)")
        with cursor.copy("COPY staging FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            "INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, allocated, "
            "safety_stock, reorder_point, reorder_quantity, updated_at) "
            "SELECT p.id, w.id, s.on_hand, 0, 0, 0, 0, now() FROM staging s "
            "JOIN inventory_product p ON p.sku = s.sku "
            "JOIN warehouses_warehouse w ON w.code = s.warehouse "
            "ON CONFLICT (product_id, warehouse_id) DO UPDATE "
            "SET on_hand = EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at "
            "WHERE inventory_stocklevel.allocated <= EXCLUDED.on_hand"
        )
    return {"seconds": time.perf_counter() - started}


def run_default_resource(rows_path: str) -> dict:
    setup_django()
    import tablib
    from import_export import fields, resources, widgets

    from inventory.models import Product, StockLevel
    from warehouses.models import Warehouse

    class DefaultStockResource(resources.ModelResource):
        product = fields.Field(attribute="product", column_name="product",
                               widget=widgets.ForeignKeyWidget(Product, "sku"))
        warehouse = fields.Field(attribute="warehouse", column_name="warehouse",
                                 widget=widgets.ForeignKeyWidget(Warehouse, "code"))

        class Meta:
            model = StockLevel
            fields = ("product", "warehouse", "on_hand")
            import_id_fields = ("product", "warehouse")

    with open(rows_path) as file:
        rows = json.load(file)
    dataset = tablib.Dataset(*rows, headers=["product", "warehouse", "on_hand"])
    started = time.perf_counter()
    result = DefaultStockResource().import_data(dataset, dry_run=False, raise_errors=False)
    return {"seconds": time.perf_counter() - started, "has_errors": result.has_errors()}


def worker(arguments) -> None:
    if arguments.worker == "ours":
        outcome = run_ours(arguments.input)
    elif arguments.worker == "copy":
        outcome = run_copy(arguments.input, os.environ["DATABASE_URL"])
    else:
        outcome = run_default_resource(arguments.input)
    outcome["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(outcome))


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    `getrusage(...).ru_maxrss` is not used: Linux carries it over `fork` and `exec`, so a worker
    would report the bench parent's peak instead of its own. `VmHWM` belongs to this process
    image only.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the run --------------------------------------------------------------------------------


def sample(kind: str, input_path: Path, environment: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.b3_stock_import", "--worker", kind, "--input",
         str(input_path)],
        cwd=ROOT, env=environment, check=True, capture_output=True, text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1), "samples": [round(value, 1) for value in values]}


def main(arguments) -> None:
    rows = 10_000 if arguments.quick else 100_000
    slice_rows = 2_000 if arguments.quick else 20_000
    workload = build_workload(rows)
    work = Path(tempfile.mkdtemp(prefix="b3-"))
    csv_path = work / "stock.csv"
    write_csv(workload, csv_path)
    absolute = valid_absolute_rows(workload)
    (work / "copy.json").write_text(json.dumps(absolute))
    slice_pairs = random.Random(SEED).sample(absolute, slice_rows)
    (work / "slice.json").write_text(json.dumps(slice_pairs))
    create_database(arguments.database)
    url = database_url(arguments.database)
    environment = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(work / "media"),
                   "LOG_LEVEL": "WARNING"}
    connection = psycopg.connect(url)
    seed(connection, workload)
    seed_state = stock_state(connection)
    checks, rates = [], {"ours": [], "copy": [], "default_resource": []}
    rss = {"ours": [], "copy": [], "default_resource": []}
    ours_outcome = None
    for _ in range(arguments.pairs):
        for kind, input_path, count in (("ours", csv_path, rows), ("copy", work / "copy.json",
                                        len(absolute)), ("default", work / "slice.json",
                                                         slice_rows)):
            reset(connection)
            outcome = sample(kind, input_path, environment)
            name = "default_resource" if kind == "default" else kind
            rates[name].append(count / outcome["seconds"])
            rss[name].append(outcome["peak_rss_mb"])
            state = stock_state(connection)
            if kind == "default":
                wanted = {**seed_state, **{(sku, code): value for sku, code, value
                                           in slice_pairs}}
            else:
                wanted = workload["expected"]
            checks.append({"implementation": name, "state_matches": state == wanted})
            if kind == "ours":
                ours_outcome = outcome
                checks[-1]["bad_rows_reported"] = outcome["reported"] == {
                    str(row): code for row, code in workload["bad_rows"].items()
                }
                checks[-1]["ledger_mismatches"] = ledger_mismatches(connection)
    connection.close()
    failed = [check for check in checks if not check["state_matches"]
              or check.get("bad_rows_reported") is False or check.get("ledger_mismatches")]
    medians = {name: statistics.median(values) for name, values in rates.items()}
    result = {
        "benchmark": "B3",
        "mode": "quick" if arguments.quick else "full",
        "workload": {"rows": rows, "updates": int(rows * 0.7), "inserts": rows - int(rows * 0.7),
                     "bad_rows": len(workload["bad_rows"]), "default_resource_rows": slice_rows,
                     "pairs": arguments.pairs},
        "rows_per_second": {name: summary(values) for name, values in rates.items()},
        "peak_rss_mb": {name: summary(values) for name, values in rss.items()},
        "ratios": {
            "ours_vs_copy": round(medians["ours"] / medians["copy"], 3),
            "ours_vs_default_resource": round(medians["ours"] / medians["default_resource"], 1),
            "per_pair_ours_vs_copy": [round(a / b, 3) for a, b in zip(rates["ours"],
                                                                       rates["copy"],
                                                                       strict=True)],
        },
        "ours_counts": {key: ours_outcome[key] for key in ("status", "error_rows", "inserted",
                                                            "updated", "unchanged")},
        "targets": {"ours_vs_copy_min": 0.2, "ours_vs_default_min": 20, "rss_max_mb": 250},
        "checks": checks,
        "correct": not failed,
    }
    print(json.dumps(result))
    if failed:
        raise SystemExit(f"B3 correctness check failed: {failed}")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows instead of 100k")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--database", default="oms_bench_b3")
    parser.add_argument("--worker", choices=["ours", "copy", "default"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    if arguments.worker:
        worker(arguments)
    else:
        main(arguments)
