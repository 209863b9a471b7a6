"""Bulk stock adjustments: many `set` or `delta` changes with a result per item.

Each item goes through `stock_set` / `stock_change`, so it writes its movement, respects the
allocated units and may raise a low-stock alert. In the default mode every item stands alone
(one failing item does not stop the others); with `atomic=True` the batch is all or nothing.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from inventory.arrivals import free_stock_batched
from inventory.models import MovementReason, Product, StockLevel
from inventory.services import stock_change, stock_set
from oms_project.errors import OmsError, ValidationFailed
from warehouses.models import Warehouse

ADJUSTMENT_REASONS = (
    MovementReason.ADJUSTMENT,
    MovementReason.COUNT,
    MovementReason.RECEIPT,
    MovementReason.RETURN_RESTOCK,
)


@dataclass(frozen=True)
class Adjustment:
    """One requested change: either `set_to` an absolute count or add `delta`."""

    sku: str
    warehouse: str
    reason: str
    set_to: int | None = None
    delta: int | None = None
    expected_on_hand: int | None = None
    note: str = ""


@dataclass
class AdjustmentResult:
    index: int
    sku: str
    warehouse: str
    status: str = "applied"  # applied | unchanged | failed | not_applied
    on_hand: int | None = None
    allocated: int | None = None
    available: int | None = None
    error: dict | None = field(default=None)


class _BatchRejected(Exception):
    """Raised inside the atomic batch to roll every item back."""


def stock_adjust_batch(
    *, adjustments: list[Adjustment], actor: str, reference: str = "", atomic: bool = False
) -> list[AdjustmentResult]:
    """Apply every adjustment and return one result per item, in the order given.

    Raises `ValidationFailed` (nothing written) for an empty or oversized batch, an item with
    both or neither of `set_to` and `delta`, or the same SKU and warehouse twice. Per item,
    unknown SKUs or warehouses, inactive warehouses (no stock moves into or out of one), on
    hand below allocated and a stale `expected_on_hand` are reported in that item's result.
    With `atomic=True` any failed item rolls the whole batch back and the others are reported
    `not_applied`.
    """
    _validate_batch(adjustments)
    products = dict(
        Product.objects.filter(sku__in={item.sku for item in adjustments}).values_list("sku", "pk")
    )
    warehouses, inactive = {}, set()
    for code, pk, is_active in Warehouse.objects.filter(
        code__in={item.warehouse for item in adjustments}
    ).values_list("code", "pk", "is_active"):
        warehouses[code] = pk
        if not is_active:
            inactive.add(code)
    results = [AdjustmentResult(index, item.sku, item.warehouse)
               for index, item in enumerate(adjustments)]
    if not atomic:
        with free_stock_batched():  # waiting orders hear of the batch once
            for item, result in zip(adjustments, results, strict=True):
                _apply(item, result, products, warehouses, inactive, actor, reference)
        return results
    try:
        with transaction.atomic(), free_stock_batched():
            order = _lock_order(adjustments, products, warehouses)
            for index in order:
                _apply(adjustments[index], results[index], products, warehouses, inactive, actor,
                       reference)
            if any(result.status == "failed" for result in results):
                raise _BatchRejected
    except _BatchRejected:
        for result in results:
            if result.status != "failed":
                result.status = "not_applied"
                result.on_hand = result.allocated = result.available = None
    return results


def _validate_batch(adjustments: list[Adjustment]) -> None:
    if not adjustments:
        raise ValidationFailed("Give at least one item.", errors={"items": ["Empty."]})
    if len(adjustments) > settings.OMS_MAX_BULK_ITEMS:
        raise ValidationFailed(
            f"At most {settings.OMS_MAX_BULK_ITEMS:,} items per request.",
            errors={"items": [f"{len(adjustments)} items given."]},
        )
    errors, seen = {}, {}
    for index, item in enumerate(adjustments):
        if (item.set_to is None) == (item.delta is None):
            errors[str(index)] = ["Give exactly one of `set` and `delta`."]
        elif item.reason not in ADJUSTMENT_REASONS:
            errors[str(index)] = [f"Unknown reason '{item.reason}'."]
        key = (item.sku, item.warehouse)
        if key in seen:
            errors[str(index)] = [
                f"{item.sku} at {item.warehouse} already appears as item {seen[key]}."
            ]
        seen.setdefault(key, index)
    if errors:
        raise ValidationFailed("Some items are not valid; nothing was changed.", errors=errors)


def _lock_order(adjustments, products, warehouses) -> list[int]:
    """Item indexes ordered by stock level pk (unknown levels last) so batches never deadlock."""
    keys = {
        index: (products.get(item.sku), warehouses.get(item.warehouse))
        for index, item in enumerate(adjustments)
    }
    level_ids = {
        (product_id, warehouse_id): pk
        for pk, product_id, warehouse_id in StockLevel.objects.filter(
            product_id__in={key[0] for key in keys.values() if key[0]},
            warehouse_id__in={key[1] for key in keys.values() if key[1]},
        ).values_list("pk", "product_id", "warehouse_id")
    }
    unknown = float("inf")
    return sorted(keys, key=lambda index: (level_ids.get(keys[index], unknown), index))


def _apply(item: Adjustment, result: AdjustmentResult, products, warehouses, inactive, actor,
           reference):
    product_id, warehouse_id = products.get(item.sku), warehouses.get(item.warehouse)
    if product_id is None:
        result.status, result.error = "failed", _error("unknown_sku", f"No product {item.sku}.")
        return
    if warehouse_id is None:
        result.status = "failed"
        result.error = _error("unknown_warehouse", f"No warehouse {item.warehouse}.")
        return
    if item.warehouse in inactive:
        result.status = "failed"
        result.error = _error("inactive_warehouse", f"Warehouse {item.warehouse} is inactive.")
        return
    try:
        with transaction.atomic():
            level, _ = StockLevel.objects.get_or_create(
                product_id=product_id, warehouse_id=warehouse_id
            )
            before = level.on_hand
            _change(item, level, actor, reference)
    except OmsError as error:
        result.status = "failed"
        result.error = _error(error.code, error.detail, status=error.status, **error.extra)
        return
    result.status = "applied" if level.on_hand != before else "unchanged"
    result.on_hand, result.allocated = level.on_hand, level.allocated
    result.available = level.available


def _change(item: Adjustment, level: StockLevel, actor: str, reference: str) -> None:
    common = {"reason": item.reason, "reference": reference, "actor": actor}
    if item.set_to is not None:
        stock_set(level=level, on_hand=item.set_to, expected_on_hand=item.expected_on_hand,
                  note=item.note, **common)
    elif item.expected_on_hand is not None:
        # A delta against a known starting point is a set guarded by that point.
        stock_set(level=level, on_hand=item.expected_on_hand + item.delta,
                  expected_on_hand=item.expected_on_hand, note=item.note, **common)
    else:
        stock_change(level=level, delta=item.delta, note=item.note, **common)
    level.refresh_from_db(fields=["on_hand", "allocated", "safety_stock"])


def _error(code: str, detail: str, status: int = 400, **extra) -> dict:
    return {"code": code, "status": status, "detail": detail, **extra}
