"""The set-based PostgreSQL write path of a stock import.

Parsed rows are copied (psycopg 3 `COPY`) into a temporary staging table, one short
transaction per chunk so the job's progress is visible while the file streams in. A single
transaction then validates by joins (unknown SKU or warehouse, duplicates), locks the touched
stock rows in primary-key order (so a concurrent allocation waits instead of racing us),
checks the results against the locked values, inserts new levels with
`INSERT ... ON CONFLICT DO NOTHING` (a level someone else created meanwhile is reported, not
dropped), updates the rest in one UPDATE guarded by `on_hand >= allocated` (a row the guard
skips is reported too) and writes the ledger by `INSERT ... SELECT`. A kept write then clears
the low-stock alerts of the levels it lifted and raises those of the levels it made low, in
one pass over the written levels (`low_stock_refresh_locked`), as `stock_change` does for one.
"""

from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from inventory.alerts import low_stock_refresh_locked
from inventory.imports.errors import MAX_QUANTITY, RowError
from inventory.imports.outcome import ErrorSink, ImportCounts
from inventory.imports.reader import ParsedRow
from inventory.models import MovementReason, Product, StockLevel, StockMovement
from warehouses.models import Warehouse

STAGING_COLUMNS = (
    "row_number",
    "sku",
    "warehouse",
    "on_hand",
    "delta",
    "safety_stock",
    "reorder_point",
    "reorder_quantity",
    "error_code",
    "error_column",
    "error_value",
    "error_number",
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
    quote = connection.ops.quote_name
    table, resolved = quote(staging_name), quote(f"{staging_name}_resolved")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}, {resolved}")
        cursor.execute(_STAGING_DDL.format(staging=table))
    try:
        total = 0
        for chunk in chunks:
            with transaction.atomic(), connection.cursor() as cursor:
                _copy_chunk(cursor, table, chunk)
                total += len(chunk)
                on_progress(total)
        with transaction.atomic(), connection.cursor() as cursor:
            counts = _validate_and_write(cursor, table, resolved, reference, actor)
            counts.total_rows = total
            _collect_errors(resolved, errors)
            if keep(counts):
                low_stock_refresh_locked(levels=_written_levels(resolved))
            else:
                transaction.set_rollback(True)
        return counts
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}, {resolved}")


_STAGING_DDL = """
CREATE TEMPORARY TABLE {staging} (
    row_number integer NOT NULL,
    sku text NOT NULL,
    warehouse text NOT NULL,
    on_hand bigint, delta bigint,
    safety_stock bigint, reorder_point bigint, reorder_quantity bigint,
    error_code text, error_column text NOT NULL DEFAULT '', error_value text NOT NULL DEFAULT '',
    error_number bigint
)
"""


def _copy_chunk(cursor, table: str, chunk: list[ParsedRow]) -> None:
    columns = ", ".join(STAGING_COLUMNS)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in chunk:
            copy.write_row(
                (
                    row.row_number,
                    row.sku,
                    row.warehouse,
                    row.on_hand,
                    row.delta,
                    row.safety_stock,
                    row.reorder_point,
                    row.reorder_quantity,
                    row.error_code,
                    row.error_column,
                    row.error_value,
                    row.error_number,
                )
            )


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "product": quote(Product._meta.db_table),
        "warehouse_table": quote(Warehouse._meta.db_table),
        "level": quote(StockLevel._meta.db_table),
        "movement": quote(StockMovement._meta.db_table),
    }


# Lock every stock level the file names, in primary-key order, before reading any of them, so
# a concurrent allocation waits for the import instead of racing it (and neither deadlocks).
_LOCK = """
SELECT count(*) FROM (
    SELECT l.id FROM {level} l
      JOIN {product} p ON p.id = l.product_id
      JOIN {warehouse_table} w ON w.id = l.warehouse_id
      JOIN {staging} s ON s.sku = p.sku AND s.warehouse = w.code
     WHERE s.error_code IS NULL
     ORDER BY l.id
       FOR UPDATE OF l
) locked
"""

