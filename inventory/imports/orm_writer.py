"""The bulk-ORM write path of a stock import (SQLite, and any database without COPY).

Rows are processed in chunks with a constant number of queries per chunk: one lookup of the
chunk's SKUs, one of its warehouses, one locked read of its stock levels (in primary-key
order), then `bulk_create` for new levels, `bulk_update` for changed ones and `bulk_create` for
their ledger rows. Everything runs in one transaction that the caller's `keep` decides to
commit or roll back, so "all or nothing" and dry runs see exactly what a real run would do.
A kept write then clears the low-stock alerts of the levels it lifted and raises those of the
levels it made low, a chunk's worth of levels per query, as `stock_change` does for one.
"""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

from inventory.alerts import low_stock_refresh_locked
from inventory.imports.errors import MAX_QUANTITY, RowError
from inventory.imports.outcome import ErrorSink, ImportCounts
from inventory.imports.reader import CHUNK_ROWS, SETTING_COLUMNS, ParsedRow
from inventory.models import MovementReason, Product, StockLevel, StockMovement
from warehouses.models import Warehouse


def stock_import_with_orm(
    *,
    chunks: Iterable[list[ParsedRow]],
    reference: str,
    actor: str,
    errors: ErrorSink,
    on_progress: Callable[[int], None],
    keep: Callable[[ImportCounts], bool],
) -> ImportCounts:
    """Validate and write every chunk; commit only if `keep(counts)` says so."""
    counts = ImportCounts()
    first_rows: dict[tuple[str, str], int] = {}
    written_level_ids: list[int] = []
    with transaction.atomic():
        for chunk in chunks:
            written_level_ids += _import_chunk(chunk, first_rows, reference, actor, errors, counts)
            counts.total_rows += len(chunk)
            on_progress(counts.total_rows)
        counts.error_rows = errors.count
        if not keep(counts):
            transaction.set_rollback(True)
            return counts
        for start in range(0, len(written_level_ids), CHUNK_ROWS):
            low_stock_refresh_locked(
                levels=StockLevel.objects.filter(
                    pk__in=written_level_ids[start:start + CHUNK_ROWS]
                )
            )
    return counts


def _import_chunk(chunk, first_rows, reference, actor, errors, counts) -> list[int]:
    """Validate and write one chunk; return the ids of the levels it created or changed."""
    products = dict(
        Product.objects.filter(sku__in={row.sku for row in chunk if row.sku}).values_list(
            "sku", "id"
        )
    )
    warehouses = dict(
        Warehouse.objects.filter(
            code__in={row.warehouse for row in chunk if row.warehouse}
        ).values_list("code", "id")
    )
    candidates: list[tuple[ParsedRow, tuple[int, int]]] = []
    for row in chunk:
        key = _first_row_key(row, first_rows)
        if row.error_code is None:
            _check_references(row, products, warehouses, first_rows, key)
        if row.error_code is None:
            candidates.append((row, (products[row.sku], warehouses[row.warehouse])))
    levels = _lock_levels([pair for _, pair in candidates])
    now = timezone.now()
    new_levels, changed_levels, movements = [], [], []
    for row, pair in candidates:
        level = levels.get(pair)
        current_on_hand = level.on_hand if level else 0
        new_on_hand = row.on_hand if row.on_hand is not None else current_on_hand + row.delta
        failure = _state_failure(new_on_hand, level.allocated if level else 0)
        if failure:
            row.fail(failure, number=level.allocated if level else 0)
            row.error_value = str(new_on_hand)
            continue
        free_before = _free_to_sell(level)
        if level is None:
            level = StockLevel(product_id=pair[0], warehouse_id=pair[1], on_hand=new_on_hand,
                               updated_at=now, **_settings(row, None))
            new_levels.append(level)
            counts.inserted += 1
        else:
            settings_after = _settings(row, level)
            is_changed = new_on_hand != level.on_hand or any(
                getattr(level, name) != value for name, value in settings_after.items()
            )
            if not is_changed:
                counts.unchanged += 1
                continue
            level.on_hand, level.updated_at = new_on_hand, now
            for name, value in settings_after.items():
                setattr(level, name, value)
            changed_levels.append(level)
            counts.updated += 1
        if _free_to_sell(level) > free_before:
            counts.freed_product_ids.add(pair[0])
        if new_on_hand != current_on_hand:
            movements.append((level, new_on_hand - current_on_hand))
    for row in chunk:
        if row.error_code:
            errors.add_parsed(row, result=_result_of(row))
    _write(new_levels, changed_levels, movements, reference, actor)
    return [level.pk for level in (*new_levels, *changed_levels)]


def _first_row_key(row: ParsedRow, first_rows: dict) -> tuple[str, str] | None:
    if not (row.sku and row.warehouse):
        return None
    key = (row.sku, row.warehouse)
    first_rows.setdefault(key, row.row_number)
    return key


def _check_references(row, products, warehouses, first_rows, key) -> None:
    if row.sku not in products:
        row.fail(RowError.UNKNOWN_SKU)
    elif row.warehouse not in warehouses:
        row.fail(RowError.UNKNOWN_WAREHOUSE)
    elif first_rows[key] != row.row_number:
        row.fail(RowError.DUPLICATE, number=first_rows[key])


def _state_failure(new_on_hand: int, allocated: int) -> str | None:
    if new_on_hand < 0:
        return RowError.NEGATIVE_RESULT
    if new_on_hand > MAX_QUANTITY:
        return RowError.RESULT_TOO_LARGE
    if new_on_hand < allocated:
        return RowError.BELOW_ALLOCATED
    return None


def _free_to_sell(level: StockLevel | None) -> int:
    """Units of the level that an order could take (none where there is no level yet)."""
    if level is None:
        return 0
    return max(level.on_hand - level.allocated - level.safety_stock, 0)


def _result_of(row: ParsedRow) -> int | None:
    if row.error_code in (RowError.NEGATIVE_RESULT, RowError.RESULT_TOO_LARGE,
                          RowError.BELOW_ALLOCATED):
        return int(row.error_value)
    return None


def _settings(row: ParsedRow, level: StockLevel | None) -> dict[str, int]:
    return {
        name: getattr(row, name) if getattr(row, name) is not None
        else (getattr(level, name) if level else 0)
        for name in SETTING_COLUMNS
    }


def _lock_levels(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    if not pairs:
        return {}
    wanted = set(pairs)
    rows = (
        StockLevel.objects.select_for_update()
        .filter(product_id__in={pair[0] for pair in pairs},
                warehouse_id__in={pair[1] for pair in pairs})
        .only("id", "product_id", "warehouse_id", "on_hand", "allocated", *SETTING_COLUMNS)
        .order_by("pk")
    )
    return {
        (level.product_id, level.warehouse_id): level
        for level in rows
        if (level.product_id, level.warehouse_id) in wanted
    }


def _write(new_levels, changed_levels, movements, reference, actor) -> None:
    if new_levels:
        StockLevel.objects.bulk_create(new_levels, batch_size=1000)
    if changed_levels:
        StockLevel.objects.bulk_update(
            changed_levels, ["on_hand", *SETTING_COLUMNS, "updated_at"], batch_size=1000
        )
    if movements:
        StockMovement.objects.bulk_create(
            [
                StockMovement(stock_level_id=level.pk, delta_on_hand=delta, delta_allocated=0,
                              reason=MovementReason.IMPORT, reference=reference[:100],
                              actor=actor[:150])
                for level, delta in movements
            ],
            batch_size=2000,
        )
