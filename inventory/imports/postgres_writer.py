"""The set-based PostgreSQL write path of a stock import.

Parsed rows are copied (psycopg 3 `COPY`) into a temporary staging table, one short
transaction per chunk so the job's progress is visible while the file streams in. A single
transaction then validates by joins (unknown SKU or warehouse, duplicates), locks the touched
stock rows in primary-key order (so a concurrent allocation waits instead of racing us),
checks the results against the locked values, inserts new levels with
`INSERT ... ON CONFLICT DO NOTHING` (a level someone else created meanwhile is reported, not
dropped), updates the rest in one UPDATE guarded by `on_hand >= allocated` (a row the guard
skips is reported too) and writes the ledger by `INSERT ... SELECT`.
"""

from collections.abc import Callable, Iterable

from django.db import connection, transaction

from inventory.imports.errors import MAX_QUANTITY, RowError
from inventory.imports.outcome import ErrorSink, ImportCounts
from inventory.imports.reader import ParsedRow
from inventory.models import MovementReason, Product, StockLevel, StockMovement
from warehouses.models import Warehouse

STAGING_COLUMNS = (
    "row_number", "sku", "warehouse", "on_hand", "delta", "safety_stock", "reorder_point",
    "reorder_quantity", "error_code", "error_column", "error_value", "error_number",
)


def stock_import_with_copy(
    *,
    chunks: Iterable[list[ParsedRow]],
    reference: str,
    actor: str,
    errors: ErrorSink,
    on_progress: Callable[[int], None],
    keep: Callable[[ImportCounts], bool],
    staging_name: str = "stock_import_staging",
) -> ImportCounts:
    """Stage, validate and write the rows; commit the write only if `keep(counts)` says so."""
    table = connection.ops.quote_name(staging_name)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(_STAGING_DDL.format(staging=table))
    try:
        total = 0
        for chunk in chunks:
            with transaction.atomic(), connection.cursor() as cursor:
                _copy_chunk(cursor, table, chunk)
                total += len(chunk)
                on_progress(total)
        with transaction.atomic(), connection.cursor() as cursor:
            counts = _validate_and_write(cursor, table, reference, actor)
            counts.total_rows = total
            _collect_errors(table, errors)
            if not keep(counts):
                transaction.set_rollback(True)
        return counts
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


_STAGING_DDL = """
CREATE TEMPORARY TABLE {staging} (
    row_number integer PRIMARY KEY,
    sku text NOT NULL,
    warehouse text NOT NULL,
    on_hand bigint, delta bigint,
    safety_stock bigint, reorder_point bigint, reorder_quantity bigint,
    error_code text, error_column text NOT NULL DEFAULT '', error_value text NOT NULL DEFAULT '',
    error_number bigint, result bigint,
    product_id bigint, warehouse_id bigint, level_id bigint,
    current_on_hand bigint, current_allocated bigint, current_safety_stock bigint,
    current_reorder_point bigint, current_reorder_quantity bigint,
    new_on_hand bigint, is_new boolean NOT NULL DEFAULT false,
    is_changed boolean NOT NULL DEFAULT false
)
"""


def _copy_chunk(cursor, table: str, chunk: list[ParsedRow]) -> None:
    columns = ", ".join(STAGING_COLUMNS)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in chunk:
            copy.write_row(
                (row.row_number, row.sku, row.warehouse, row.on_hand, row.delta,
                 row.safety_stock, row.reorder_point, row.reorder_quantity, row.error_code,
                 row.error_column, row.error_value, row.error_number)
            )


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "product": quote(Product._meta.db_table),
        "warehouse_table": quote(Warehouse._meta.db_table),
        "level": quote(StockLevel._meta.db_table),
        "movement": quote(StockMovement._meta.db_table),
    }


_VALIDATE_REFERENCES = """
UPDATE {staging} s SET product_id = p.id FROM {product} p WHERE p.sku = s.sku;
UPDATE {staging} s SET warehouse_id = w.id FROM {warehouse_table} w WHERE w.code = s.warehouse;
UPDATE {staging} SET error_code = '{unknown_sku}'
 WHERE error_code IS NULL AND product_id IS NULL;
UPDATE {staging} SET error_code = '{unknown_warehouse}'
 WHERE error_code IS NULL AND warehouse_id IS NULL;
UPDATE {staging} s SET error_code = '{duplicate}', error_number = d.first_row
  FROM (SELECT row_number, min(row_number) OVER (PARTITION BY sku, warehouse) AS first_row
          FROM {staging} WHERE sku <> '' AND warehouse <> '') d
 WHERE s.row_number = d.row_number AND d.first_row <> s.row_number AND s.error_code IS NULL;
"""

