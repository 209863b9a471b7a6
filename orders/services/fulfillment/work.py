"""Work on a fulfillment order at its location: pick, pack with verification, ship, hold and
release. Pickup in store (the shelf, the code, the hand-over) is in `pickup`."""

from collections import defaultdict
from datetime import date

from django.db import transaction
from django.utils import timezone

from inventory.models import Product
from orders.errors import InvalidTransition, OrderValidationError
from orders.fulfillment_errors import PackMismatch
from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentMethod, FulfillmentOrder, Order, Shipment
from orders.services.fulfillment.lifecycle import fulfillment_transition
from orders.services.fulfillment.locks import fulfillment_order_lock
from orders.states import HoldReason, OrderStatus
from warehouses.models import ServiceLevel

WORKABLE_ORDER_STATUSES = {
    OrderStatus.PROCESSING,
    OrderStatus.BACKORDERED,
    OrderStatus.PARTIALLY_SHIPPED,
}


def fulfillment_pick_start(*, fulfillment_order: FulfillmentOrder, actor: str) -> FulfillmentOrder:
    """Start picking: the order must be paid and moving (not on hold or cancelled).

    A packed fulfillment order is not picked again: only losing units sends it back to
    picking (`fulfillment_orders_sync`), so its pack check is never dropped by a stray click.
    A held fulfillment order is released first (`fulfillment_release`), so its hold and
    reason are never dropped by a click either. Raises `InvalidTransition` then.
    """
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        if current.status == FulfillmentStatus.PACKED:
            raise InvalidTransition(
                f"Fulfillment order {current.pk} is already packed.",
                extra={"from_status": current.status},
            )
        if current.status == FulfillmentStatus.ON_HOLD:
            raise InvalidTransition(
                f"Fulfillment order {current.pk} is on hold ({current.hold_reason}); release "
                "the hold before picking.",
                extra={"from_status": current.status, "hold_reason": current.hold_reason},
            )
        if current.order.status not in WORKABLE_ORDER_STATUSES:
            raise InvalidTransition(
                f"Order {current.order.number} is {current.order.status}; do not pick it now.",
                extra={"order_status": current.order.status},
            )
        return fulfillment_transition(
            fulfillment_order=current,
            to_status=FulfillmentStatus.PICKING,
            actor=actor,
            reason="Picking started",
        )


def order_not_held_check(order: Order, *, doing: str) -> None:
    """Refuse work on a fulfillment order whose order is on hold (fraud review, payment or
    address problem): raise `InvalidTransition` saying why and what to do."""
    if order.status != OrderStatus.ON_HOLD:
        return
    why = (
        f" ({HoldReason(order.hold_reason).label.lower()})"
        if order.hold_reason in HoldReason.values
        else ""
    )
    raise InvalidTransition(
        f"Order {order.number} is on hold{why}; release the order's hold before {doing}.",
        extra={"order_status": order.status, "hold_reason": order.hold_reason},
    )


def expected_items(fulfillment_order: FulfillmentOrder) -> dict[str, int]:
    """{SKU: units} the fulfillment order holds."""
    expected = defaultdict(int)
    for sku, quantity in fulfillment_order.lines.values_list("order_line__sku", "quantity"):
        expected[sku] += quantity
    return dict(expected)


def scanned_items(scans: list) -> dict[str, int]:
    """Count scans: each item is a SKU or barcode (one unit) or {"sku", "quantity"}.

    Raises `OrderValidationError` for an item of another shape or a quantity that is not a
    positive whole number.
    """
    if not isinstance(scans, list) or not scans:
        raise OrderValidationError(
            "Scan at least one item.", errors={"items": ["Give a non-empty list."]}
        )
    counted, errors = defaultdict(int), {}
    for position, item in enumerate(scans):
        if isinstance(item, str) and item.strip():
            counted[item.strip()] += 1
        elif isinstance(item, dict) and isinstance(item.get("sku"), str) and item["sku"].strip():
            quantity = item.get("quantity", 1)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                errors[str(position)] = ["Quantity must be a positive whole number."]
            else:
                counted[item["sku"].strip()] += quantity
        else:
            errors[str(position)] = ['Give a SKU, a barcode or {"sku": ..., "quantity": ...}.']
    if errors:
        raise OrderValidationError("Some scanned items are invalid.", errors={"items": errors})
    by_barcode = dict(
        Product.objects.filter(barcode__in=[code for code in counted if code])
        .exclude(barcode="")
        .values_list("barcode", "sku")
    )
    resolved = defaultdict(int)
    for code, quantity in counted.items():
        resolved[by_barcode.get(code, code)] += quantity
    return dict(resolved)


def fulfillment_pack(
    *, fulfillment_order: FulfillmentOrder, scans: list, actor: str
) -> FulfillmentOrder:
    """Verify the scanned items against the fulfillment order, then mark it packed.

    A wrong SKU, a missing or an extra unit raises `PackMismatch` listing each difference;
    nothing changes then. The fulfillment order must be picking and its order not on hold
    (`InvalidTransition` otherwise).
    """
    counted = scanned_items(scans)
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        if current.status != FulfillmentStatus.PICKING:
            raise InvalidTransition(
                f"Fulfillment order {current.pk} is {current.status}; pick it before packing.",
                extra={"from_status": current.status},
            )
        order_not_held_check(current.order, doing="packing")
        expected = expected_items(current)
        differences = {}
        for sku in sorted(set(expected) | set(counted)):
            want, got = expected.get(sku, 0), counted.get(sku, 0)
            if not want:
                differences[sku] = [f"Not on this fulfillment order (scanned {got})."]
            elif want != got:
                differences[sku] = [f"Expected {want}, scanned {got}."]
        if differences:
            raise PackMismatch(
                f"Packing blocked: {len(differences)} SKU(s) do not match.",
                errors={"items": differences},
            )
        FulfillmentOrder.objects.filter(pk=current.pk).update(packed_at=timezone.now())
        return fulfillment_transition(
            fulfillment_order=current,
            to_status=FulfillmentStatus.PACKED,
            actor=actor,
            reason="Packed and verified",
            data={"items": expected},
        )