# One pass over the staged rows gives each its SKU, warehouse and locked stock level, the on
# hand it asks for, and its first problem: the reader's, then an unknown SKU or warehouse, a
# repeat of an earlier row of the same pair, and last a result the stock cannot take.
_RESOLVE = """
CREATE TEMPORARY TABLE {resolved} AS
SELECT checked.*,
       CASE WHEN error_code = '{duplicate}' THEN first_row
            WHEN error_code IN ('{negative_result}', '{result_too_large}', '{below_allocated}')
            THEN COALESCE(current_allocated, 0)
            ELSE staged_error_number END AS error_number,
       CASE WHEN error_code IN ('{negative_result}', '{result_too_large}', '{below_allocated}')
            THEN new_on_hand END AS result
  FROM (
    SELECT s.row_number, s.sku, s.warehouse, s.error_column, s.error_value,
           s.error_number AS staged_error_number, s.first_row,
           s.safety_stock, s.reorder_point, s.reorder_quantity,
           p.id AS product_id, w.id AS warehouse_id, l.id AS level_id,
           l.on_hand AS current_on_hand, l.allocated AS current_allocated,
           l.safety_stock AS current_safety_stock, n.new_on_hand,
           CASE WHEN s.error_code IS NOT NULL THEN s.error_code
                WHEN p.id IS NULL THEN '{unknown_sku}'
                WHEN w.id IS NULL THEN '{unknown_warehouse}'
                WHEN s.first_row <> s.row_number THEN '{duplicate}'
                WHEN n.new_on_hand < 0 THEN '{negative_result}'
                WHEN n.new_on_hand > {max_quantity} THEN '{result_too_large}'
                WHEN n.new_on_hand < COALESCE(l.allocated, 0) THEN '{below_allocated}'
           END AS error_code,
           l.id IS NULL
             OR n.new_on_hand IS DISTINCT FROM l.on_hand
             OR COALESCE(s.safety_stock, l.safety_stock) IS DISTINCT FROM l.safety_stock
             OR COALESCE(s.reorder_point, l.reorder_point) IS DISTINCT FROM l.reorder_point
             OR COALESCE(s.reorder_quantity, l.reorder_quantity)
                IS DISTINCT FROM l.reorder_quantity AS is_changed
      FROM (SELECT *, min(row_number) OVER (PARTITION BY sku, warehouse) AS first_row
              FROM {staging}) s
      LEFT JOIN {product} p ON p.sku = s.sku
      LEFT JOIN {warehouse_table} w ON w.code = s.warehouse
      LEFT JOIN {level} l ON l.product_id = p.id AND l.warehouse_id = w.id
     CROSS JOIN LATERAL (
        SELECT COALESCE(s.on_hand, COALESCE(l.on_hand, 0) + s.delta) AS new_on_hand
     ) n
  ) checked
"""

_EXPECTED = """
SELECT count(*) FILTER (WHERE level_id IS NULL), count(*) FILTER (WHERE level_id IS NOT NULL)
  FROM {resolved} WHERE error_code IS NULL AND is_changed
"""

# New levels are inserted (a level someone else created meanwhile is skipped, not
# overwritten), changed ones updated under the `on_hand >= allocated` guard, and the ledger
# written for exactly the rows that were, in file order. Only when some row was skipped are
# the skipped rows looked for and reported. The products of the written rows that leave more
# free to sell (on hand less allocated and safety stock) than before are returned, for the
# orders waiting for them.
_WRITE = """
WITH inserted AS (
    INSERT INTO {level} (product_id, warehouse_id, on_hand, allocated, safety_stock,
                         reorder_point, reorder_quantity, updated_at)
    SELECT product_id, warehouse_id, new_on_hand, 0, COALESCE(safety_stock, 0),
           COALESCE(reorder_point, 0), COALESCE(reorder_quantity, 0), now()
      FROM {resolved}
     WHERE error_code IS NULL AND level_id IS NULL
     ORDER BY product_id, warehouse_id
    ON CONFLICT (product_id, warehouse_id) DO NOTHING
    RETURNING id, product_id, warehouse_id
), updated AS (
    UPDATE {level} l
       SET on_hand = r.new_on_hand,
           safety_stock = COALESCE(r.safety_stock, l.safety_stock),
           reorder_point = COALESCE(r.reorder_point, l.reorder_point),
           reorder_quantity = COALESCE(r.reorder_quantity, l.reorder_quantity),
           updated_at = now()
      FROM {resolved} r
     WHERE l.id = r.level_id AND r.error_code IS NULL AND r.is_changed
       AND r.new_on_hand >= l.allocated
    RETURNING l.id
), recorded AS (
    INSERT INTO {movement} (stock_level_id, delta_on_hand, delta_allocated, reason, reference,
                            actor, note, created_at)
    SELECT level_id, delta, 0, %s, %s, %s, '', now()
      FROM (
        SELECT r.row_number, i.id AS level_id, r.new_on_hand AS delta
          FROM {resolved} r
          JOIN inserted i ON i.product_id = r.product_id AND i.warehouse_id = r.warehouse_id
         WHERE r.error_code IS NULL AND r.level_id IS NULL AND r.new_on_hand <> 0
         UNION ALL
        SELECT r.row_number, r.level_id, r.new_on_hand - r.current_on_hand
          FROM {resolved} r
          JOIN updated u ON u.id = r.level_id
         WHERE r.error_code IS NULL AND r.new_on_hand <> r.current_on_hand
      ) changes
     ORDER BY row_number
), skipped AS (
    UPDATE {resolved} r SET error_code = '{concurrent_change}'
      FROM (
        SELECT c.row_number
          FROM {resolved} c
          LEFT JOIN inserted i ON i.product_id = c.product_id AND i.warehouse_id = c.warehouse_id
          LEFT JOIN updated u ON u.id = c.level_id
         WHERE c.error_code IS NULL AND c.is_changed AND i.id IS NULL AND u.id IS NULL
      ) gone
     WHERE r.row_number = gone.row_number
       AND (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) <> %s
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated),
       ARRAY(
           SELECT r.product_id
             FROM {resolved} r
             JOIN inserted i ON i.product_id = r.product_id AND i.warehouse_id = r.warehouse_id
            WHERE r.error_code IS NULL AND r.level_id IS NULL
              AND r.new_on_hand - COALESCE(r.safety_stock, 0) > 0
            UNION
           SELECT r.product_id
             FROM {resolved} r
             JOIN updated u ON u.id = r.level_id
            WHERE r.error_code IS NULL
              AND GREATEST(r.new_on_hand - r.current_allocated
                           - COALESCE(r.safety_stock, r.current_safety_stock), 0)
                > GREATEST(r.current_on_hand - r.current_allocated - r.current_safety_stock, 0)
       )
"""

