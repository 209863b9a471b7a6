"""Every write to suppliers and purchase orders, except receiving (`receiving.py`).

Each function opens its own transaction, checks its preconditions, locks the purchase order
row before changing it and writes a `PurchaseOrderEvent` for every change. `status` changes
only in `purchase_order_transition`, along `inventory.purchasing.states.TRANSITIONS`.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierProduct,
)
from inventory.purchasing.errors import BelowMinimumOrderValue
from inventory.purchasing.events import purchase_order_event_record
from inventory.purchasing.limits import (
    amount_errors,
    expected_date_errors,
    pack_quantity_errors,
)
from inventory.purchasing.states import OPEN_STATUSES, PurchaseOrderStatus, can_transition
from inventory.services import _check_quantity
from oms_project.errors import Conflict, InvalidTransition, ValidationFailed
from warehouses.models import Warehouse

Status = PurchaseOrderStatus
MAX_UNIT_COST = Decimal("9999999999.9999")
MAX_WHOLE_NUMBER = 10**9


@dataclass(frozen=True)
class PurchaseItem:
    """`quantity` units of a product on a purchase order; `unit_cost` None takes the
    supplier's price."""

    product: Product
    quantity: int
    unit_cost: Decimal | None = None


def purchase_order_expected_date(*, supplier: Supplier, today: date | None = None) -> date:
    """The date goods ordered today should arrive: today plus the supplier's lead time."""
    return (today or timezone.localdate()) + timedelta(days=supplier.lead_time_days)


def _check_unit_cost(unit_cost, field: str, errors: dict) -> None:
    try:
        valid = unit_cost is not None and Decimal(unit_cost).is_finite()
    except (InvalidOperation, TypeError, ValueError):
        valid = False
    if not valid or not Decimal("0") <= Decimal(unit_cost) <= MAX_UNIT_COST:
        errors[field] = [f"A unit cost from 0 to {MAX_UNIT_COST} is required."]


def supplier_product_save(
    *,
    supplier: Supplier,
    product: Product,
    unit_cost: Decimal,
    supplier_sku: str = "",
    pack_size: int = 1,
    minimum_quantity: int = 1,
    is_preferred: bool = False,
) -> SupplierProduct:
    """Create or update what `supplier` charges for `product`.

    Making it the preferred supplier takes that role from any other supplier of the SKU in
    the same transaction (the database allows one preferred supplier per SKU). Raises
    `ValidationFailed` for a negative cost or a pack size or minimum below 1.
    """
    errors: dict = {}
    _check_unit_cost(unit_cost, "unit_cost", errors)
    for name, value in (("pack_size", pack_size), ("minimum_quantity", minimum_quantity)):
        if isinstance(value, bool) or not isinstance(value, int) or not (
            1 <= value <= MAX_WHOLE_NUMBER
        ):
            errors[name] = ["A whole number from 1 to 1,000,000,000 is required."]
    if errors:
        raise ValidationFailed("The supplier product is not valid.", errors=errors)
    with transaction.atomic():
        if is_preferred:
            SupplierProduct.objects.filter(product=product, is_preferred=True).exclude(
                supplier=supplier
            ).update(is_preferred=False, updated_at=timezone.now())
        offer, _ = SupplierProduct.objects.update_or_create(
            supplier=supplier,
            product=product,
            defaults={
                "unit_cost": Decimal(unit_cost),
                "supplier_sku": supplier_sku[:64],
                "pack_size": pack_size,
                "minimum_quantity": minimum_quantity,
                "is_preferred": is_preferred,
            },
        )
    return offer


def _offers(supplier: Supplier, product_ids: Iterable[int]) -> dict[int, SupplierProduct]:
    return {
        offer.product_id: offer
        for offer in SupplierProduct.objects.filter(supplier=supplier, product_id__in=product_ids)
    }


