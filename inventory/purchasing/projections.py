"""Projected stock per SKU and warehouse, and how much to reorder.

    projected = on_hand - allocated - safety stock + open purchase quantity - backordered

Safety stock is not counted as free: allocation never gives it to an order
(`StockLevel.available`), so a backorder waiting behind it is short; low-stock alerts
compare the same free figure with the reorder point. Open purchase quantity is what is still
to come on draft, sent and partially received purchase orders shipping to the warehouse.
Backordered demand lives in `orders` (open units of backordered orders) and is passed in by
the caller, keyed by (product id, warehouse id), so inventory never looks up at orders.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, Sum

from inventory.models import PurchaseOrderLine, StockLevel
from inventory.purchasing.states import OPEN_STATUSES

Key = tuple[int, int]  # (product id, warehouse id)


def projected_stock(
    *, on_hand: int, allocated: int, on_order: int, backordered: int, safety_stock: int = 0
) -> int:
    """Units that will be free to allocate (above safety stock) once open purchase orders
    arrive and backorders take theirs."""
    return on_hand - allocated - safety_stock + on_order - backordered


def reorder_quantity_suggest(
    *,
    projected: int,
    reorder_point: int,
    reorder_quantity: int,
    pack_size: int = 1,
    minimum_quantity: int = 1,
    on_line: int = 0,
) -> int:
    """Units to order so projected stock ends above reorder point plus reorder quantity.

    Nothing is ordered while projected stock is above the reorder point and covers every
    backorder. Otherwise the order brings projected stock to reorder point + reorder quantity
    + 1 (strictly above both). A SKU with no reorder settings orders exactly what its
    backorders and its safety stock lack. The supplier's minimum quantity and pack size
    apply to the order line: the line, already holding `on_line` units (a draft's line,
    counted in `projected`), ends at least at the minimum and in whole packs, and the units
    to add are returned. A new line with a need of 23, packs of 12 and a minimum of 30
    orders 36; a line of 10 (minimum 10) whose need grows by 2 grows to 12.
    """
    if projected > reorder_point and projected >= 0:
        return 0
    if reorder_point == 0 and reorder_quantity == 0:
        needed = -projected
        if needed <= 0:
            return 0
    else:
        needed = reorder_point + reorder_quantity + 1 - projected
    pack_size = max(pack_size, 1)
    line = max(on_line + needed, minimum_quantity, 1)
    return -(-line // pack_size) * pack_size - on_line


@dataclass(frozen=True)
class StockProjection:
    product_id: int
    warehouse_id: int
    on_hand: int
    allocated: int
    on_order: int
    backordered: int
    reorder_point: int
    reorder_quantity: int
    safety_stock: int = 0

    @property
    def projected(self) -> int:
        return projected_stock(
            on_hand=self.on_hand, allocated=self.allocated, safety_stock=self.safety_stock,
            on_order=self.on_order, backordered=self.backordered,
        )

    @property
    def is_managed(self) -> bool:
        """Whether staff set a reorder point or quantity for this stock level."""
        return self.reorder_point > 0 or self.reorder_quantity > 0

    @property
    def needs_reorder(self) -> bool:
        """At or below the reorder point (for managed levels), or short of backorders."""
        return self.projected < 0 or (self.is_managed and self.projected <= self.reorder_point)


def open_purchase_quantities(
    *, product_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> dict[Key, int]:
    """Units still to come per (product, warehouse) on open purchase orders (one query)."""
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_STATUSES,
        quantity__gt=F("quantity_received") + F("quantity_damaged"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    if warehouse_ids is not None:
        lines = lines.filter(purchase_order__warehouse_id__in=list(warehouse_ids))
    rows = (
        lines.values("product_id", "purchase_order__warehouse_id")
        .annotate(units=Sum(F("quantity") - F("quantity_received") - F("quantity_damaged")))
        .values_list("product_id", "purchase_order__warehouse_id", "units")
    )
    return {(product_id, warehouse_id): units for product_id, warehouse_id, units in rows}


def stock_projections(
    *,
    backordered: dict[Key, int],
    product_ids: Iterable[int] | None = None,
    warehouse_ids: Iterable[int] | None = None,
) -> list[StockProjection]:
    """Project every relevant (product, warehouse), sorted by product then warehouse.

    Without `product_ids` only stock levels with reorder settings or safety stock and pairs
    with backordered demand are projected (the rest can never need a reorder), so the whole
    catalogue is never loaded. Pairs with demand but no stock level row count as empty with
    no settings.
    """
    product_ids = None if product_ids is None else set(product_ids)
    warehouse_ids = None if warehouse_ids is None else set(warehouse_ids)
    backordered = {
        key: units
        for key, units in backordered.items()
        if units > 0
        and (product_ids is None or key[0] in product_ids)
        and (warehouse_ids is None or key[1] in warehouse_ids)
    }
    levels = StockLevel.objects.all()
    if product_ids is not None:
        levels = levels.filter(product_id__in=product_ids)
    else:
        levels = levels.filter(
            Q(reorder_point__gt=0)
            | Q(reorder_quantity__gt=0)
            | Q(safety_stock__gt=0)
            | Q(product_id__in={key[0] for key in backordered})
        )
    if warehouse_ids is not None:
        levels = levels.filter(warehouse_id__in=warehouse_ids)
    on_order = open_purchase_quantities(product_ids=product_ids, warehouse_ids=warehouse_ids)
    projections: dict[Key, StockProjection] = {}
    for row in levels.values_list(
        "product_id", "warehouse_id", "on_hand", "allocated", "reorder_point", "reorder_quantity",
        "safety_stock",
    ).iterator(chunk_size=2000):
        key = (row[0], row[1])
        projections[key] = StockProjection(
            product_id=row[0], warehouse_id=row[1], on_hand=row[2], allocated=row[3],
            on_order=on_order.get(key, 0), backordered=backordered.get(key, 0),
            reorder_point=row[4], reorder_quantity=row[5], safety_stock=row[6],
        )
    for key, units in backordered.items():
        if key not in projections:
            projections[key] = StockProjection(
                product_id=key[0], warehouse_id=key[1], on_hand=0, allocated=0,
                on_order=on_order.get(key, 0), backordered=units,
                reorder_point=0, reorder_quantity=0,
            )
    return [projections[key] for key in sorted(projections)]
