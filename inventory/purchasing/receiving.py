"""Receiving a supplier's delivery against a purchase order.

Good units go into the purchase order's warehouse through the stock ledger (reason `receipt`,
reference `po:<number>`); damaged units are recorded on the line and the receipt but never
enter stock. A delivery is all or nothing: one bad line refuses the whole receipt.

**Over-receipt policy.** On each line, received plus damaged units may exceed the ordered
quantity by at most the supplier's `over_receipt_percent` of it, rounded down to whole units
(0% by default: not one unit more than ordered). Units within the tolerance are booked into
stock like any other; a delivery beyond it is refused with `over_receipt` and nothing is
written, so staff either correct the count or raise the ordered quantity with the supplier.
Once every line has received (or had damaged) its ordered units the purchase order is
`received`; before that it is `partially_received`.

A warehouse deactivated after the order was sent still receives it: the supplier delivers what
it was asked for, and refusing the goods would leave them counted nowhere (a draft for an
inactive warehouse cannot be sent). Line errors are a list aligned with the items given.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from inventory.models import (
    MovementReason,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
)
from inventory.purchasing.errors import DuplicateReceipt, OverReceipt
from inventory.purchasing.events import purchase_order_event_record
from inventory.purchasing.services import purchase_order_transition
from inventory.purchasing.states import RECEIVABLE_STATUSES, PurchaseOrderStatus
from inventory.services import MAX_QUANTITY, stock_change, stock_level_ensure
from oms_project.errors import InvalidTransition, ValidationFailed


@dataclass(frozen=True)
class ReceiptItem:
    """Units of a product that arrived: good ones and damaged ones."""

    product: Product
    quantity_received: int = 0
    quantity_damaged: int = 0


def over_receipt_allowance(*, quantity: int, percent: int) -> int:
    """Units a line may be received above its ordered `quantity` (rounded down)."""
    return quantity * percent // 100


def purchase_order_reference(purchase_order: PurchaseOrder) -> str:
    """The ledger reference of stock received against a purchase order."""
    return f"po:{purchase_order.number}"


def _is_whole(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= MAX_QUANTITY


def _checked_items(items: list[ReceiptItem]) -> dict[int, list]:
    """Sum the items per product; refuse bad quantities before anything is locked.

    Each entry is `[product, received, damaged, index]`, `index` being the product's last
    item: errors about the sum are reported there.
    """
    if not items:
        raise ValidationFailed(
            "The receipt is not valid.", errors={"lines": ["Give at least one line to receive."]}
        )
    line_errors: list[dict] = []
    merged: dict[int, list] = {}
    for index, item in enumerate(items):
        errors = {
            field: ["A whole number from 0 to 1,000,000,000 is required."]
            for field in ("quantity_received", "quantity_damaged")
            if not _is_whole(getattr(item, field))
        }
        if not errors and item.quantity_received == 0 and item.quantity_damaged == 0:
            errors = {"quantity_received": ["Receive or report damaged at least one unit."]}
        line_errors.append(errors)
        if not errors:
            entry = merged.setdefault(item.product.pk, [item.product, 0, 0, index])
            entry[1] += item.quantity_received
            entry[2] += item.quantity_damaged
            entry[3] = index
    if any(line_errors):
        raise ValidationFailed("The receipt is not valid.", errors={"lines": line_errors})
    return merged


def purchase_order_receive(
    *,
    purchase_order: PurchaseOrder,
    items: Iterable[ReceiptItem],
    reference: str = "",
    note: str = "",
    actor: str = "system",
) -> PurchaseReceipt:
    """Book a delivery: good units into stock, damaged units on record; move the status on.

    Raises `InvalidTransition` unless the order is sent or partially received,
    `ValidationFailed` for a bad quantity or a SKU not on the order, `OverReceipt` for more
    units than the over-receipt policy allows, and `DuplicateReceipt` for a delivery note
    already booked. Nothing is written when any of these is raised.
    """
    items = list(items)
    merged = _checked_items(items)
    with transaction.atomic():
        locked = (
            PurchaseOrder.objects.select_for_update(of=("self",))
            .select_related("supplier")
            .get(pk=purchase_order.pk)
        )
        if locked.status not in RECEIVABLE_STATUSES:
            raise InvalidTransition(
                f"Purchase order {locked.number} is {locked.get_status_display().lower()}; "
                "only a sent or partially received order can be received."
            )
        if reference and locked.receipts.filter(reference=reference).exists():
            raise DuplicateReceipt(
                f"Delivery {reference} was already received against {locked.number}."
            )
        lines = {
            line.product_id: line
            for line in PurchaseOrderLine.objects.select_for_update()
            .filter(purchase_order=locked)
            .order_by("pk")
        }
        _check_against_lines(locked, lines, merged, len(items))
        receipt = PurchaseReceipt.objects.create(
            purchase_order=locked, reference=reference[:100], note=note[:500], actor=actor[:150]
        )
        booked = _book(locked, lines, merged, receipt, actor)
        purchase_order_event_record(
            purchase_order=locked, type="received", actor=actor,
            message=f"Receipt {reference or receipt.pk}: "
            + ", ".join(f"{row['sku']} +{row['received']}" for row in booked) + ".",
            data={"receipt": receipt.pk, "reference": reference, "lines": booked},
        )
        outstanding = sum(
            max(
                line.quantity - line.quantity_received - line.quantity_damaged
                - sum(merged.get(product_id, [None, 0, 0])[1:3]),
                0,
            )
            for product_id, line in lines.items()
        )
        target = (
            PurchaseOrderStatus.RECEIVED if outstanding == 0
            else PurchaseOrderStatus.PARTIALLY_RECEIVED
        )
        if target != locked.status:
            purchase_order_transition(
                purchase_order=locked, to_status=target, actor=actor,
                reason=f"Receipt {reference or receipt.pk}",
            )
    return receipt


def _check_against_lines(
    purchase_order: PurchaseOrder, lines: dict, merged: dict, item_count: int
) -> None:
    """Refuse SKUs not on the order (`ValidationFailed`) and more units than the over-receipt
    policy allows (`OverReceipt`); errors are a list aligned with the `item_count` items."""
    unknown: list[dict] = [{} for _ in range(item_count)]
    over: list[dict] = [{} for _ in range(item_count)]
    percent = purchase_order.supplier.over_receipt_percent
    for product_id, (product, received, damaged, index) in merged.items():
        line = lines.get(product_id)
        if line is None:
            unknown[index] = {
                "sku": [f"{product.sku} is not on purchase order {purchase_order.number}."]
            }
            continue
        allowed = (
            line.quantity
            + over_receipt_allowance(quantity=line.quantity, percent=percent)
            - line.quantity_received
            - line.quantity_damaged
        )
        if received + damaged > allowed:
            over[index] = {"quantity_received": [
                f"{product.sku}: {received + damaged} unit(s) arrived but at most "
                f"{max(allowed, 0)} more may be received ({line.quantity} ordered, "
                f"{line.quantity_received + line.quantity_damaged} already received, "
                f"{percent}% over-receipt allowed)."
            ]}
    if any(unknown):
        both = [first or second for first, second in zip(unknown, over, strict=True)]
        raise ValidationFailed("The receipt is not valid.", errors={"lines": both})
    if any(over):
        raise OverReceipt("The receipt exceeds the ordered quantities.", errors={"lines": over})


def _book(purchase_order, lines, merged, receipt, actor) -> list[dict]:
    """Write the stock movements (stock rows in primary-key order) and the line counters."""
    levels = {
        product_id: stock_level_ensure(product=product, warehouse=purchase_order.warehouse)
        for product_id, (product, received, _, _) in merged.items()
        if received
    }
    for product_id, level in sorted(levels.items(), key=lambda item: item[1].pk):
        stock_change(
            level=level,
            delta=merged[product_id][1],
            reason=MovementReason.RECEIPT,
            reference=purchase_order_reference(purchase_order),
            actor=actor,
            note=f"receipt {receipt.reference or receipt.pk}",
        )
    booked = []
    for product_id, (product, received, damaged, _) in sorted(merged.items()):
        PurchaseOrderLine.objects.filter(pk=lines[product_id].pk).update(
            quantity_received=F("quantity_received") + received,
            quantity_damaged=F("quantity_damaged") + damaged,
        )
        booked.append({"sku": product.sku, "received": received, "damaged": damaged})
    PurchaseReceiptLine.objects.bulk_create(
        PurchaseReceiptLine(
            receipt=receipt, line=lines[product_id], quantity_received=received,
            quantity_damaged=damaged,
        )
        for product_id, (_, received, damaged, _) in sorted(merged.items())
    )
    return booked
