"""Allocating an order's lines to stock.

Until the routing engine decides, locations are the channel's active shipping warehouses in
priority order (or the chosen store for a pickup). One location that can fill every open unit
wins; otherwise, when the channel allows splits, units are taken location by location up to the
channel's maximum number of shipments. What cannot be allocated is either refused
(`InsufficientStock`, the channel's `reject` policy) or left open as a backorder.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import F

from inventory.errors import InsufficientStock
from inventory.selectors import available_by_location
from inventory.services import Hold, stock_allocate
from orders.events import order_event_record
from orders.models import FulfillmentMethod, Order, OrderLine, SalesChannel
from orders.states import OrderStatus
from warehouses.models import Warehouse

PLAN_ATTEMPTS = 3


def line_reference(line: OrderLine | int) -> str:
    return f"order_line:{getattr(line, 'pk', line)}"


def order_is_paid(order: Order) -> bool:
    return order.total == 0 or order.paid_total >= order.total


def order_status_after_allocation(order: Order) -> str:
    """The status an open, not-yet-shipped order should have given payment and stock."""
    if not order_is_paid(order):
        return OrderStatus.CREATED
    open_units = sum(line.quantity_open for line in order.lines.all())
    return OrderStatus.BACKORDERED if open_units else OrderStatus.PROCESSING


def candidate_locations(order: Order) -> list[Warehouse]:
    if order.fulfillment_method == FulfillmentMethod.PICKUP:
        return [order.pickup_location] if order.pickup_location_id else []
    return list(
        order.channel.warehouses.filter(is_active=True, can_ship=True).order_by("priority", "code")
    )


def plan_allocation(
    *,
    demand: dict[int, dict[int, int]],
    locations: list[Warehouse],
    available: dict[tuple[int, int], int],
    channel: SalesChannel,
) -> tuple[list[tuple[int, int, int, int]], dict]:
    """Choose where each open unit comes from.

    `demand` maps line id -> {product id: quantity}; returns (line, product, warehouse,
    quantity) picks and the units per line still short.
    """
    needs = defaultdict(int)
    for per_product in demand.values():
        for product_id, quantity in per_product.items():
            needs[product_id] += quantity
    for location in locations:
        if all(
            available.get((product_id, location.pk), 0) >= quantity
            for product_id, quantity in needs.items()
        ):
            return _take(demand, [location], available, limit=1)
    if channel.allow_split:
        return _take(demand, locations, available, limit=channel.max_shipments)
    best = max(
        locations,
        default=None,
        key=lambda location: sum(
            min(available.get((product_id, location.pk), 0), quantity)
            for product_id, quantity in needs.items()
        ),
    )
    return _take(demand, [best] if best else [], available, limit=1)


def _take(demand, locations, available, *, limit: int):
    remaining = dict(available)
    picks, used = [], []
    short = {}
    for line_id, per_product in demand.items():
        for product_id, quantity in per_product.items():
            for location in locations:
                if quantity <= 0:
                    break
                if location.pk not in used and len(used) >= limit:
                    continue
                free = remaining.get((product_id, location.pk), 0)
                take = min(free, quantity)
                if take > 0:
                    picks.append((line_id, product_id, location.pk, take))
                    remaining[(product_id, location.pk)] = free - take
                    quantity -= take
                    if location.pk not in used:
                        used.append(location.pk)
            if quantity > 0:
                short[line_id] = short.get(line_id, 0) + quantity
    return picks, short


def order_allocate(*, order: Order, actor: str, allow_backorder: bool | None = None) -> dict:
    """Allocate every open unit of the order's lines and record where it went.

    Follows the channel's shortage policy unless `allow_backorder` overrides it: `reject`
    raises `InsufficientStock` (nothing is reserved), `backorder` reserves what it can.
    Returns {"allocated": [...], "short": {line id: units}}.
    """
    channel = order.channel
    if allow_backorder is None:
        allow_backorder = channel.shortage_policy == SalesChannel.ShortagePolicy.BACKORDER
    for attempt in range(PLAN_ATTEMPTS):
        try:
            return _allocate_once(order, actor, allow_backorder)
        except InsufficientStock:
            # Another order took the stock between our read and our reservation: re-plan.
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _allocate_once(order: Order, actor: str, allow_backorder: bool) -> dict:
    with transaction.atomic():
        lines = list(OrderLine.objects.select_for_update().filter(order=order).order_by("pk"))
        demand = {
            line.pk: {line.product_id: line.quantity_open}
            for line in lines
            if line.quantity_open > 0
        }
        if not demand:
            return {"allocated": [], "short": {}}
        locations = candidate_locations(order)
        available = available_by_location(
            product_ids={line.product_id for line in lines},
            warehouse_ids=[location.pk for location in locations],
        )
        picks, short = plan_allocation(
            demand=demand, locations=locations, available=available, channel=order.channel
        )
        if short and not allow_backorder:
            sku_by_line = {line.pk: line.sku for line in lines}
            raise InsufficientStock(
                [
                    {
                        "sku": sku_by_line[line_id],
                        "line_id": line_id,
                        "warehouse": None,
                        "requested": demand[line_id][next(iter(demand[line_id]))],
                        "available": demand[line_id][next(iter(demand[line_id]))] - units,
                    }
                    for line_id, units in short.items()
                ]
            )
        if picks:
            stock_allocate(
                holds=[
                    Hold(product_id, warehouse_id, quantity, line_reference(line_id))
                    for line_id, product_id, warehouse_id, quantity in picks
                ],
                actor=actor,
            )
        per_line = defaultdict(int)
        for line_id, _product, _warehouse, quantity in picks:
            per_line[line_id] += quantity
        for line_id, quantity in per_line.items():
            OrderLine.objects.filter(pk=line_id).update(
                quantity_allocated=F("quantity_allocated") + quantity
            )
        codes = dict(
            Warehouse.objects.filter(pk__in={pick[2] for pick in picks}).values_list("pk", "code")
        )
        allocated = [
            {"line_id": line_id, "warehouse": codes[warehouse_id], "quantity": quantity}
            for line_id, _product, warehouse_id, quantity in picks
        ]
        order_event_record(
            order=order,
            type="allocated" if not short else "partially_allocated",
            actor=actor,
            message=_describe(allocated, short),
            data={"allocated": allocated, "short": {str(k): v for k, v in short.items()}},
        )
    return {"allocated": allocated, "short": short}


def _describe(allocated: list[dict], short: dict) -> str:
    places = sorted({item["warehouse"] for item in allocated})
    text = f"Allocated from {', '.join(places)}." if places else "Nothing could be allocated."
    if short:
        text += f" {sum(short.values())} unit(s) backordered."
    return text


def order_deallocate(*, order: Order, actor: str, reason: str = "") -> int:
    """Release every unit allocated to the order's lines (e.g. before re-routing)."""
    from inventory.services import reservation_release

    released = 0
    with transaction.atomic():
        for line in OrderLine.objects.select_for_update().filter(order=order).order_by("pk"):
            if line.quantity_allocated:
                units = reservation_release(
                    reference=line_reference(line), actor=actor, note=reason
                )
                OrderLine.objects.filter(pk=line.pk).update(
                    quantity_allocated=F("quantity_allocated") - units
                )
                released += units
    return released