def fulfillment_ship(
    *,
    fulfillment_order: FulfillmentOrder,
    actor: str,
    reference: str = "",
    carrier_name: str = "",
    tracking_number: str = "",
    tracking_url: str = "",
    service_level: ServiceLevel | None = None,
    estimated_delivery_date: date | None = None,
) -> FulfillmentOrder:
    """Ship a packed fulfillment order: a shipment from its location with all its units.

    The shipment goes by `service_level` (the fulfillment order's when not given), with the
    carrier and tracking given (`shipment_record` checks them; a tracking number e-mails the
    customer), and is expected on `estimated_delivery_date`, else on the date promised for
    the fulfillment order. Raises `InvalidTransition` unless the fulfillment order is packed
    and ships, and the shipment's errors (`OrderValidationError` for an unknown carrier
    without a tracking URL); nothing changes then.
    """
    from orders.services.shipments import shipment_create

    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        if current.order.fulfillment_method == FulfillmentMethod.PICKUP:
            raise InvalidTransition("A pickup order is handed over in store, not shipped.")
        if current.status != FulfillmentStatus.PACKED:
            raise InvalidTransition(
                _not_shippable_message(current), extra={"from_status": current.status}
            )
        lines = dict(current.lines.values_list("order_line_id", "quantity"))
        shipment = shipment_create(
            order=current.order,
            reference=reference or f"FO-{current.pk}",
            lines=lines,
            actor=actor,
            carrier_name=carrier_name,
            service_level=service_level or current.service_level,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            warehouse=current.warehouse,
            status=Shipment.Status.AWAITING,
            estimated_delivery_date=estimated_delivery_date or current.promised_delivery_date,
            fulfillment_order=current,
        )
        FulfillmentOrder.objects.filter(pk=current.pk).update(shipment=shipment)
        current.shipment = shipment
        return fulfillment_transition(
            fulfillment_order=current,
            to_status=FulfillmentStatus.SHIPPED,
            actor=actor,
            reason=f"Shipment {shipment.reference}",
        )


def _not_shippable_message(fulfillment_order: FulfillmentOrder) -> str:
    """Why a fulfillment order that is not packed cannot ship, in the location's words."""
    name = f"Fulfillment order {fulfillment_order.pk}"
    if fulfillment_order.shipment_id is not None:
        return f"{name} is already shipped."
    if fulfillment_order.status in (FulfillmentStatus.CANCELLED, FulfillmentStatus.CLOSED):
        return f"{name} is {fulfillment_order.status}; there is nothing left to ship."
    return f"{name} is {fulfillment_order.status}; pack it before shipping."


def fulfillment_close(*, fulfillment_order: FulfillmentOrder, actor: str) -> FulfillmentOrder:
    """Close a shipped fulfillment order (its work at the location is done).

    Raises `InvalidTransition` for any other: a pickup on the shelf closes when it is
    collected or handed over, never on its own, or its order and stock would be stranded.
    """
    status = (
        FulfillmentOrder.objects.filter(pk=fulfillment_order.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status != FulfillmentStatus.SHIPPED:
        detail = (
            "collect it with the customer's code or hand it over"
            if status == FulfillmentStatus.READY_FOR_PICKUP
            else "only shipped fulfillment orders close"
        )
        raise InvalidTransition(
            f"Fulfillment order {fulfillment_order.pk} is {status}; {detail}.",
            extra={"from_status": status, "to_status": FulfillmentStatus.CLOSED},
        )
    return fulfillment_transition(
        fulfillment_order=fulfillment_order,
        to_status=FulfillmentStatus.CLOSED,
        actor=actor,
        reason="Closed",
    )


def fulfillment_hold(
    *, fulfillment_order: FulfillmentOrder, reason: str, actor: str
) -> FulfillmentOrder:
    """Stop work on a fulfillment order for a stated reason (required)."""
    if not isinstance(reason, str) or not reason.strip():
        raise OrderValidationError(
            "Say why the fulfillment order is held.", errors={"reason": ["This field is required."]}
        )
    return fulfillment_transition(
        fulfillment_order=fulfillment_order,
        to_status=FulfillmentStatus.ON_HOLD,
        actor=actor,
        reason=reason.strip(),
        hold_reason=reason.strip(),
    )


def fulfillment_release(*, fulfillment_order: FulfillmentOrder, actor: str) -> FulfillmentOrder:
    """Take a fulfillment order off hold, back to where its work stopped."""
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        if current.status != FulfillmentStatus.ON_HOLD:
            raise InvalidTransition(f"Fulfillment order {current.pk} is not on hold.")
        return fulfillment_transition(
            fulfillment_order=current,
            to_status=current.status_before_hold or FulfillmentStatus.OPEN,
            actor=actor,
            reason="Hold released",
        )
