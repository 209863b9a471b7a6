"""Allocating an order's lines to stock, through the routing engine.

`plan_allocation` gathers the engine's inputs for a channel (its locations for the fulfillment
method, their outages and the orders they took today, free stock, the destination, the rules)
and asks `warehouses.routing.route` for a plan. `order_allocate` reserves what the plan takes,
stores the decision with its reasons, sets the promise and keeps one fulfillment order per
location in step with the reservations. What cannot be allocated is either refused
(`InsufficientStock`, the channel's `reject` policy) or left open as a backorder.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import Product
from inventory.selectors import available_by_location
from inventory.services import Hold, stock_allocate
from oms_project.changes import update_changed
from orders.errors import OrderValidationError
from orders.events import order_event_record
from orders.fulfillment_states import FulfillmentStatus
from orders.models import (
    FulfillmentMethod,
    FulfillmentOrder,
    Order,
    OrderLine,
    RoutingDecision,
    SalesChannel,
)
from orders.states import OrderStatus
from warehouses.models import ServiceLevel, Warehouse
from warehouses.routing import DemandLine, Plan, Rules, route
from warehouses.routing.loading import candidates_load, destination_resolve, service_terms

PLAN_ATTEMPTS = 3


def line_reference(line: OrderLine | int) -> str:
    return f"order_line:{getattr(line, 'pk', line)}"


def order_is_paid(order: Order) -> bool:
    """Captured payments cover the order's total less what cancellations took off."""
    return order.total == 0 or order.paid_total >= order.total - order.cancelled_total


def order_status_after_allocation(order: Order) -> str:
    """The status an open, not-yet-shipped order should have given payment and stock."""
    if not order_is_paid(order):
        return OrderStatus.CREATED
    open_units = sum(line.quantity_open for line in order.lines.all())
    return OrderStatus.BACKORDERED if open_units else OrderStatus.PROCESSING


def candidate_locations(
    *, channel: SalesChannel, fulfillment_method: str, pickup_location: Warehouse | None
) -> list[Warehouse]:
    """Active locations of the channel that can fulfil the method (ship, or the chosen store)."""
    if fulfillment_method == FulfillmentMethod.PICKUP:
        if pickup_location is None or not (
            pickup_location.is_active and pickup_location.pickup_enabled
        ):
            return []
        return [pickup_location]
    return list(
        channel.warehouses.filter(is_active=True, can_ship=True).order_by("priority", "code")
    )