_LOCK_AND_READ = """
ANALYZE {staging};
SELECT count(*) FROM (
    SELECT l.id FROM {level} l
      JOIN {staging} s ON s.product_id = l.product_id AND s.warehouse_id = l.warehouse_id
     WHERE s.error_code IS NULL
     ORDER BY l.id
       FOR UPDATE OF l
) locked;
UPDATE {staging} s
   SET level_id = l.id, current_on_hand = l.on_hand, current_allocated = l.allocated,
       current_safety_stock = l.safety_stock, current_reorder_point = l.reorder_point,
       current_reorder_quantity = l.reorder_quantity
  FROM {level} l
 WHERE s.product_id = l.product_id AND s.warehouse_id = l.warehouse_id AND s.error_code IS NULL;
UPDATE {staging}
   SET new_on_hand = COALESCE(on_hand, COALESCE(current_on_hand, 0) + delta)
 WHERE error_code IS NULL;
UPDATE {staging}
   SET error_code = CASE
           WHEN new_on_hand < 0 THEN '{negative_result}'
           WHEN new_on_hand > {max_quantity} THEN '{result_too_large}'
           ELSE '{below_allocated}' END,
       result = new_on_hand, error_number = COALESCE(current_allocated, 0)
 WHERE error_code IS NULL
   AND (new_on_hand < 0 OR new_on_hand > {max_quantity}
        OR new_on_hand < COALESCE(current_allocated, 0));
CREATE INDEX ON {staging} (product_id, warehouse_id);
CREATE INDEX ON {staging} (level_id);
ANALYZE {staging};
UPDATE {staging}
   SET is_changed = new_on_hand IS DISTINCT FROM current_on_hand
       OR COALESCE(safety_stock, current_safety_stock) IS DISTINCT FROM current_safety_stock
       OR COALESCE(reorder_point, current_reorder_point) IS DISTINCT FROM current_reorder_point
       OR COALESCE(reorder_quantity, current_reorder_quantity)
          IS DISTINCT FROM current_reorder_quantity
 WHERE error_code IS NULL AND level_id IS NOT NULL;
"""

_INSERT_NEW = """
WITH inserted AS (
    INSERT INTO {level} (product_id, warehouse_id, on_hand, allocated, safety_stock,
                         reorder_point, reorder_quantity, updated_at)
    SELECT product_id, warehouse_id, new_on_hand, 0, COALESCE(safety_stock, 0),
           COALESCE(reorder_point, 0), COALESCE(reorder_quantity, 0), now()
      FROM {staging}
     WHERE error_code IS NULL AND level_id IS NULL
     ORDER BY product_id, warehouse_id
    ON CONFLICT (product_id, warehouse_id) DO NOTHING
    RETURNING id, product_id, warehouse_id
)
UPDATE {staging} s SET level_id = i.id, is_new = true, is_changed = true
  FROM inserted i
 WHERE s.product_id = i.product_id AND s.warehouse_id = i.warehouse_id AND s.error_code IS NULL;
UPDATE {staging} SET error_code = '{concurrent_change}'
 WHERE error_code IS NULL AND level_id IS NULL;
"""

_UPDATE_EXISTING = """
UPDATE {level} l
   SET on_hand = s.new_on_hand,
       safety_stock = COALESCE(s.safety_stock, l.safety_stock),
       reorder_point = COALESCE(s.reorder_point, l.reorder_point),
       reorder_quantity = COALESCE(s.reorder_quantity, l.reorder_quantity),
       updated_at = now()
  FROM {staging} s
 WHERE l.id = s.level_id AND s.error_code IS NULL AND s.is_changed AND NOT s.is_new
   AND s.new_on_hand >= l.allocated;
SELECT count(*) FROM {staging} WHERE error_code IS NULL AND is_changed AND NOT is_new;
UPDATE {staging} s SET error_code = '{concurrent_change}', result = s.new_on_hand,
       error_number = l.allocated
  FROM {level} l
 WHERE l.id = s.level_id AND s.error_code IS NULL AND s.is_changed AND NOT s.is_new
   AND s.new_on_hand < l.allocated;
INSERT INTO {movement} (stock_level_id, delta_on_hand, delta_allocated, reason, reference,
                        actor, note, created_at)
SELECT level_id, new_on_hand - COALESCE(current_on_hand, 0), 0, %s, %s, %s, '', now()
  FROM {staging}
 WHERE error_code IS NULL AND new_on_hand <> COALESCE(current_on_hand, 0)
 ORDER BY row_number;
"""

_COUNTS = """
SELECT count(*) FILTER (WHERE error_code IS NOT NULL),
       count(*) FILTER (WHERE error_code IS NULL AND is_new),
       count(*) FILTER (WHERE error_code IS NULL AND NOT is_new AND is_changed),
       count(*) FILTER (WHERE error_code IS NULL AND NOT is_new AND NOT is_changed)
  FROM {staging}
"""


def _validate_and_write(cursor, table: str, reference: str, actor: str) -> ImportCounts:
    names = {
        "staging": table, "max_quantity": MAX_QUANTITY, **_tables(),
        **{name.lower(): value for name, value in vars(RowError).items()
           if not name.startswith("_")},
    }
    for script in (_VALIDATE_REFERENCES, _LOCK_AND_READ, _INSERT_NEW):
        for statement in _statements(script.format(**names)):
            cursor.execute(statement)
    update, expected_count, mark_lost, ledger = _statements(_UPDATE_EXISTING.format(**names))
    cursor.execute(update)
    updated_count = cursor.rowcount
    cursor.execute(expected_count)
    if cursor.fetchone()[0] != updated_count:
        # Only possible if a row escaped the lock: report it rather than drop it silently.
        cursor.execute(mark_lost)
    cursor.execute(ledger, [MovementReason.IMPORT.value, reference[:100], actor[:150]])
    cursor.execute(_COUNTS.format(**names))
    error_rows, inserted, updated, unchanged = cursor.fetchone()
    return ImportCounts(error_rows=error_rows, inserted=inserted, updated=updated,
                        unchanged=unchanged)


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _collect_errors(table: str, errors: ErrorSink) -> None:
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT row_number, sku, warehouse, error_code, error_column, error_value, "
            f"error_number, result FROM {table} WHERE error_code IS NOT NULL ORDER BY row_number"
        )
        while batch := cursor.fetchmany(2000):
            for row_number, sku, warehouse, code, column, value, number, result in batch:
                errors.add(row_number=row_number, sku=sku, warehouse=warehouse, code=code,
                           column=column, value=value, number=number, result=result)
