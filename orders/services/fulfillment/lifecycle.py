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
from warehouses.models import Warehouse
from warehouses.routing.loading import location_promise

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

    Locks the row, checks the table, updates `WHERE status = <from>` and writes the event in
    the same transaction. Raises `InvalidTransition` for a move the table does not allow.
    """
    with transaction.atomic():
        current = (
            FulfillmentOrder.objects.select_for_update(of=("self",))
            .select_related("warehouse")
            .get(pk=fulfillment_order.pk)
        )
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
    and a fulfillment order left empty is cancelled. Returns the fulfillment orders created.
    """
    from orders.services.allocation import line_reference, order_is_paid

    with transaction.atomic():
        order = Order.objects.select_related("shipping_method").get(pk=order.pk)
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
        _shrink(rows, by_id, reserved, assigned)
        for fulfillment_order in active:
            if not fulfillment_order.lines.exists():
                fulfillment_transition(
                    fulfillment_order=fulfillment_order,
                    to_status=FulfillmentStatus.CANCELLED,
                    actor=actor,
                    reason=reason or "No units left to fulfil",
                )
        growth = {
            key: reserved[key] - assigned[key]
            for key in reserved
            if reserved[key] > assigned[key]
        }
        if not growth or not order_is_paid(order):
            return []
        return _grow(order, active, growth, decision, actor)


def _shrink(rows, by_id, reserved, assigned) -> None:
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
        if take == row.quantity:
            row.delete()
        else:
            FulfillmentOrderLine.objects.filter(pk=row.pk).update(quantity=row.quantity - take)


def _grow(order, active, growth, decision, actor) -> list[FulfillmentOrder]:
    open_at = {
        fulfillment_order.warehouse_id: fulfillment_order
        for fulfillment_order in active
        if fulfillment_order.status == FulfillmentStatus.OPEN
    }
    warehouses = Warehouse.objects.in_bulk({warehouse_id for _line, warehouse_id in growth})
    is_pickup = order.fulfillment_method == FulfillmentMethod.PICKUP
    now = timezone.now()
    created = []
    for (line_id, warehouse_id), units in sorted(growth.items()):
        fulfillment_order = open_at.get(warehouse_id)
        if fulfillment_order is None:
            ship_date, delivery_date = location_promise(
                warehouse=warehouses[warehouse_id],
                service_level=order.shipping_method,
                now=now,
                is_pickup=is_pickup,
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