def _resolve(supplier: Supplier, items: list[PurchaseItem]) -> tuple[list[dict], list[dict]]:
    """Check every item and fill in the supplier's price and SKU.

    Returns the resolved lines and the errors of each item (`{}` for a good one), aligned with
    `items`. Raises `InvalidQuantity` for a quantity that is not a whole number from 1 to 10^9.
    """
    offers = _offers(supplier, [item.product.pk for item in items])
    seen: set[int] = set()
    resolved, line_errors = [], []
    for item in items:
        _check_quantity(item.quantity)
        offer = offers.get(item.product.pk)
        errors = _item_errors(supplier, item, offer, seen)
        seen.add(item.product.pk)
        line_errors.append(errors)
        if not errors:
            unit_cost = item.unit_cost if item.unit_cost is not None else offer.unit_cost
            resolved.append(
                {
                    "product": item.product,
                    "quantity": item.quantity,
                    "unit_cost": Decimal(unit_cost),
                    "supplier_sku": getattr(offer, "supplier_sku", ""),
                }
            )
    return resolved, line_errors


def _item_errors(supplier, item: PurchaseItem, offer, seen: set[int]) -> dict:
    sku = item.product.sku
    if item.product.pk in seen:
        return {"sku": [f"{sku} appears more than once."]}
    unit_cost = item.unit_cost if item.unit_cost is not None else getattr(
        offer, "unit_cost", None
    )
    if unit_cost is None:
        return {"unit_cost": [f"{supplier.code} has no price for {sku}; give a unit cost."]}
    errors: dict = {}
    _check_unit_cost(unit_cost, "unit_cost", errors)
    if errors:
        return errors
    quantity_errors = [] if offer is None else pack_quantity_errors(
        sku=sku, quantity=item.quantity, pack_size=offer.pack_size,
        minimum_quantity=offer.minimum_quantity,
    )
    quantity_errors = quantity_errors or amount_errors("The line", item.quantity * unit_cost)
    return {"quantity": quantity_errors} if quantity_errors else {}


def _lines_total(resolved: Iterable[dict]) -> Decimal:
    return sum((values["quantity"] * values["unit_cost"] for values in resolved), Decimal("0"))


def _order_errors(
    *, supplier: Supplier, warehouse: Warehouse, expected_date: date | None
) -> dict[str, list[str]]:
    """Errors of what a purchase order is for: an active supplier and warehouse, a date."""
    errors = {}
    if not supplier.is_active:
        errors["supplier"] = [f"Supplier {supplier.code} is inactive."]
    if not warehouse.is_active:
        errors["warehouse"] = [f"Warehouse {warehouse.code} is inactive."]
    date_errors = [] if expected_date is None else expected_date_errors(expected_date)
    if date_errors:
        errors["expected_date"] = date_errors
    return errors


def purchase_order_create(
    *,
    supplier: Supplier,
    warehouse: Warehouse,
    items: Iterable[PurchaseItem] = (),
    expected_date: date | None = None,
    note: str = "",
    actor: str = "system",
) -> PurchaseOrder:
    """Create a draft purchase order for `warehouse`, expected after the supplier's lead time
    unless `expected_date` is given.

    Raises `ValidationFailed` for an inactive supplier or warehouse, an expected date before
    today or beyond `EXPECTED_DATE_HORIZON`, and line errors (a list aligned with `items`): a
    repeated SKU, a bad cost, a SKU the supplier has no price for when no cost is given, a
    quantity that is not whole packs from the supplier's minimum, a line worth more than
    `MAX_AMOUNT`; or, the lines being good, a total above `MAX_AMOUNT`. `Conflict` (409, from
    the database) when the supplier already has a draft for this warehouse: edit that one.
    """
    items = list(items)
    errors = _order_errors(supplier=supplier, warehouse=warehouse, expected_date=expected_date)
    resolved, line_errors = _resolve(supplier, items)
    total_errors = amount_errors("The purchase order", _lines_total(resolved))
    if any(line_errors):
        errors["lines"] = line_errors
    elif total_errors:
        errors["total"] = total_errors
    if errors:
        raise ValidationFailed("The purchase order is not valid.", errors=errors)
    with transaction.atomic():
        if PurchaseOrder.objects.filter(
            supplier=supplier, warehouse=warehouse, status=Status.DRAFT
        ).exists():
            raise Conflict(
                f"{supplier.code} already has a draft purchase order for {warehouse.code}; "
                "add the lines to it.",
                errors={"supplier": ["A draft for this supplier and warehouse exists."]},
            )
        purchase_order = _draft_insert(supplier, warehouse, expected_date, note, actor)
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(purchase_order=purchase_order, **values) for values in resolved
        )
        purchase_order_event_record(
            purchase_order=purchase_order, type="created", actor=actor, to_status=Status.DRAFT,
            message=f"Draft with {len(resolved)} line(s).",
            data={"lines": [_line_data(values) for values in resolved]},
        )
    return purchase_order


