"""Reorder suggestions: draft purchase orders from projected stock.

Every (SKU, warehouse) whose projected stock needs a reorder goes to the SKU's preferred
supplier; suggestions are grouped into one draft per supplier and warehouse. The same need
never produces two drafts:

- the database allows one draft per supplier and warehouse and one line per SKU on it, and the
  draft is found or created with `get_or_create` on that constraint;
- the draft row is locked and the need is projected again under the lock, counting the draft's
  own lines as stock on the way, so a second run (even a concurrent one, which waits for the
  first to commit) finds nothing left to order.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from inventory.models import PurchaseOrder, PurchaseOrderLine, SupplierProduct
from inventory.purchasing.events import purchase_order_event_record
from inventory.purchasing.projections import (
    Key,
    StockProjection,
    reorder_quantity_suggest,
    stock_projections,
)
from inventory.purchasing.services import (
    purchase_order_expected_date,
    purchase_order_number_assign,
)
from inventory.purchasing.states import PurchaseOrderStatus

# Given product ids (None for all), backordered units per (product id, warehouse id).
BackorderedDemand = Callable[[Iterable[int] | None], dict[Key, int]]


@dataclass
class SuggestionResult:
    """What a suggestion run changed: the drafts it touched and the needs it could not place."""

    purchase_orders: list[str] = field(default_factory=list)
    lines_added: int = 0
    lines_increased: int = 0
    without_supplier: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "purchase_orders": self.purchase_orders,
            "lines_added": self.lines_added,
            "lines_increased": self.lines_increased,
            "without_supplier": self.without_supplier,
        }


def replenishment_suggest(
    *,
    backordered_demand: BackorderedDemand,
    actor: str = "system",
    product_ids: Iterable[int] | None = None,
    warehouse_ids: Iterable[int] | None = None,
) -> SuggestionResult:
    """Add what projected stock lacks to the preferred suppliers' draft purchase orders.

    `backordered_demand` reads backordered units per (product, warehouse) from the orders
    layer; it is called again for each draft under its lock. Needs of SKUs without an active
    preferred supplier are reported in `without_supplier`, not ordered.
    """
    product_ids = None if product_ids is None else list(product_ids)
    warehouse_ids = None if warehouse_ids is None else list(warehouse_ids)
    projections = stock_projections(
        backordered=backordered_demand(product_ids),
        product_ids=product_ids,
        warehouse_ids=warehouse_ids,
    )
    needing = [projection for projection in projections if projection.needs_reorder]
    offers = {
        offer.product_id: offer
        for offer in SupplierProduct.objects.select_related("supplier", "product").filter(
            product_id__in={projection.product_id for projection in needing},
            is_preferred=True,
            supplier__is_active=True,
        )
    }
    result = SuggestionResult()
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for projection in needing:
        offer = offers.get(projection.product_id)
        if offer is None:
            result.without_supplier.append(
                {
                    "product_id": projection.product_id,
                    "warehouse_id": projection.warehouse_id,
                    "projected": projection.projected,
                }
            )
            continue
        groups[(offer.supplier_id, projection.warehouse_id)].append(projection.product_id)
    for (_, warehouse_id), group_product_ids in sorted(groups.items()):
        _draft_fill(
            offers=offers, product_ids=group_product_ids, warehouse_id=warehouse_id,
            backordered_demand=backordered_demand, actor=actor, result=result,
        )
    return result


def _draft_fill(
    *,
    offers: dict[int, SupplierProduct],
    product_ids: list[int],
    warehouse_id: int,
    backordered_demand: BackorderedDemand,
    actor: str,
    result: SuggestionResult,
) -> None:
    supplier = offers[product_ids[0]].supplier
    with transaction.atomic():
        draft, created = PurchaseOrder.objects.get_or_create(
            supplier=supplier,
            warehouse_id=warehouse_id,
            status=PurchaseOrderStatus.DRAFT,
            defaults={
                "number": f"new-{uuid.uuid4().hex[:28]}",  # replaced by PO<pk>
                "currency": supplier.currency,
                "expected_date": purchase_order_expected_date(supplier=supplier),
                "created_by": actor[:150],
            },
        )
        if created:
            purchase_order_number_assign(purchase_order=draft)
        draft = PurchaseOrder.objects.select_for_update().get(pk=draft.pk)
        if draft.status != PurchaseOrderStatus.DRAFT:
            return  # sent a moment ago: the next run starts a new draft
        # Project again under the lock: a run that committed meanwhile is counted now.
        fresh = stock_projections(
            backordered=backordered_demand(product_ids),
            product_ids=product_ids,
            warehouse_ids=[warehouse_id],
        )
        changes = _lines_grow(draft, fresh, offers, result)
        if not changes:
            if created:
                draft.delete()
            return
        purchase_order_event_record(
            purchase_order=draft,
            type="created" if created else "suggested",
            actor=actor,
            to_status=PurchaseOrderStatus.DRAFT if created else "",
            message=f"Reorder suggestion: {len(changes)} line(s).",
            data={"lines": changes},
        )
        PurchaseOrder.objects.filter(pk=draft.pk).update(updated_at=timezone.now())
    result.purchase_orders.append(draft.number)


def _lines_grow(
    draft: PurchaseOrder,
    projections: list[StockProjection],
    offers: dict[int, SupplierProduct],
    result: SuggestionResult,
) -> list[dict]:
    lines = {line.product_id: line for line in draft.lines.select_for_update()}
    changes = []
    for projection in projections:
        if not projection.needs_reorder:
            continue
        offer = offers[projection.product_id]
        line = lines.get(projection.product_id)
        # The minimum and packs are per line: a line that grows keeps to them as a whole.
        quantity = reorder_quantity_suggest(
            projected=projection.projected,
            reorder_point=projection.reorder_point,
            reorder_quantity=projection.reorder_quantity,
            pack_size=offer.pack_size,
            minimum_quantity=offer.minimum_quantity,
            on_line=0 if line is None else line.quantity,
        )
        if quantity <= 0:
            continue
        if line is None:
            PurchaseOrderLine.objects.create(
                purchase_order=draft, product_id=projection.product_id,
                supplier_sku=offer.supplier_sku, quantity=quantity, unit_cost=offer.unit_cost,
            )
            result.lines_added += 1
            before = 0
        else:
            PurchaseOrderLine.objects.filter(pk=line.pk).update(quantity=line.quantity + quantity)
            result.lines_increased += 1
            before = line.quantity
        changes.append(
            {
                "sku": offer.product.sku,
                "projected": projection.projected,
                "before": before,
                "after": before + quantity,
            }
        )
    return changes
