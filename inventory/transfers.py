"""Stock transfers between warehouses: draft -> in transit -> received, closed short, or
cancelled.

Shipping takes the units out of the source's on hand (movements with reason `transfer`); they
are then in transit and counted nowhere; receiving books them into the destination (also
`transfer` movements), in one go or in several partial receipts. A draft can be cancelled;
a shipped transfer cannot. Every status change is a conditional UPDATE on the locked row.

**Numbers** are given here, never typed: `TR<pk>` (six digits at least), or `TR<pk>-<n>` when
an older transfer already carries that number.

**Closing short.** Units that will never arrive (lost or stolen on the way) would keep a
transfer in transit for ever. Closing it writes them off: each line's outstanding units become
its `quantity_lost`, and the transfer records who closed it, when and why. No stock level
changes and no ledger row is written: the units left the source's on hand, with their
`transfer` movement, when the transfer shipped, and have been counted nowhere since.

**Inactive locations.** A transfer is refused, as a field error on `source` or `destination`,
when either location is inactive at creation or at shipping: no stock leaves for or comes from
a deactivated location. Units already in transit when the destination is deactivated are
still received into it: they have left the source and cannot go back by themselves, and
refusing them would strand them in transit, counted nowhere. Move them on with another
transfer once the location is active again.

**Events.** `transfer.shipped`, `transfer.received` (each receipt, with what it booked) and
`transfer.closed` (with the units written off) go to the outbox in the same transaction, for
the ERP's stock-in-transit and shrinkage accounts (`docs/events.md`).

Errors about lines are keyed by the line's position in the request, then its field
(`{"lines": {"1": {"sku": [...]}}}`, `oms_project.errors.item_errors`), as everywhere else.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.alerts import low_stock_alert_if_needed, low_stock_clear_recovered
from inventory.arrivals import free_stock_rose
from inventory.errors import InsufficientStock, InvalidQuantity
from inventory.models import (
    MovementReason,
    Product,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.quantities import MAX_QUANTITY
from inventory.services import _check_quantity
from oms_project.changes import update_changed
from oms_project.errors import Conflict, InvalidTransition, ValidationFailed, item_errors
from oms_project.outbox import outbox_emit
from warehouses.models import Warehouse


@dataclass(frozen=True)
class TransferItem:
    """`quantity` units of a product on a transfer (or received against it)."""

    product: Product
    quantity: int


def _reference(transfer: Transfer) -> str:
    return f"transfer:{transfer.number}"


def transfer_create(
    *,
    source: Warehouse,
    destination: Warehouse,
    items: Iterable[TransferItem],
    note: str = "",
    actor: str = "system",
) -> Transfer:
    """Create a draft transfer with its lines and its number; stock is not touched until it
    ships.

    Raises `ValidationFailed` when source and destination are the same or either is inactive,
    there are no lines, a product appears twice, or a quantity is not a whole number from 1 to
    10^9.
    """
    items = list(items)
    errors = transfer_location_errors(source=source, destination=destination)
    if not items:
        errors["lines"] = ["A transfer needs at least one line."]
    line_errors: list[dict] = []
    seen = set()
    for item in items:
        _check_quantity(item.quantity)
        is_repeated = item.product.pk in seen
        seen.add(item.product.pk)
        line_errors.append(
            {"sku": [f"{item.product.sku} appears more than once."]} if is_repeated else {}
        )
    if any(line_errors):
        errors["lines"] = item_errors(line_errors)
    if errors:
        raise ValidationFailed("The transfer is not valid.", errors=errors)
    with transaction.atomic():
        transfer = Transfer.objects.create(
            number=f"new-{uuid.uuid4().hex[:28]}",  # replaced by TR<pk> below
            source=source,
            destination=destination,
            note=note[:255],
            created_by=actor[:150],
        )
        transfer.number = _number_assign(transfer)
        TransferLine.objects.bulk_create(
            [
                TransferLine(transfer=transfer, product=item.product, quantity=item.quantity)
                for item in items
            ]
        )
    return transfer


# Suffixes tried after TR<pk> when older transfers, numbered by hand, already took it.
MAX_NUMBER_SUFFIX = 99


def _number_assign(transfer: Transfer) -> str:
    """Give a new transfer `TR<pk>`, or the first free `TR<pk>-<n>`: transfers numbered by
    hand before numbers were assigned may hold any of them. The unique constraint decides."""
    base = f"TR{transfer.pk:06d}"
    for number in (base, *(f"{base}-{n}" for n in range(1, MAX_NUMBER_SUFFIX + 1))):
        try:
            with transaction.atomic():
                Transfer.objects.filter(pk=transfer.pk).update(number=number)
        except IntegrityError:
            continue
        return number
    raise Conflict(f"Every number from {base} to {base}-{MAX_NUMBER_SUFFIX} is taken.")


def transfer_location_errors(*, source: Warehouse, destination: Warehouse) -> dict:
    """Field errors that keep a transfer from being made between `source` and `destination`
    (either inactive, or both the same); empty when they will do."""
    errors = _inactive_location_errors(source=source, destination=destination)
    if source.pk == destination.pk:
        errors["destination"] = ["The destination must differ from the source."]
    return errors


def _inactive_location_errors(*, source: Warehouse, destination: Warehouse) -> dict:
    """Field errors for an inactive source or destination (empty when both are active)."""
    return {
        field: [f"Warehouse {location.code} is inactive."]
        for field, location in (("source", source), ("destination", destination))
        if not location.is_active
    }


def _check_locations_active(transfer: Transfer) -> None:
    """Refuse to move stock while the source or destination is inactive (read afresh: either
    may have been deactivated since the draft was made)."""
    locations = Warehouse.objects.in_bulk([transfer.source_id, transfer.destination_id])
    errors = _inactive_location_errors(
        source=locations[transfer.source_id], destination=locations[transfer.destination_id]
    )
    if errors:
        raise ValidationFailed(
            f"Transfer {transfer.number} cannot ship: "
            + " ".join(message for messages in errors.values() for message in messages),
            errors=errors,
        )


def _lock(transfer: Transfer, expected: str, action: str) -> Transfer:
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != expected:
        wanted = Transfer.Status(expected).label.lower()
        article = "an" if wanted[0] in "aeiou" else "a"
        raise InvalidTransition(
            f"Transfer {locked.number} is {locked.get_status_display().lower()}; "
            f"only {article} {wanted} transfer can be {action}."
        )
    return locked


def transfer_ship(*, transfer: Transfer, actor: str = "system") -> Transfer:
    """Take every line out of the source's on hand; the transfer is then in transit.

    Only unallocated units can leave (safety stock may). Raises `InvalidTransition` unless
    the transfer is a draft, `ValidationFailed` when its source or destination is inactive,
    and `InsufficientStock` naming every short line (nothing moves).
    """
    with transaction.atomic():
        transfer = _lock(transfer, Transfer.Status.DRAFT, "shipped")
        _check_locations_active(transfer)
        lines = list(transfer.lines.select_related("product"))
        levels = {
            level.product_id: level
            for level in StockLevel.objects.filter(
                warehouse_id=transfer.source_id, product_id__in=[line.product_id for line in lines]
            )
        }
        short, movements = [], []
        for line in sorted(lines, key=lambda line: getattr(levels.get(line.product_id), "pk", 0)):
            level = levels.get(line.product_id)
            updated = level is not None and update_changed(
                StockLevel.objects.filter(pk=level.pk, on_hand__gte=F("allocated") + line.quantity),
                on_hand=F("on_hand") - line.quantity,
            )
            if not updated:
                free = max(level.on_hand - level.allocated, 0) if level else 0
                short.append({"sku": line.product.sku, "warehouse": transfer.source.code,
                              "requested": line.quantity, "available": free})
                continue
            movements.append(_movement(level.pk, -line.quantity, transfer, actor))
        if short:
            raise InsufficientStock(short)
        StockMovement.objects.bulk_create(movements)
        low_stock_alert_if_needed(level_ids=[movement.stock_level_id for movement in movements])
        Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.DRAFT).update(
            status=Transfer.Status.IN_TRANSIT, shipped_at=timezone.now()
        )
        transfer.refresh_from_db()
        _emit("transfer.shipped", transfer, actor)
    return transfer


def transfer_receive(
    *,
    transfer: Transfer,
    items: Iterable[TransferItem] | None = None,
    actor: str = "system",
) -> Transfer:
    """Book received units into the destination; everything outstanding when `items` is None.

    Partial receipts are fine; the transfer becomes received once every line is complete.
    A destination deactivated while the units were in transit still receives them (see the
    module docstring). Raises `InvalidTransition` unless it is in transit, and
    `ValidationFailed` for a product not on the transfer or more units than are still
    outstanding.
    """
    with transaction.atomic():
        transfer = _lock(transfer, Transfer.Status.IN_TRANSIT, "received")
        lines = {line.product_id: line for line in transfer.lines.select_related("product")}
        receipt = _receipt_quantities(lines, items)
        movements = []
        for product_id, quantity in sorted(receipt.items()):
            level, _ = StockLevel.objects.get_or_create(
                product_id=product_id, warehouse_id=transfer.destination_id
            )
            if not update_changed(
                StockLevel.objects.filter(pk=level.pk, on_hand__lte=MAX_QUANTITY - quantity),
                on_hand=F("on_hand") + quantity,
            ):
                raise InvalidQuantity(
                    f"{lines[product_id].product.sku} at the destination would exceed "
                    f"{MAX_QUANTITY:,} units on hand; nothing was received."
                )
            TransferLine.objects.filter(pk=lines[product_id].pk).update(
                quantity_received=F("quantity_received") + quantity
            )
            movements.append(_movement(level.pk, quantity, transfer, actor))
        StockMovement.objects.bulk_create(movements)
        low_stock_clear_recovered(level_ids=[movement.stock_level_id for movement in movements])
        free_stock_rose(level_ids=[movement.stock_level_id for movement in movements])
        outstanding = sum(
            line.quantity - line.quantity_received - receipt.get(product_id, 0)
            for product_id, line in lines.items()
        )
        if outstanding == 0:
            Transfer.objects.filter(pk=transfer.pk).update(
                status=Transfer.Status.RECEIVED, received_at=timezone.now()
            )
        transfer.refresh_from_db()
        _emit(
            "transfer.received",
            transfer,
            actor,
            received=[
                {"sku": lines[product_id].product.sku, "quantity": quantity}
                for product_id, quantity in sorted(receipt.items())
            ],
        )
    return transfer


def _receipt_quantities(lines: dict, items: Iterable[TransferItem] | None) -> dict[int, int]:
    if items is None:
        return {
            product_id: line.quantity - line.quantity_received
            for product_id, line in lines.items()
            if line.quantity > line.quantity_received
        }
    receipt: dict[int, int] = {}
    line_errors: list[dict] = []
    for item in items:
        _check_quantity(item.quantity)
        line = lines.get(item.product.pk)
        if line is None:
            line_errors.append({"sku": [f"{item.product.sku} is not on this transfer."]})
            continue
        receipt[item.product.pk] = receipt.get(item.product.pk, 0) + item.quantity
        outstanding = line.quantity - line.quantity_received
        if receipt[item.product.pk] > outstanding:
            line_errors.append(
                {"quantity": [f"Only {outstanding} of {item.product.sku} are still outstanding."]}
            )
        else:
            line_errors.append({})
    if any(line_errors):
        raise ValidationFailed(
            "The receipt is not valid.", errors={"lines": item_errors(line_errors)}
        )
    if not receipt:
        raise ValidationFailed(
            "The receipt is not valid.", errors={"lines": ["Give at least one line to receive."]}
        )
    return receipt


def transfer_cancel(*, transfer: Transfer, actor: str = "system") -> Transfer:
    """Cancel a draft transfer. Raises `InvalidTransition` once it has shipped."""
    with transaction.atomic():
        transfer = _lock(transfer, Transfer.Status.DRAFT, "cancelled")
        Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.DRAFT).update(
            status=Transfer.Status.CANCELLED,
            note=(f"{transfer.note} (cancelled by {actor})".strip())[:255],
        )
        transfer.refresh_from_db()
    return transfer


def transfer_close(*, transfer: Transfer, reason: str, actor: str = "system") -> Transfer:
    """Close an in-transit transfer short: write off every unit still in transit as lost.

    Each line's outstanding units become its `quantity_lost`; the transfer is then closed
    with `reason`, who closed it and when. No stock level changes (see the module docstring).
    Raises `ValidationFailed` without a reason, and `InvalidTransition` unless the transfer
    is in transit (cancel a draft instead; received and cancelled transfers are final).
    """
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "Say why the units still in transit are written off.",
            errors={"reason": ["This field may not be blank."]},
        )
    with transaction.atomic():
        transfer = _lock(transfer, Transfer.Status.IN_TRANSIT, "closed")
        TransferLine.objects.filter(transfer=transfer).update(
            quantity_lost=F("quantity") - F("quantity_received")
        )
        Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.IN_TRANSIT).update(
            status=Transfer.Status.CLOSED,
            closed_at=timezone.now(),
            closed_by=actor[:150],
            close_reason=reason[:255],
        )
        transfer.refresh_from_db()
        _emit("transfer.closed", transfer, actor, reason=transfer.close_reason)
    return transfer


def _emit(topic: str, transfer: Transfer, actor: str, **extra) -> None:
    """Record a transfer event: the transfer, its locations and lines as they stand now."""
    lines = transfer.lines.select_related("product").order_by("pk")
    payload = {
        "number": transfer.number,
        "status": transfer.status,
        "source": transfer.source.code,
        "destination": transfer.destination.code,
        "lines": [
            {
                "sku": line.product.sku,
                "quantity": line.quantity,
                "quantity_received": line.quantity_received,
                "quantity_lost": line.quantity_lost,
            }
            for line in lines
        ],
        "actor": actor,
        **extra,
    }
    outbox_emit(topic=topic, payload=payload, reference=transfer.number)


def transfer_units_lost(transfer: Transfer) -> int:
    """Units written off when `transfer` was closed short (0 unless it was)."""
    return sum(line.quantity_lost for line in transfer.lines.all())


def _movement(level_id: int, delta: int, transfer: Transfer, actor: str) -> StockMovement:
    return StockMovement(
        stock_level_id=level_id,
        delta_on_hand=delta,
        reason=MovementReason.TRANSFER,
        reference=_reference(transfer),
        actor=actor[:150],
    )