def _draft_insert(supplier, warehouse, expected_date, note, actor) -> PurchaseOrder:
    purchase_order = PurchaseOrder.objects.create(
        number=f"new-{uuid.uuid4().hex[:28]}",  # replaced by PO<pk> below
        supplier=supplier,
        warehouse=warehouse,
        currency=supplier.currency,
        expected_date=expected_date or purchase_order_expected_date(supplier=supplier),
        note=note[:500],
        created_by=actor[:150],
    )
    return purchase_order_number_assign(purchase_order=purchase_order)


def purchase_order_number_assign(*, purchase_order: PurchaseOrder) -> PurchaseOrder:
    """Give a just-inserted purchase order its number, `PO` and six digits of its id."""
    purchase_order.number = f"PO{purchase_order.pk:06d}"
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(number=purchase_order.number)
    return purchase_order


def _line_data(values: dict) -> dict:
    return {
        "sku": values["product"].sku,
        "quantity": values["quantity"],
        "unit_cost": str(values["unit_cost"]),
    }


def _lock(purchase_order: PurchaseOrder) -> PurchaseOrder:
    return (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("supplier", "warehouse")
        .get(pk=purchase_order.pk)
    )


def purchase_order_line_set(
    *,
    purchase_order: PurchaseOrder,
    product: Product,
    quantity: int,
    unit_cost: Decimal | None = None,
    actor: str = "system",
) -> PurchaseOrder:
    """Set the ordered quantity (and optionally the cost) of a SKU on a draft; 0 removes it.

    Raises `InvalidTransition` unless the order is a draft, and `ValidationFailed` (errors on
    the line's own fields) for a bad cost, a new SKU without a price, a quantity that is not
    whole packs from the supplier's minimum, or a line or order total above `MAX_AMOUNT`.
    """
    _check_quantity(quantity, allow_zero=True)
    with transaction.atomic():
        locked = _lock(purchase_order)
        if locked.status != Status.DRAFT:
            raise InvalidTransition(
                f"Purchase order {locked.number} is {locked.get_status_display().lower()}; "
                "only a draft can be edited."
            )
        line = PurchaseOrderLine.objects.filter(purchase_order=locked, product=product).first()
        before = {"quantity": line.quantity, "unit_cost": str(line.unit_cost)} if line else None
        if quantity == 0:
            if line is not None:
                line.delete()
            after = None
        else:
            item = PurchaseItem(
                product=product, quantity=quantity,
                unit_cost=unit_cost if unit_cost is not None else getattr(line, "unit_cost", None),
            )
            values = _line_resolved(locked, item)
            PurchaseOrderLine.objects.update_or_create(
                purchase_order=locked, product=product,
                defaults={key: values[key] for key in ("quantity", "unit_cost", "supplier_sku")},
            )
            after = {"quantity": quantity, "unit_cost": str(values["unit_cost"])}
        if before != after:
            purchase_order_event_record(
                purchase_order=locked, type="line_changed", actor=actor,
                message=f"{product.sku}: {_describe(before)} -> {_describe(after)}.",
                data={"sku": product.sku, "before": before, "after": after},
            )
            PurchaseOrder.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    return locked


def _line_resolved(purchase_order: PurchaseOrder, item: PurchaseItem) -> dict:
    """The checked line for `item` on a locked draft, whose total must stay within
    `MAX_AMOUNT`; errors are on the line's own fields (`sku`, `quantity`, `unit_cost`)."""
    resolved, [errors] = _resolve(purchase_order.supplier, [item])
    if not errors:
        others = purchase_order.lines.exclude(product=item.product)
        total = _lines_total(others.values("quantity", "unit_cost")) + _lines_total(resolved)
        over = amount_errors("The purchase order", total)
        errors = {"quantity": over} if over else {}
    if errors:
        raise ValidationFailed(f"The line for {item.product.sku} is not valid.", errors=errors)
    return resolved[0]


def _describe(values: dict | None) -> str:
    return "none" if values is None else f"{values['quantity']} at {values['unit_cost']}"


