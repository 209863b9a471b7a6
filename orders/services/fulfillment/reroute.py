"""Sending an unpicked fulfillment order to another location through the routing engine."""

from django.db import transaction

from inventory.services import Hold, reservation_release, stock_allocate
from orders.errors import OrderValidationError
from orders.events import order_event_record
from orders.fulfillment_errors import RerouteRefused
from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentMethod, FulfillmentOrder, RoutingDecision
from orders.services.fulfillment.lifecycle import fulfillment_orders_sync, fulfillment_transition
from orders.services.fulfillment.locks import fulfillment_order_lock
from warehouses.models import Warehouse


def _is_unpicked(fulfillment_order: FulfillmentOrder) -> bool:
    if fulfillment_order.status == FulfillmentStatus.OPEN:
        return True
    return (
        fulfillment_order.status == FulfillmentStatus.ON_HOLD
        and fulfillment_order.status_before_hold in ("", FulfillmentStatus.OPEN)
    )


def fulfillment_reroute(
    *,
    fulfillment_order: FulfillmentOrder,
    actor: str,
    reason: str,
    warehouse: Warehouse | None = None,
) -> list[FulfillmentOrder]:
    """Release the fulfillment order's units and allocate them elsewhere through the engine.

    With `warehouse`, only that location is considered, and it must be one the order may be
    filled from (an active shipping location of the channel, or the order's pickup store);
    otherwise the channel's rules choose among its other locations. The whole fulfillment
    order must move: a target (or the rest of the network) that cannot take every unit raises
    `RerouteRefused` with the engine's reasons, and nothing changes. Returns the fulfillment
    orders that now hold the units.
    """
    from orders.services.allocation import (
        candidate_locations,
        line_reference,
        plan_allocation,
        routing_decision_record,
    )

    if not isinstance(reason, str) or not reason.strip():
        raise OrderValidationError(
            "Say why the order is re-routed.", errors={"reason": ["This field is required."]}
        )
    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        order = current.order
        if not _is_unpicked(current):
            raise RerouteRefused(
                f"Fulfillment order {current.pk} is {current.status}; only unpicked ones move.",
                extra={"from_status": current.status},
            )
        if warehouse is not None and warehouse.pk == current.warehouse_id:
            raise RerouteRefused(f"Fulfillment order {current.pk} is already at {warehouse.code}.")
        lines = list(current.lines.select_related("order_line").order_by("order_line_id"))
        demand = {row.order_line_id: {row.order_line.product_id: row.quantity} for row in lines}
        allowed = candidate_locations(
            channel=order.channel,
            fulfillment_method=order.fulfillment_method,
            pickup_location=order.pickup_location,
        )
        if warehouse is not None:
            if warehouse.pk not in {location.pk for location in allowed}:
                problem = (
                    "it is not this order's pickup store"
                    if order.fulfillment_method == FulfillmentMethod.PICKUP
                    else f"it is not an active location of channel {order.channel.code} "
                    "that ships"
                )
                raise RerouteRefused(
                    f"Fulfillment order {current.pk} cannot move to {warehouse.code}: {problem}; "
                    "nothing was changed.",
                    errors={"warehouse": [f"{warehouse.code}: {problem}."]},
                )
            locations = [warehouse]
        else:
            locations = [location for location in allowed if location.pk != current.warehouse_id]
        plan = plan_allocation(
            channel=order.channel,
            demand=demand,
            fulfillment_method=order.fulfillment_method,
            pickup_location=order.pickup_location,
            destination=order.shipping_address,
            service_level=order.shipping_method,
            locations=locations,
        )
        units = sum(row.quantity for row in lines)
        if not plan.is_complete:
            raise RerouteRefused(
                (f"{warehouse.code} cannot" if warehouse else "No other location can")
                + f" take every unit of fulfillment order {current.pk}; nothing was changed.",
                errors={
                    "warehouse": [
                        f"{report.code}: "
                        + (
                            "; ".join(report.rejected)
                            or f"has {report.coverable_units} of {units} unit(s)"
                        )
                        for report in plan.candidates
                    ]
                    or ["No candidate location."]
                },
            )
        source = current.warehouse
        fulfillment_transition(
            fulfillment_order=current,
            to_status=FulfillmentStatus.CANCELLED,
            actor=actor,
            reason=f"Re-routed: {reason.strip()}",
        )
        for row in lines:
            reservation_release(
                reference=line_reference(row.order_line_id),
                quantity=row.quantity,
                actor=actor,
                note=f"re-routed from {source.code}: {reason.strip()}"[:255],
                warehouse_id=source.pk,
            )
        stock_allocate(
            holds=[
                Hold(
                    item.product_id, item.location_id, item.quantity, line_reference(item.line_key)
                )
                for item in plan.allocations
            ],
            actor=actor,
        )
        decision = routing_decision_record(
            order=order, plan=plan, actor=actor, trigger=RoutingDecision.Trigger.REROUTE
        )
        created = fulfillment_orders_sync(order=order, actor=actor, decision=decision)
        order_event_record(
            order=order,
            type="rerouted",
            actor=actor,
            message=f"FO-{current.pk} moved from {source.code} to "
            f"{', '.join(decision.locations)}: {reason.strip()}",
            data={
                "fulfillment_order": current.pk,
                "from": source.code,
                "to": decision.locations,
                "reason": reason.strip(),
                "routing_decision": decision.pk,
            },
        )
    return created