_COUNTS = """
SELECT count(*) FILTER (WHERE error_code IS NOT NULL),
       count(*) FILTER (WHERE error_code IS NULL AND level_id IS NULL),
       count(*) FILTER (WHERE error_code IS NULL AND level_id IS NOT NULL AND is_changed),
       count(*) FILTER (WHERE error_code IS NULL AND level_id IS NOT NULL AND NOT is_changed)
  FROM {resolved}
"""


def _validate_and_write(
    cursor, table: str, resolved: str, reference: str, actor: str
) -> ImportCounts:
    names = {
        "staging": table,
        "resolved": resolved,
        "max_quantity": MAX_QUANTITY,
        **_tables(),
        **{
            name.lower(): value
            for name, value in vars(RowError).items()
            if not name.startswith("_")
        },
    }
    # Enough memory to hash and sort a whole file's rows without spilling to disk.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute(f"ANALYZE {table}")
    cursor.execute(_LOCK.format(**names))
    cursor.execute(_RESOLVE.format(**names))
    cursor.execute(f"ANALYZE {resolved}")
    cursor.execute(_EXPECTED.format(**names))
    expected_new, expected_changed = cursor.fetchone()
    cursor.execute(
        _WRITE.format(**names),
        [
            MovementReason.IMPORT.value,
            reference[:100],
            actor[:150],
            expected_new + expected_changed,
        ],
    )
    _inserted, _updated, freed_product_ids = cursor.fetchone()
    cursor.execute(_COUNTS.format(**names))
    error_rows, inserted, updated, unchanged = cursor.fetchone()
    return ImportCounts(
        error_rows=error_rows, inserted=inserted, updated=updated, unchanged=unchanged,
        freed_product_ids=set(freed_product_ids),
    )


def _written_levels(resolved: str):
    """The levels the write created or changed (rows it skipped carry an error by now)."""
    level = connection.ops.quote_name(StockLevel._meta.db_table)
    return StockLevel.objects.filter(
        pk__in=RawSQL(
            f"SELECT l.id FROM {level} l JOIN {resolved} r ON r.product_id = l.product_id"
            f" AND r.warehouse_id = l.warehouse_id WHERE r.error_code IS NULL AND r.is_changed",
            [],
        )
    )


def _collect_errors(resolved: str, errors: ErrorSink) -> None:
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT row_number, sku, warehouse, error_code, error_column, error_value, "
            f"error_number, result FROM {resolved} WHERE error_code IS NOT NULL "
            f"ORDER BY row_number"
        )
        while batch := cursor.fetchmany(2000):
            for row_number, sku, warehouse, code, column, value, number, result in batch:
                errors.add(
                    row_number=row_number,
                    sku=sku,
                    warehouse=warehouse,
                    code=code,
                    column=column,
                    value=value,
                    number=number,
                    result=result,
                )