def purchase_order_expected_date_set(
    *, purchase_order: PurchaseOrder, expected_date: date, actor: str = "system"
) -> tuple[PurchaseOrder, date]:
    """Move the date an open purchase order is expected; return it with the previous date.

    Raises `ValidationFailed` for a date before today or beyond `EXPECTED_DATE_HORIZON`, and
    `InvalidTransition` once the order is received, closed or cancelled.
    """
    date_errors = expected_date_errors(expected_date)
    if date_errors:
        raise ValidationFailed("The expected date is not valid.",
                               errors={"expected_date": date_errors})
    with transaction.atomic():
        locked = _lock(purchase_order)
        if locked.status not in OPEN_STATUSES:
            raise InvalidTransition(
                f"Purchase order {locked.number} is {locked.get_status_display().lower()}; "
                "its expected date can no longer change."
            )
        previous = locked.expected_date
        if expected_date != previous:
            PurchaseOrder.objects.filter(pk=locked.pk).update(
                expected_date=expected_date, updated_at=timezone.now()
            )
            purchase_order_event_record(
                purchase_order=locked, type="expected_date_changed", actor=actor,
                message=f"Expected {expected_date.isoformat()} (was {previous.isoformat()}).",
                data={"before": previous.isoformat(), "after": expected_date.isoformat()},
            )
            locked.expected_date = expected_date
    return locked, previous


def purchase_order_note_set(
    *, purchase_order: PurchaseOrder, note: str, actor: str = "system"
) -> PurchaseOrder:
    """Change the note printed on an open purchase order (audited).

    Raises `InvalidTransition` once the order is received, closed or cancelled.
    """
    with transaction.atomic():
        locked = _lock(purchase_order)
        if locked.status not in OPEN_STATUSES:
            raise InvalidTransition(
                f"Purchase order {locked.number} is {locked.get_status_display().lower()}; "
                "its note can no longer change."
            )
        if note[:500] != locked.note:
            PurchaseOrder.objects.filter(pk=locked.pk).update(
                note=note[:500], updated_at=timezone.now()
            )
            purchase_order_event_record(
                purchase_order=locked, type="note_changed", actor=actor, message=note[:500],
                data={"before": locked.note, "after": note[:500]},
            )
            locked.note = note[:500]
    return locked


def purchase_order_transition(
    *,
    purchase_order: PurchaseOrder,
    to_status: str,
    actor: str,
    reason: str = "",
    data: dict | None = None,
) -> PurchaseOrder:
    """Move the purchase order to `to_status` along the table and record the event.

    Locks the row, checks `TRANSITIONS`, updates `WHERE status = <from>` and writes the
    event in the same transaction. Raises `InvalidTransition` for a move the table forbids.
    """
    with transaction.atomic():
        locked = _lock(purchase_order)
        from_status = locked.status
        if not can_transition(from_status, to_status):
            raise InvalidTransition(
                f"Purchase order {locked.number} cannot go from {from_status} to {to_status}.",
                extra={"from_status": from_status, "to_status": to_status},
            )
        now = timezone.now()
        changes = {"status": to_status, "updated_at": now}
        if to_status == Status.SENT:
            changes["sent_at"] = now
        if to_status in {Status.CLOSED, Status.CANCELLED}:
            changes["closed_at"] = now
        PurchaseOrder.objects.filter(pk=locked.pk, status=from_status).update(**changes)
        purchase_order_event_record(
            purchase_order=locked, type="status_changed", actor=actor, message=reason,
            from_status=from_status, to_status=to_status, data=data,
        )
        locked.refresh_from_db()
    purchase_order.status = locked.status
    return locked


