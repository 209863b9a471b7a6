"""Every write to stock: receipts, adjustments, counts, allocation, release and shipment.

Allocation lives in `inventory.allocation` and is re-exported here.

Each function opens its own transaction, changes `on_hand`/`allocated` only through
conditional UPDATEs (never read-modify-save), writes one `StockMovement` per change, and
touches stock rows in primary-key order so concurrent callers never deadlock.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.alerts import (
    low_stock_alert_if_needed,
    low_stock_clear_recovered,
    low_stock_refresh,
)
from inventory.allocation import Hold, stock_allocate
from inventory.arrivals import free_stock_rose
from inventory.errors import BelowAllocated, InsufficientStock, InvalidQuantity, StockChanged
from inventory.models import MovementReason, Product, StockLevel, StockMovement, StockReservation
from inventory.quantities import MAX_QUANTITY, check_quantity
from oms_project.changes import update_changed
from warehouses.models import Warehouse

# The name other inventory modules import.
_check_quantity = check_quantity

__all__ = [
    "MAX_QUANTITY",
    "Hold",
    "reservation_consume",
    "reservation_release",
    "reservations_release_expired",
    "stock_allocate",
    "stock_change",
    "stock_level_ensure",
    "stock_level_settings_update",
    "stock_receive",
    "stock_set",
]


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
        free_stock_rose(level_ids=[level_id])


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

    Raises `BelowAllocated` if on hand would drop below what is allocated (or below zero),
    and `InvalidQuantity` if it would rise over `MAX_QUANTITY`.
    """
    check_quantity(delta, allow_negative=True)
    with transaction.atomic():
        updated = update_changed(
            StockLevel.objects.filter(
                pk=level.pk, on_hand__gte=F("allocated") - delta, on_hand__lte=MAX_QUANTITY - delta
            ),
            on_hand=F("on_hand") + delta,
        )
        if not updated:
            current = StockLevel.objects.get(pk=level.pk)
            if current.on_hand + delta > MAX_QUANTITY:
                raise InvalidQuantity(
                    f"On hand would become {current.on_hand + delta:,}, over the limit of "
                    f"{MAX_QUANTITY:,} ({current.on_hand:,} now).",
                )
            raise BelowAllocated(
                f"On hand would become {current.on_hand + delta}, below the "
                f"{current.allocated} allocated units (or below zero)."
            )
        StockMovement.objects.bulk_create(
            [_record(level.pk, delta, 0, reason, reference, actor, note)]
        )
        _low_stock_after_change(level.pk, delta)
        level.refresh_from_db(fields=["on_hand", "allocated", "low_stock_alerted_at", "updated_at"])
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
    check_quantity(quantity)
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
    check_quantity(on_hand, allow_zero=True)
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
            update_changed(StockLevel.objects.filter(pk=level.pk), on_hand=on_hand)
            StockMovement.objects.bulk_create(
                [_record(level.pk, delta, 0, reason, reference, actor, note)]
            )
            _low_stock_after_change(level.pk, delta)
        level.refresh_from_db(fields=["on_hand", "allocated", "low_stock_alerted_at", "updated_at"])
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
        check_quantity(value, allow_zero=True)
    with transaction.atomic():
        if changes:
            update_changed(StockLevel.objects.filter(pk=level.pk), **changes)
            low_stock_refresh(level_ids=[level.pk])
        level.refresh_from_db()
    return level


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


def stock_levels_lock_for(*, references: list[str], warehouse_id: int | None = None) -> None:
    """Lock, in pk order, the stock rows holding reservations of `references` (at one
    location, if given): a caller consuming several lines' reservations one by one takes
    every row it will touch first, in the order allocation takes them, so two such calls
    on the same rows cannot deadlock."""
    levels = StockReservation.objects.filter(reference__in=references)
    if warehouse_id is not None:
        levels = levels.filter(stock_level__warehouse_id=warehouse_id)
    _levels_lock(levels.values_list("stock_level_id", flat=True))


def _levels_lock(level_ids) -> None:
    """Lock the stock rows `level_ids` in pk order (allocation's order)."""
    list(
        StockLevel.objects.select_for_update()
        .filter(pk__in=sorted(set(level_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reservation_consume(
    *, reference: str, quantity: int, warehouse_id: int | None = None, actor: str = "system"
) -> int:
    """Ship `quantity` reserved units of `reference`: on hand and allocated both fall.

    Raises `InsufficientStock` (nothing written) if fewer units are reserved than asked for.
    """
    check_quantity(quantity)
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
        check_quantity(quantity, allow_zero=True)
    with transaction.atomic():
        rows = StockReservation.objects.filter(reference=reference)
        if warehouse_id is not None:
            rows = rows.filter(stock_level__warehouse_id=warehouse_id)
        if stock_level_id is not None:
            rows = rows.filter(stock_level_id=stock_level_id)
        if expired_before is not None:
            rows = rows.filter(expires_at__lte=expired_before)
        # Same lock order as allocation: stock rows by pk first, then their reservations.
        _levels_lock(rows.values_list("stock_level_id", flat=True))
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
            update_changed(
                StockLevel.objects.filter(pk=row.stock_level_id),
                allocated=F("allocated") - take,
                on_hand=F("on_hand") + delta_on_hand,
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
            released = [movement.stock_level_id for movement in movements]
            low_stock_clear_recovered(level_ids=released)
            free_stock_rose(level_ids=released)
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
