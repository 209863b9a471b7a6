"""Every write to stock: receipts, adjustments, counts, allocation, release and shipment.

Each function opens its own transaction, changes `on_hand`/`allocated` only through
conditional UPDATEs (never read-modify-save), writes one `StockMovement` per change, and
touches stock rows in primary-key order so concurrent callers never deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from inventory.alerts import (
    low_stock_alert_if_needed,
    low_stock_clear_recovered,
    low_stock_refresh,
)
from inventory.errors import BelowAllocated, InsufficientStock, InvalidQuantity, StockChanged
from inventory.models import MovementReason, Product, StockLevel, StockMovement, StockReservation
from warehouses.models import Warehouse

MAX_QUANTITY = 10**9


@dataclass(frozen=True)
class Hold:
    """A request to reserve `quantity` units of a product at a warehouse for `reference`."""

    product_id: int
    warehouse_id: int
    quantity: int
    reference: str
    expires_at: datetime | None = None


def _check_quantity(quantity: int, *, allow_zero: bool = False, allow_negative: bool = False):
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity("Quantities must be whole numbers.")
    if abs(quantity) > MAX_QUANTITY:
        raise InvalidQuantity(f"Quantities must not exceed {MAX_QUANTITY:,}.")
    if quantity < 0 and not allow_negative:
        raise InvalidQuantity("Quantities must not be negative.")
    if quantity == 0 and not allow_zero:
        raise InvalidQuantity("Quantities must be greater than zero.")


def stock_level_ensure(*, product: Product, warehouse: Warehouse) -> StockLevel:
    """Return the stock level of a product at a warehouse, creating an empty one if needed."""
    level, _ = StockLevel.objects.get_or_create(product=product, warehouse=warehouse)
    return level


def _record(
    level_id: int,
    delta_on_hand: int,
    delta_allocated: int,
    reason: str,
    reference: str,
    actor: str,
    note: str = "",
) -> StockMovement:
    return StockMovement(
        stock_level_id=level_id,
        delta_on_hand=delta_on_hand,
        delta_allocated=delta_allocated,
        reason=reason,
        reference=reference[:100],
        actor=actor[:150],
        note=note[:255],
    )


def _low_stock_after_change(level_id: int, delta_on_hand: int) -> None:
    """A fall in stock may need an alert; a rise may end one."""
    if delta_on_hand < 0:
        low_stock_alert_if_needed(level_ids=[level_id])
    elif delta_on_hand > 0:
        low_stock_clear_recovered(level_ids=[level_id])


def stock_change(
    *,
    level: StockLevel,
    delta: int,
    reason: str = MovementReason.ADJUSTMENT,
    reference: str = "",
    actor: str = "system",
    note: str = "",
) -> StockLevel:
    """Add `delta` (may be negative) to on hand and record why.

    Raises `BelowAllocated` if on hand would drop below what is allocated (or below zero).
    """
    _check_quantity(delta, allow_negative=True)
    with transaction.atomic():
        updated = StockLevel.objects.filter(
            pk=level.pk, on_hand__gte=F("allocated") - delta
        ).update(on_hand=F("on_hand") + delta)
        if not updated:
            current = StockLevel.objects.get(pk=level.pk)
            raise BelowAllocated(
                f"On hand would become {current.on_hand + delta}, below the "
                f"{current.allocated} allocated units (or below zero)."
            )
        StockMovement.objects.bulk_create(
            [_record(level.pk, delta, 0, reason, reference, actor, note)]
        )
        _low_stock_after_change(level.pk, delta)
        level.refresh_from_db(fields=["on_hand", "allocated", "low_stock_alerted_at"])
    return level


def stock_receive(
    *,
    product: Product,
    warehouse: Warehouse,
    quantity: int,
    reference: str = "",
    actor: str = "system",
) -> StockLevel:
    """Book `quantity` received units into a warehouse."""
    _check_quantity(quantity)
    with transaction.atomic():
        level = stock_level_ensure(product=product, warehouse=warehouse)
        return stock_change(
            level=level,
            delta=quantity,
            reason=MovementReason.RECEIPT,
            reference=reference,
            actor=actor,
        )


def stock_set(
    *,
    level: StockLevel,
    on_hand: int,
    expected_on_hand: int | None = None,
    reason: str = MovementReason.COUNT,
    reference: str = "",
    actor: str = "system",
    note: str = "",
) -> StockLevel:
    """Set on hand to an absolute count (a stock take), recording the difference.

    Raises `StockChanged` when `expected_on_hand` is given and no longer true, and
    `BelowAllocated` when the count is below the allocated units.
    """
    _check_quantity(on_hand, allow_zero=True)
    with transaction.atomic():
        current = StockLevel.objects.select_for_update().get(pk=level.pk)
        if expected_on_hand is not None and current.on_hand != expected_on_hand:
            raise StockChanged(
                f"Expected {expected_on_hand} on hand but found {current.on_hand}.",
                extra={"current_on_hand": current.on_hand},
            )
        if on_hand < current.allocated:
            raise BelowAllocated(
                f"Cannot set on hand to {on_hand}: {current.allocated} units are allocated."
            )
        delta = on_hand - current.on_hand
        if delta:
            StockLevel.objects.filter(pk=level.pk).update(on_hand=on_hand)
            StockMovement.objects.bulk_create(
                [_record(level.pk, delta, 0, reason, reference, actor, note)]
            )
            _low_stock_after_change(level.pk, delta)
        level.refresh_from_db(fields=["on_hand", "allocated", "low_stock_alerted_at"])
    return level


def stock_level_settings_update(
    *,
    level: StockLevel,
    safety_stock: int | None = None,
    reorder_point: int | None = None,
    reorder_quantity: int | None = None,
) -> StockLevel:
    """Change a stock level's safety stock and reorder settings (not its quantities).

    No ledger row is written because on hand and allocated do not change, but availability
    may, so the low-stock alert is re-evaluated. Raises `InvalidQuantity` for negative,
    fractional or huge values.
    """
    changes = {
        name: value
        for name, value in (
            ("safety_stock", safety_stock),
            ("reorder_point", reorder_point),
            ("reorder_quantity", reorder_quantity),
        )
        if value is not None
    }
    for value in changes.values():
        _check_quantity(value, allow_zero=True)
    with transaction.atomic():
        if changes:
            StockLevel.objects.filter(pk=level.pk).update(**changes, updated_at=timezone.now())
            low_stock_refresh(level_ids=[level.pk])
        level.refresh_from_db()
    return level


def stock_allocate(
    *, holds: Iterable[Hold], actor: str = "system", respect_safety_stock: bool = True
) -> list[StockReservation]:
    """Reserve every hold, all or nothing, and return the reservations touched.

    Demand is summed per stock level before checking (two holds of one SKU at one warehouse
    count together), rows are touched in primary-key order so concurrent callers never
    deadlock, and each is reserved with one conditional UPDATE
    (`allocated + n` only where `on_hand - allocated [- safety_stock] >= n`). Raises
    `InvalidQuantity` for a bad quantity and `InsufficientStock` listing every short
    (SKU, warehouse) with the requested and available quantities; on failure nothing is
    written.
    """
    holds = list(holds)
    for hold in holds:
        _check_quantity(hold.quantity)
        if not hold.reference:
            raise InvalidQuantity("Every hold needs a reference (what the stock is held for).")
    demand: dict[tuple[int, int], int] = defaultdict(int)
    for hold in holds:
        demand[(hold.product_id, hold.warehouse_id)] += hold.quantity
    if not demand:
        return []
    with transaction.atomic():
        level_ids = {
            (product_id, warehouse_id): pk
            for pk, product_id, warehouse_id in StockLevel.objects.filter(
                product_id__in={key[0] for key in demand},
                warehouse_id__in={key[1] for key in demand},
            ).values_list("pk", "product_id", "warehouse_id")
            if (product_id, warehouse_id) in demand
        }
        failed, low = [], []
        write = _AllocationWrite(
            [hold for hold in holds if (hold.product_id, hold.warehouse_id) in level_ids],
            level_ids,
            actor,
        )
        sql = _RESERVE_SQL if respect_safety_stock else _RESERVE_IGNORING_SAFETY_SQL
        # Raw SQL from here to the commit: these rows are locked, so every microsecond of
        # Python spent now is waited for by every concurrent buyer of the same SKUs.
        with connection.cursor() as cursor:
            for key, level_id in sorted(level_ids.items(), key=lambda item: item[1]):
                cursor.execute(sql, [demand[key], level_id, demand[key]])
                row = cursor.fetchone()
                if row is None:
                    failed.append(key)
                    continue
                free, reorder_point, alerted_at = row
                if reorder_point > 0 and free <= reorder_point and alerted_at is None:
                    low.append(level_id)
            missing = [key for key in demand if key not in level_ids]
            if failed or missing:
                raise InsufficientStock(
                    _short_entries(demand, level_ids, failed, missing, respect_safety_stock)
                )
            rows = write.execute(cursor)
        if low:
            low_stock_alert_if_needed(level_ids=low)
    return write.reservations(rows)


_RESERVE_SQL = (
    "UPDATE inventory_stocklevel SET allocated = allocated + %s"
    " WHERE id = %s AND on_hand - allocated - safety_stock >= %s"
    " RETURNING on_hand - allocated - safety_stock, reorder_point, low_stock_alerted_at"
)
_RESERVE_IGNORING_SAFETY_SQL = _RESERVE_SQL.replace(
    "AND on_hand - allocated - safety_stock >=", "AND on_hand - allocated >="
)


def _short_entries(
    demand: dict, level_ids: dict, failed: list, missing: list, respect_safety_stock: bool
) -> list[dict]:
    """Describe every short (SKU, warehouse), in the order the demand was given."""
    entries = {}
    failed_levels = StockLevel.objects.filter(
        pk__in=[level_ids[key] for key in failed]
    ).values_list(
        "product_id", "warehouse_id", "product__sku", "warehouse__code",
        "on_hand", "allocated", "safety_stock",
    )
    for product_id, warehouse_id, sku, code, on_hand, allocated, safety in failed_levels:
        free = on_hand - allocated - (safety if respect_safety_stock else 0)
        entries[(product_id, warehouse_id)] = {
            "sku": sku,
            "warehouse": code,
            "requested": demand[(product_id, warehouse_id)],
            "available": max(free, 0),
        }
    if missing:
        skus = dict(
            Product.objects.filter(pk__in={key[0] for key in missing}).values_list("pk", "sku")
        )
        codes = dict(
            Warehouse.objects.filter(pk__in={key[1] for key in missing}).values_list("pk", "code")
        )
        for product_id, warehouse_id in missing:
            entries[(product_id, warehouse_id)] = {
                "sku": skus.get(product_id, str(product_id)),
                "warehouse": codes.get(warehouse_id, str(warehouse_id)),
                "requested": demand[(product_id, warehouse_id)],
                "available": 0,
            }
    return [entries[key] for key in demand if key in entries]


class _AllocationWrite:
    """The reservation upsert and the ledger insert of one allocation, built before any row
    is locked so that only their execution happens while the stock rows are held.

    One `INSERT ... ON CONFLICT DO UPDATE` adds each (stock level, reference) demand to its
    reservation or creates it (PostgreSQL and SQLite alike); one INSERT writes the movements.
    """

    def __init__(self, holds: list[Hold], level_ids: dict, actor: str):
        self.merged: dict[tuple[int, str], int] = defaultdict(int)
        self.expiry: dict[tuple[int, str], datetime | None] = {}
        for hold in holds:
            key = (level_ids[(hold.product_id, hold.warehouse_id)], hold.reference)
            self.merged[key] += hold.quantity
            self.expiry.setdefault(key, hold.expires_at)
        self.keys = sorted(self.merged)
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(timezone.now())
        self.reservation_params, self.movement_params = [], []
        for level_id, reference in self.keys:
            quantity = self.merged[(level_id, reference)]
            expires_at = adapt(self.expiry[(level_id, reference)])
            self.reservation_params += [level_id, reference, quantity, expires_at, now]
            self.movement_params += [level_id, quantity, reference[:100], actor[:150], now]
        self.reservation_sql = (
            "INSERT INTO inventory_stockreservation"
            " (stock_level_id, reference, quantity, expires_at, created_at) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s)"] * len(self.keys))
            + " ON CONFLICT (reference, stock_level_id) DO UPDATE"
            " SET quantity = inventory_stockreservation.quantity + excluded.quantity"
            " RETURNING id, stock_level_id, reference, quantity"
        )
        self.movement_sql = (
            "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand,"
            " delta_allocated, reason, reference, actor, note, created_at) VALUES "
            + ", ".join([f"(%s, 0, %s, '{MovementReason.ALLOCATION.value}', %s, %s, '', %s)"]
                        * len(self.keys))
        )

    def execute(self, cursor) -> list[tuple]:
        cursor.execute(self.reservation_sql, self.reservation_params)
        rows = cursor.fetchall()
        cursor.execute(self.movement_sql, self.movement_params)
        return rows

    def reservations(self, rows: list[tuple]) -> list[StockReservation]:
        by_key = {(row[1], row[2]): row for row in rows}
        return [
            StockReservation(
                pk=by_key[key][0], stock_level_id=key[0], reference=key[1],
                quantity=by_key[key][3], expires_at=self.expiry[key],
            )
            for key in self.keys
        ]


def reservation_release(
    *,
    reference: str,
    quantity: int | None = None,
    actor: str = "system",
    reason: str = MovementReason.RELEASE,
    note: str = "",
    warehouse_id: int | None = None,
) -> int:
    """Give back up to `quantity` reserved units of `reference` (all when None), only at
    `warehouse_id` when given.

    Returns the number of units released (0 when nothing is reserved under the reference).
    Stock rows are locked in primary-key order before the reservations, as in allocation.
    """
    return _reservation_reduce(
        reference=reference,
        quantity=quantity,
        actor=actor,
        reason=reason,
        consume=False,
        note=note,
        warehouse_id=warehouse_id,
    )


def reservation_consume(
    *, reference: str, quantity: int, warehouse_id: int | None = None, actor: str = "system"
) -> int:
    """Ship `quantity` reserved units of `reference`: on hand and allocated both fall.

    Raises `InsufficientStock` (nothing written) if fewer units are reserved than asked for.
    """
    _check_quantity(quantity)
    return _reservation_reduce(
        reference=reference,
        quantity=quantity,
        actor=actor,
        reason=MovementReason.SHIPMENT,
        consume=True,
        warehouse_id=warehouse_id,
        strict=True,
    )


def reservations_release_expired(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release every reservation whose `expires_at` has passed; return the units released.

    Each reservation is released in its own transaction and re-checked under its lock, so a
    checkout extended a moment ago is left alone.
    """
    now = now or timezone.now()
    expired = list(
        StockReservation.objects.filter(expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("reference", "stock_level_id")[:limit]
    )
    released = 0
    for reference, level_id in expired:
        released += _reservation_reduce(
            reference=reference,
            quantity=None,
            actor="system:expiry",
            reason=MovementReason.RELEASE,
            consume=False,
            note="reservation expired",
            stock_level_id=level_id,
            expired_before=now,
        )
    return released


def _reservation_reduce(
    *,
    reference: str,
    quantity: int | None,
    actor: str,
    reason: str,
    consume: bool,
    warehouse_id: int | None = None,
    strict: bool = False,
    note: str = "",
    stock_level_id: int | None = None,
    expired_before: datetime | None = None,
) -> int:
    if quantity is not None:
        _check_quantity(quantity, allow_zero=True)
    with transaction.atomic():
        rows = StockReservation.objects.filter(reference=reference)
        if warehouse_id is not None:
            rows = rows.filter(stock_level__warehouse_id=warehouse_id)
        if stock_level_id is not None:
            rows = rows.filter(stock_level_id=stock_level_id)
        if expired_before is not None:
            rows = rows.filter(expires_at__lte=expired_before)
        level_ids = sorted(set(rows.values_list("stock_level_id", flat=True)))
        # Same lock order as allocation: stock rows by pk first, then their reservations.
        list(
            StockLevel.objects.select_for_update()
            .filter(pk__in=level_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        rows = list(rows.select_for_update().order_by("stock_level_id", "pk"))
        reserved = sum(row.quantity for row in rows)
        remaining = reserved if quantity is None else quantity
        if strict and reserved < remaining:
            raise InsufficientStock(
                [_consume_short_entry(reference, warehouse_id, rows, remaining, reserved)]
            )
        movements, done = [], 0
        for row in rows:
            if remaining <= 0:
                break
            take = min(row.quantity, remaining)
            delta_on_hand = -take if consume else 0
            StockLevel.objects.filter(pk=row.stock_level_id).update(
                allocated=F("allocated") - take, on_hand=F("on_hand") + delta_on_hand
            )
            if take == row.quantity:
                row.delete()
            else:
                StockReservation.objects.filter(pk=row.pk).update(quantity=F("quantity") - take)
            movements.append(
                _record(row.stock_level_id, delta_on_hand, -take, reason, reference, actor, note)
            )
            remaining -= take
            done += take
        StockMovement.objects.bulk_create(movements)
        if movements and not consume:
            low_stock_clear_recovered(
                level_ids=[movement.stock_level_id for movement in movements]
            )
    return done


def _consume_short_entry(
    reference: str, warehouse_id: int | None, rows: list, requested: int, reserved: int
) -> dict:
    level = (
        StockLevel.objects.filter(pk=rows[0].stock_level_id)
        .values("product__sku", "warehouse__code")
        .first()
        if rows
        else None
    )
    warehouse = level["warehouse__code"] if level else None
    if warehouse is None and warehouse_id is not None:
        warehouse = Warehouse.objects.filter(pk=warehouse_id).values_list("code", flat=True).first()
    return {
        "sku": level["product__sku"] if level else None,
        "warehouse": warehouse,
        "reference": reference,
        "requested": requested,
        "available": reserved,
    }