def purchase_order_send(
    *, purchase_order: PurchaseOrder, actor: str = "system", accept_below_minimum: bool = False
) -> PurchaseOrder:
    """Send a draft to the supplier: e-mail it (HTML with a CSV attachment) to every contact
    address after commit, and mark it sent.

    Raises `InvalidTransition` unless it is a draft, `ValidationFailed` when it has no lines,
    its warehouse is inactive or its total is above `MAX_AMOUNT`, and `BelowMinimumOrderValue`
    when it is worth less than the supplier's minimum order value, unless
    `accept_below_minimum`: then a `below_minimum_accepted` event records who sent it anyway.
    A draft expected sooner than today plus the supplier's lead time (a suggestion dated the
    day it was drafted) is re-dated to that day; a later date staff chose is kept.
    """
    from inventory.purchasing.emails import purchase_order_email_queue
    from inventory.purchasing.selectors import purchase_order_total

    with transaction.atomic():
        locked = _lock(purchase_order)
        if locked.status != Status.DRAFT:
            raise InvalidTransition(
                f"Purchase order {locked.number} is {locked.get_status_display().lower()}; "
                "only a draft can be sent."
            )
        lines = list(locked.lines.all())
        if not lines:
            raise ValidationFailed(
                f"Purchase order {locked.number} has no lines.",
                errors={"lines": ["Add at least one line before sending."]},
            )
        total = purchase_order_total(lines=lines)
        _sendable_check(locked, total)
        minimum = locked.supplier.minimum_order_value
        if total < minimum:
            _minimum_order_value_check(locked, total, actor, accept_below_minimum)
        _send_date_check(locked, actor)
        locked = purchase_order_transition(
            purchase_order=locked, to_status=Status.SENT, actor=actor,
            reason=f"Sent to {', '.join(locked.supplier.email_addresses)}.",
            data={"total": str(total), "to": locked.supplier.email_addresses},
        )
        purchase_order_email_queue(purchase_order=locked)
    return locked


def _send_date_check(purchase_order: PurchaseOrder, actor: str) -> None:
    """Move the locked draft's expected date to the earliest the supplier can deliver if it
    is sooner (audited), so neither the supplier nor waiting customers get a date the lead
    time cannot meet."""
    earliest = purchase_order_expected_date(supplier=purchase_order.supplier)
    previous = purchase_order.expected_date
    if previous is not None and previous >= earliest:
        return
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(
        expected_date=earliest, updated_at=timezone.now()
    )
    was = previous.isoformat() if previous else "no date"
    purchase_order_event_record(
        purchase_order=purchase_order, type="expected_date_changed", actor=actor,
        message=f"Expected {earliest.isoformat()} (was {was}): sent today, "
        f"{purchase_order.supplier.lead_time_days} day(s) lead time.",
        data={"before": previous.isoformat() if previous else None, "after": earliest.isoformat()},
    )
    purchase_order.expected_date = earliest


def _sendable_check(purchase_order: PurchaseOrder, total: Decimal) -> None:
    """Refuse to ask a supplier for goods to an inactive warehouse, or for more than any one
    amount may be."""
    errors = {}
    if not purchase_order.warehouse.is_active:
        errors["warehouse"] = [f"Warehouse {purchase_order.warehouse.code} is inactive."]
    total_errors = amount_errors("The purchase order", total)
    if total_errors:
        errors["total"] = total_errors
    if errors:
        raise ValidationFailed(
            f"Purchase order {purchase_order.number} cannot be sent.", errors=errors
        )


def _minimum_order_value_check(
    purchase_order: PurchaseOrder, total: Decimal, actor: str, is_accepted: bool
) -> None:
    """Refuse an order worth less than the supplier's minimum, or record who accepted it."""
    minimum = purchase_order.supplier.minimum_order_value
    amounts = {"total": str(total), "minimum_order_value": str(minimum)}
    if not is_accepted:
        raise BelowMinimumOrderValue(
            f"Purchase order {purchase_order.number} is worth {total} "
            f"{purchase_order.currency}; {purchase_order.supplier.code} takes orders from "
            f"{minimum} {purchase_order.currency}.",
            extra=amounts,
        )
    purchase_order_event_record(
        purchase_order=purchase_order, type="below_minimum_accepted", actor=actor,
        message=f"Sent below {purchase_order.supplier.code}'s minimum order value: {total} of "
        f"{minimum} {purchase_order.currency}.",
        data=amounts,
    )


def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, actor: str = "system", reason: str = ""
) -> PurchaseOrder:
    """Cancel a draft or a sent order nothing was received against.

    Raises `InvalidTransition` once anything was received (close it instead).
    """
    return purchase_order_transition(
        purchase_order=purchase_order, to_status=Status.CANCELLED, actor=actor,
        reason=reason or "Cancelled",
    )


def purchase_order_close(
    *, purchase_order: PurchaseOrder, actor: str = "system", reason: str = ""
) -> PurchaseOrder:
    """Close a received order, or a partially received one whose rest will not come.

    Raises `InvalidTransition` for drafts, sent, closed and cancelled orders.
    """
    return purchase_order_transition(
        purchase_order=purchase_order, to_status=Status.CLOSED, actor=actor,
        reason=reason or "Closed",
    )
