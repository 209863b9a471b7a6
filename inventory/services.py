"""Every write to stock: receipts, adjustments, counts, allocation, release and shipment.

Each function opens its own transaction, changes `on_hand`/`allocated` only through
conditional UPDATEs (never read-modify-save), writes one `StockMovement` per change, and
touches stock rows in primary-key order so concurrent callers never deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F

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
        level.refresh_from_db(fields=["on_hand", "allocated"])
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
                [_record(level.pk, delta, 0, reason, reference, actor)]
            )
        level.refresh_from_db(fields=["on_hand", "allocated"])
    return level


def stock_allocate(
    *, holds: Iterable[Hold], actor: str = "system", respect_safety_stock: bool = True
) -> list[StockReservation]:
    """Reserve every hold, all or nothing.

    Demand is summed per stock level before checking, rows are touched in primary-key order,
    and each is reserved with one conditional UPDATE. Raises `InsufficientStock` listing every
    short (SKU, warehouse) with the requested and available quantities.
    """
    holds = list(holds)
    for hold in holds:
        _check_quantity(hold.quantity)
    demand: dict[tuple[int, int], int] = defaultdict(int)
    for hold in holds:
        demand[(hold.product_id, hold.warehouse_id)] += hold.quantity
    with transaction.atomic():
        levels = {
            (level.product_id, level.warehouse_id): level
            for level in StockLevel.objects.filter(
                product_id__in={key[0] for key in demand},
                warehouse_id__in={key[1] for key in demand},
            ).select_related("product", "warehouse")
        }
        short = []
        missing = [key for key in demand if key not in levels]
        for key in missing:
            short.append(_short_entry(key, demand[key], None))
        for key, level in sorted(levels.items(), key=lambda item: item[1].pk):
            if key not in demand:
                continue
            quantity = demand[key]
            guard = F("on_hand") - F("allocated")
            if respect_safety_stock:
                guard = guard - F("safety_stock")
            updated = (
                StockLevel.objects.filter(pk=level.pk)
                .alias(free=guard)
                .filter(free__gte=quantity)
                .update(allocated=F("allocated") + quantity)
            )
            if not updated:
                short.append(_short_entry(key, quantity, level, respect_safety_stock))
        if short:
            raise InsufficientStock(short)
        reservations = _reserve_rows(holds, levels)
        StockMovement.objects.bulk_create(
            [
                _record(
                    levels[(h.product_id, h.warehouse_id)].pk,
                    0,
                    h.quantity,
                    MovementReason.ALLOCATION,
                    h.reference,
                    actor,
                )
                for h in holds
            ]
        )
    return reservations


def _short_entry(
    key, requested: int, level: StockLevel | None, respect_safety_stock: bool = True
) -> dict:
    if level is None:
        product = Product.objects.filter(pk=key[0]).values_list("sku", flat=True).first()
        warehouse = Warehouse.objects.filter(pk=key[1]).values_list("code", flat=True).first()
        return {"sku": product, "warehouse": warehouse, "requested": requested, "available": 0}
    fresh = StockLevel.objects.get(pk=level.pk)
    available = (
        fresh.on_hand - fresh.allocated - (fresh.safety_stock if respect_safety_stock else 0)
    )
    return {
        "sku": level.product.sku,
        "warehouse": level.warehouse.code,
        "requested": requested,
        "available": max(available, 0),
    }


def _reserve_rows(holds: list[Hold], levels: dict) -> list[StockReservation]:
    merged: dict[tuple[int, str], Hold] = {}
    for hold in holds:
        level_id = levels[(hold.product_id, hold.warehouse_id)].pk
        key = (level_id, hold.reference)
        if key in merged:
            previous = merged[key]
            merged[key] = Hold(
                hold.product_id,
                hold.warehouse_id,
                previous.quantity + hold.quantity,
                hold.reference,
                hold.expires_at,
            )
        else:
            merged[key] = hold
    reservations = []
    for (level_id, reference), hold in sorted(merged.items()):
        updated = StockReservation.objects.filter(
            stock_level_id=level_id, reference=reference
        ).update(quantity=F("quantity") + hold.quantity)
        if not updated:
            reservations.append(
                StockReservation.objects.create(
                    stock_level_id=level_id,
                    reference=reference,
                    quantity=hold.quantity,
                    expires_at=hold.expires_at,
                )
            )
    return reservations


def reservation_release(
    *,
    reference: str,
    quantity: int | None = None,
    actor: str = "system",
    reason: str = MovementReason.RELEASE,
    note: str = "",
) -> int:
    """Give back up to `quantity` reserved units of `reference` (all when None).

    Returns the number of units released. Rows are locked in primary-key order.
    """
    return _reservation_reduce(
        reference=reference, quantity=quantity, actor=actor, reason=reason, consume=False, note=note
    )


def reservation_consume(
    *, reference: str, quantity: int, warehouse_id: int | None = None, actor: str = "system"
) -> int:
    """Ship `quantity` reserved units of `reference`: on hand and allocated both fall.

    Raises `InsufficientStock` if fewer units are reserved than asked for.
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
) -> int:
    if quantity is not None:
        _check_quantity(quantity, allow_zero=True)
    with transaction.atomic():
        rows = StockReservation.objects.select_for_update().filter(reference=reference)
        if warehouse_id is not None:
            rows = rows.filter(stock_level__warehouse_id=warehouse_id)
        rows = list(rows.order_by("stock_level_id"))
        remaining = sum(row.quantity for row in rows) if quantity is None else quantity
        if strict and sum(row.quantity for row in rows) < remaining:
            raise InsufficientStock(
                [
                    {
                        "sku": reference,
                        "warehouse": warehouse_id,
                        "requested": quantity,
                        "available": sum(row.quantity for row in rows),
                    }
                ]
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
    return done