def routed_today(*, warehouses: Iterable[Warehouse], now: datetime) -> dict[int, int]:
    """Fulfillment orders each location with a daily capacity received since its local
    midnight and still holds (one query).

    A cancelled fulfillment order gives its place back, whatever cancelled it (a re-route
    away, the order's cancellation), even one cancelled after picking began: the capacity
    limits the orders a location takes on for the day, not the work it already did.
    """
    condition = Q()
    for warehouse in warehouses:
        if warehouse.daily_order_capacity is None:
            continue
        local = timezone.localtime(now, _zone(warehouse.timezone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        condition |= Q(warehouse_id=warehouse.pk, created_at__gte=midnight)
    if not condition:
        return {}
    rows = (
        FulfillmentOrder.objects.filter(condition)
        .exclude(status=FulfillmentStatus.CANCELLED)
        .values("warehouse_id")
        .annotate(count=Count("id"))
        .values_list("warehouse_id", "count")
    )
    return dict(rows)


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def plan_allocation(
    *,
    channel: SalesChannel,
    demand: dict,
    fulfillment_method: str = FulfillmentMethod.SHIP,
    pickup_location: Warehouse | None = None,
    destination: dict | None = None,
    service_level: ServiceLevel | None = None,
    rules: Rules | None = None,
    locations: list[Warehouse] | None = None,
    extra_available: dict[tuple[int, int], int] | None = None,
    now: datetime | None = None,
) -> Plan:
    """Ask the routing engine where each demanded unit comes from (reads only).

    `demand` maps a line key -> {product id: quantity}. `rules` defaults to the channel's
    saved rules; `locations` replaces the channel's candidates (a re-route target);
    `extra_available` adds units as if free (a simulation counting an order's own holds).
    """
    from orders.services.routing_rules import routing_rules_for

    now = now or timezone.now()
    rules = rules or routing_rules_for(channel=channel)
    is_pickup = fulfillment_method == FulfillmentMethod.PICKUP
    if locations is None:
        locations = candidate_locations(
            channel=channel, fulfillment_method=fulfillment_method, pickup_location=pickup_location
        )
    product_ids = {product_id for per_line in demand.values() for product_id in per_line}
    products = {
        product.pk: product
        for product in Product.objects.filter(pk__in=product_ids).only("sku", "freight_class")
    }
    lines = [
        DemandLine(
            key=key,
            product_id=product_id,
            sku=products[product_id].sku if product_id in products else str(product_id),
            quantity=quantity,
            freight_class=products[product_id].freight_class if product_id in products else "",
        )
        for key, per_line in demand.items()
        for product_id, quantity in per_line.items()
        if quantity > 0
    ]
    available = available_by_location(
        product_ids=product_ids, warehouse_ids=[location.pk for location in locations]
    )
    for key, units in (extra_available or {}).items():
        available[key] = available.get(key, 0) + units
    return route(
        demand=lines,
        destination=destination_resolve(None if is_pickup else destination),
        candidates=candidates_load(
            warehouses=locations,
            now=now,
            routed_today=routed_today(warehouses=locations, now=now),
            is_pickup=is_pickup,
        ),
        available=available,
        rules=rules,
        now=now,
        service=None if is_pickup else service_terms(service_level),
    )


def order_allocate(
    *,
    order: Order,
    actor: str,
    allow_backorder: bool | None = None,
    refuse_unserved: bool = False,
) -> dict:
    """Allocate every open unit of the order's lines where the routing engine says.

    Follows the channel's shortage policy unless `allow_backorder` overrides it: `reject`
    raises `InsufficientStock` (nothing is reserved), `backorder` reserves what it can.
    With `refuse_unserved` (an order being created), an address none of the channel's
    locations ships to raises `OrderValidationError` on `shipping_address.country` instead:
    no stock can ever fill such an order.
    Stores the routing decision, the promise, and one fulfillment order per location.
    Returns {"allocated": [...], "short": {line id: units}, "decision": RoutingDecision|None}.
    """
    channel = order.channel
    if allow_backorder is None:
        allow_backorder = channel.shortage_policy == SalesChannel.ShortagePolicy.BACKORDER
    for attempt in range(PLAN_ATTEMPTS):
        try:
            return _allocate_once(order, actor, allow_backorder, refuse_unserved)
        except InsufficientStock:
            # Another order took the stock between our read and our reservation: re-plan.
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _allocate_once(order: Order, actor: str, allow_backorder: bool, refuse_unserved: bool) -> dict:
    from orders.services.fulfillment import fulfillment_orders_sync

    with transaction.atomic():
        lines = list(OrderLine.objects.select_for_update().filter(order=order).order_by("pk"))
        order = Order.objects.select_related("channel", "pickup_location", "shipping_method").get(
            pk=order.pk
        )
        demand = {
            line.pk: {line.product_id: line.quantity_open}
            for line in lines
            if line.quantity_open > 0
        }
        result = {"allocated": [], "short": {}, "decision": None}
        if demand:
            result = _allocate_demand(order, lines, demand, actor, allow_backorder, refuse_unserved)
        fulfillment_orders_sync(order=order, actor=actor, decision=result["decision"])
    return result


def _allocate_demand(order, lines, demand, actor, allow_backorder, refuse_unserved) -> dict:
    plan = plan_allocation(
        channel=order.channel,
        demand=demand,
        fulfillment_method=order.fulfillment_method,
        pickup_location=order.pickup_location,
        destination=order.shipping_address,
        service_level=order.shipping_method,
    )
    short = dict(plan.short)
    if refuse_unserved:
        refusal = destination_refusal(
            plan, order.channel, order.fulfillment_method, order.shipping_address
        )
        if refusal is not None:
            raise refusal
    if short and not allow_backorder:
        raise shortage_error(
            short,
            {line.pk: (line.sku, sum(demand.get(line.pk, {}).values())) for line in lines},
        )
    if plan.allocations:
        stock_allocate(
            holds=[
                Hold(
                    item.product_id, item.location_id, item.quantity, line_reference(item.line_key)
                )
                for item in plan.allocations
            ],
            actor=actor,
        )
    per_line = defaultdict(int)
    for item in plan.allocations:
        per_line[item.line_key] += item.quantity
    for line_id, quantity in per_line.items():
        OrderLine.objects.filter(pk=line_id).update(
            quantity_allocated=F("quantity_allocated") + quantity
        )
    decision = routing_decision_record(
        order=order, plan=plan, actor=actor, trigger=RoutingDecision.Trigger.ALLOCATION
    )
    codes = {report.location_id: report.code for report in plan.candidates}
    allocated = [
        {"line_id": item.line_key, "warehouse": codes[item.location_id], "quantity": item.quantity}
        for item in plan.allocations
    ]
    order_event_record(
        order=order,
        type="allocated" if not short else "partially_allocated",
        actor=actor,
        message=_describe(allocated, short),
        data={
            "allocated": allocated,
            "short": {str(k): v for k, v in short.items()},
            "routing_decision": decision.pk,
        },
    )
    return {"allocated": allocated, "short": short, "decision": decision}


def destination_refusal(
    plan: Plan, channel: SalesChannel, method: str, destination: dict | None
) -> OrderValidationError | None:
    """The refusal of an order to ship where none of the channel's locations ships (a
    validation error on `shipping_address.country`), or None when the plan's shortage, if
    any, is one of stock."""
    if not plan.short or method == FulfillmentMethod.PICKUP or not plan.destination_unserved:
        return None
    country = (destination or {}).get("country") or "this address"
    return OrderValidationError(
        f"No location of channel {channel.code} ships to {country}.",
        errors={"shipping_address": {"country": [f"No location ships to {country}."]}},
    )


def shortage_error(short: dict, lines: dict, *, key_name: str = "line_id") -> InsufficientStock:
    """The refusal of a short order: `short` maps a line key to its missing units, `lines` a
    line key to (SKU, units asked for); each entry names the line by `key_name` (`line_id`
    for an existing order line, `line` for a position in an order being created)."""
    return InsufficientStock(
        [
            {
                "sku": lines[key][0],
                key_name: key,
                "warehouse": None,
                "requested": lines[key][1],
                "available": lines[key][1] - units,
            }
            for key, units in short.items()
        ]
    )


def routing_decision_record(
    *, order: Order, plan: Plan, actor: str, trigger: str
) -> RoutingDecision:
    """Store the engine's decision with its reasons and move the order's promise to it.

    The plan may cover only part of the order (a re-routed fulfillment order, backordered
    units): the order promises the latest of the plan and its other parts still under way
    (`order_promise`)."""
    explanation = plan.explain()
    decision = RoutingDecision.objects.create(
        order=order,
        trigger=trigger,
        rules_version=plan.rules_version,
        strategies=list(plan.strategies),
        locations=explanation["locations"],
        is_complete=plan.is_complete,
        is_split=plan.is_split,
        explanation=explanation,
        actor=actor[:150],
    )
    ship_date, delivery_date = order_promise(order=order, plan=plan)
    # The order changed (its lines' allocations, its promise): one UPDATE says both.
    promise = {}
    if ship_date is not None:
        promise = {"promised_ship_date": ship_date, "promised_delivery_date": delivery_date}
        order.promised_ship_date, order.promised_delivery_date = ship_date, delivery_date
    update_changed(Order.objects.filter(pk=order.pk), **promise)
    return decision


def order_promise(*, order: Order, plan: Plan) -> tuple:
    """The order's (ship date, delivery date): the latest over the plan and the order's
    fulfillment orders that are not cancelled or closed (each may be None when nothing
    promises one). Call it after the fulfillment orders the plan replaces were cancelled."""
    ship_dates, delivery_dates = [], []
    # A cancelled part no longer binds the order, nor one whose work is done (closed).
    parts = FulfillmentOrder.objects.filter(order=order).exclude(
        status__in=[FulfillmentStatus.CANCELLED, FulfillmentStatus.CLOSED]
    )
    for ship_date, delivery_date in [
        plan.promise(),
        *parts.values_list("promised_ship_date", "promised_delivery_date"),
    ]:
        if ship_date is not None:
            ship_dates.append(ship_date)
        if delivery_date is not None:
            delivery_dates.append(delivery_date)
    return max(ship_dates, default=None), max(delivery_dates, default=None)


def _describe(allocated: list[dict], short: dict) -> str:
    places = sorted({item["warehouse"] for item in allocated})
    text = f"Allocated from {', '.join(places)}." if places else "Nothing could be allocated."
    if short:
        text += f" {sum(short.values())} unit(s) backordered."
    return text
