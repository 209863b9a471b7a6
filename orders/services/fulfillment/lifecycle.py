"""The one door for fulfillment-order states, and keeping fulfillment orders in step with the
order's reservations (one active fulfillment order per location takes new units)."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from inventory.models import StockReservation
from orders.errors import InvalidTransition
from orders.events import order_event_record
from orders.fulfillment_states import (
    ACTIVE_FULFILLMENT_STATUSES,
    FulfillmentStatus,
    can_fulfillment_transition,
)
from orders.models import (
    FulfillmentMethod,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Order,
    OrderLine,
    RoutingDecision,
)
from orders.services.fulfillment.locks import fulfillment_order_lock
from warehouses.models import Warehouse
from warehouses.routing.loading import location_outages, location_promise

# Units leave the least advanced fulfillment orders first when reservations shrink.
PROGRESS = [
    FulfillmentStatus.OPEN,
    FulfillmentStatus.ON_HOLD,
    FulfillmentStatus.PICKING,
    FulfillmentStatus.PACKED,
    FulfillmentStatus.READY_FOR_PICKUP,
]


def fulfillment_transition(
    *,
    fulfillment_order: FulfillmentOrder,
    to_status: str,
    actor: str,
    reason: str = "",
    hold_reason: str = "",
    data: dict | None = None,
) -> FulfillmentOrder:
    """Move a fulfillment order along `FULFILLMENT_TRANSITIONS` and log an order event.

    Locks the row (after its order's, `fulfillment_order_lock`), checks the table, updates
    `WHERE status = <from>` and writes the event in the same transaction. Raises
    `InvalidTransition` for a move the table does not allow.
    """
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        from_status = current.status
        if not can_fulfillment_transition(from_status, to_status):
            raise InvalidTransition(
                f"Fulfillment order {current.pk} cannot go from {from_status} to {to_status}.",
                extra={"from_status": from_status, "to_status": to_status},
            )
        changes = {"status": to_status, "updated_at": timezone.now()}
        if to_status == FulfillmentStatus.ON_HOLD:
            changes.update(status_before_hold=from_status, hold_reason=hold_reason[:200])
        elif from_status == FulfillmentStatus.ON_HOLD:
            changes.update(status_before_hold="", hold_reason="")
        updated = FulfillmentOrder.objects.filter(pk=current.pk, status=from_status).update(
            **changes
        )
        if not updated:  # the row lock makes this unreachable unless the schema is bypassed
            raise InvalidTransition(f"Fulfillment order {current.pk} changed while updated.")
        order_event_record(
            order=Order(pk=current.order_id),
            type="fulfillment_status_changed",
            actor=actor,
            message=f"FO-{current.pk} at {current.warehouse.code}: {reason}".rstrip(": "),
            from_status=from_status,
            to_status=to_status,
            data={"fulfillment_order": current.pk, "warehouse": current.warehouse.code,
                  **(data or {})},
        )
        for field, value in changes.items():
            setattr(fulfillment_order, field, value)
    return fulfillment_order


def fulfillment_orders_sync(
    *, order: Order, actor: str, decision: RoutingDecision | None = None, reason: str = ""
) -> list[FulfillmentOrder]:
    """Make the order's active fulfillment orders hold exactly its reserved units.

    New units at a location join that location's open fulfillment order (one is created when
    there is none, only for paid orders); released units leave the least advanced ones first,
    a fulfillment order left empty is cancelled, and a packed one that lost units is sent back
    to packing (`_repack_request`). Locks the order, then its active fulfillment orders in pk
    order. Returns the fulfillment orders created.
    """
    from orders.services.allocation import line_reference, order_is_paid

    with transaction.atomic():
        # The order before its fulfillment orders, as every fulfillment service locks them.
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("shipping_method")
            .get(pk=order.pk)
        )
        line_ids = list(OrderLine.objects.filter(order=order).values_list("pk", flat=True))
        reserved = defaultdict(int)
        for reference, warehouse_id, quantity in StockReservation.objects.filter(
            reference__in=[line_reference(line_id) for line_id in line_ids]
        ).values_list("reference", "stock_level__warehouse_id", "quantity"):
            reserved[(int(reference.split(":", 1)[1]), warehouse_id)] += quantity
        active = list(
            FulfillmentOrder.objects.select_for_update(of=("self",))
            .filter(order=order, status__in=ACTIVE_FULFILLMENT_STATUSES)
            .order_by("pk")
        )
        rows = list(
            FulfillmentOrderLine.objects.filter(fulfillment_order__in=active).order_by("pk")
        )
        by_id = {fulfillment_order.pk: fulfillment_order for fulfillment_order in active}
        assigned = defaultdict(int)
        for row in rows:
            assigned[(row.order_line_id, by_id[row.fulfillment_order_id].warehouse_id)] += (
                row.quantity
            )
        removed = _shrink(rows, by_id, reserved, assigned)
        for fulfillment_order in active:
            if not fulfillment_order.lines.exists():
                fulfillment_transition(
                    fulfillment_order=fulfillment_order,
                    to_status=FulfillmentStatus.CANCELLED,
                    actor=actor,
                    reason=reason or "No units left to fulfil",
                )
            elif fulfillment_order.pk in removed and fulfillment_order.packed_at is not None:
                _repack_request(
                    fulfillment_order=fulfillment_order,
                    removed=removed[fulfillment_order.pk],
                    actor=actor,
                    reason=reason,
                )
        growth = {
            key: reserved[key] - assigned[key]
            for key in reserved
            if reserved[key] > assigned[key]
        }
        if not growth or not order_is_paid(order):
            return []
        return _grow(order, active, growth, decision, actor)


def _shrink(rows, by_id, reserved, assigned) -> dict[int, dict[int, int]]:
    """Take unreserved units off the fulfillment lines; return {fulfillment order id:
    {order line id: units taken}}."""
    removed = defaultdict(lambda: defaultdict(int))
    excess = {key: assigned[key] - reserved.get(key, 0) for key in assigned}
    ordered = sorted(
        rows, key=lambda row: (PROGRESS.index(by_id[row.fulfillment_order_id].status), -row.pk)
    )
    for row in ordered:
        key = (row.order_line_id, by_id[row.fulfillment_order_id].warehouse_id)
        if excess.get(key, 0) <= 0:
            continue
        take = min(row.quantity, excess[key])
        excess[key] -= take
        removed[row.fulfillment_order_id][row.order_line_id] += take
        if take == row.quantity:
            row.delete()
        else:
            FulfillmentOrderLine.objects.filter(pk=row.pk).update(quantity=row.quantity - take)
    return removed


def _repack_request(
    *, fulfillment_order: FulfillmentOrder, removed: dict[int, int], actor: str, reason: str
) -> None:
    """Void the pack check of a packed fulfillment order that lost units, saying which.

    Its parcel still holds the units that left (cancelled, shipped elsewhere, released), so
    shipping it as packed would send them anyway. A packed one goes back to picking and must
    be packed and verified again; one held after packing returns to picking when released.
    One already on the pickup shelf keeps its status (the customer holds its code), and the
    note tells the counter what to take out before handing it over.
    """
    from orders.services.fulfillment.work import expected_items

    removed_items = items_by_sku(removed)
    note = "re-pack without " + ", ".join(
        f"{units} x {sku}" for sku, units in sorted(removed_items.items())
    )
    note = f"{reason}; {note}" if reason else note
    data = {"removed": removed_items, "items": expected_items(fulfillment_order)}
    if fulfillment_order.status == FulfillmentStatus.PACKED:
        FulfillmentOrder.objects.filter(pk=fulfillment_order.pk).update(packed_at=None)
        fulfillment_transition(
            fulfillment_order=fulfillment_order,
            to_status=FulfillmentStatus.PICKING,
            actor=actor,
            reason=note,
            data=data,
        )
        return
    if fulfillment_order.status == FulfillmentStatus.ON_HOLD:
        FulfillmentOrder.objects.filter(pk=fulfillment_order.pk).update(
            packed_at=None, status_before_hold=FulfillmentStatus.PICKING
        )
    order_event_record(
        order=Order(pk=fulfillment_order.order_id),
        type="fulfillment_repack_needed",
        actor=actor,
        message=f"FO-{fulfillment_order.pk} at {fulfillment_order.warehouse.code}: {note}",
        data={"fulfillment_order": fulfillment_order.pk,
              "warehouse": fulfillment_order.warehouse.code, **data},
    )


def _grow(order, active, growth, decision, actor) -> list[FulfillmentOrder]:
    open_at = {
        fulfillment_order.warehouse_id: fulfillment_order
        for fulfillment_order in active
        if fulfillment_order.status == FulfillmentStatus.OPEN
    }
    warehouses = Warehouse.objects.in_bulk({warehouse_id for _line, warehouse_id in growth})
    is_pickup = order.fulfillment_method == FulfillmentMethod.PICKUP
    now = timezone.now()
    closures = location_outages(warehouse_ids=sorted(warehouses), now=now)
    created = []
    for (line_id, warehouse_id), units in sorted(growth.items()):
        fulfillment_order = open_at.get(warehouse_id)
        if fulfillment_order is None:
            ship_date, delivery_date = location_promise(
                warehouse=warehouses[warehouse_id],
                service_level=order.shipping_method,
                now=now,
                is_pickup=is_pickup,
                closures=closures.get(warehouse_id, ()),
            )
            fulfillment_order = FulfillmentOrder.objects.create(
                order=order,
                warehouse=warehouses[warehouse_id],
                service_level=None if is_pickup else order.shipping_method,
                promised_ship_date=ship_date,
                promised_delivery_date=delivery_date,
                routing_decision=decision,
            )
            open_at[warehouse_id] = fulfillment_order
            created.append(fulfillment_order)
            order_event_record(
                order=order,
                type="fulfillment_order_created",
                actor=actor,
                message=f"FO-{fulfillment_order.pk} at {warehouses[warehouse_id].code}",
                data={"fulfillment_order": fulfillment_order.pk,
                      "warehouse": warehouses[warehouse_id].code},
            )
        row, row_created = FulfillmentOrderLine.objects.get_or_create(
            fulfillment_order=fulfillment_order, order_line_id=line_id,
            defaults={"quantity": units},
        )
        if not row_created:
            FulfillmentOrderLine.objects.filter(pk=row.pk).update(quantity=row.quantity + units)
    return created


def items_by_sku(units_by_line: dict[int, int]) -> dict[str, int]:
    """{SKU: units} of {order line id: units}."""
    skus = dict(OrderLine.objects.filter(pk__in=list(units_by_line)).values_list("pk", "sku"))
    items = defaultdict(int)
    for line_id, units in units_by_line.items():
        items[skus[line_id]] += units
    return dict(items)
