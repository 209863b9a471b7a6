"""Recording what leaves a location: shipments consume the allocation and move the order on."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.services import reservation_consume
from oms_project.outbox import outbox_emit
from orders.errors import InvalidTransition, OrderValidationError
from orders.events import order_event_record
from orders.models import Order, OrderLine, Shipment, ShipmentLine
from orders.states import OrderStatus

SHIPPABLE = {OrderStatus.PROCESSING, OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED}


def shipment_create(
    *,
    order: Order,
    reference: str,
    lines: dict[int, int],
    actor: str,
    carrier_name: str = "",
    service_level=None,
    tracking_number: str = "",
    tracking_url: str = "",
    warehouse=None,
    status: str = Shipment.Status.AWAITING,
    estimated_delivery_date=None,
    shipped_at=None,
) -> Shipment:
    """Record a shipment of {line id: units}; the same reference twice returns the first.

    Units must be allocated and not yet shipped; they leave stock (on hand and allocated both
    fall, ledger rows). Raises `OrderValidationError` for unknown lines or too many units and
    `InvalidTransition` when the order cannot ship now.
    """
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.lifecycle import order_transition

    existing = Shipment.objects.filter(order=order, reference=reference).first()
    if existing:
        return existing
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("channel").get(pk=order.pk)
        if order.status not in SHIPPABLE:
            raise InvalidTransition(
                f"Order {order.number} is {order.status} and cannot ship.",
                extra={"from_status": order.status},
            )
        order_lines = {
            line.pk: line for line in OrderLine.objects.select_for_update().filter(order=order)
        }
        _check_lines(order_lines, lines)
        if not tracking_url and tracking_number and service_level is not None:
            tracking_url = service_level.carrier.tracking_url(tracking_number)
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    order=order,
                    reference=reference,
                    warehouse=warehouse,
                    carrier_name=carrier_name
                    or (service_level.carrier.name if service_level else ""),
                    service_level=service_level,
                    tracking_number=tracking_number,
                    tracking_url=tracking_url,
                    status=status,
                    estimated_delivery_date=estimated_delivery_date,
                    shipped_at=shipped_at or timezone.now(),
                    created_by=actor,
                )
        except IntegrityError:
            return Shipment.objects.get(order=order, reference=reference)
        for line_id, units in sorted(lines.items()):
            reservation_consume(
                reference=f"order_line:{line_id}",
                quantity=units,
                warehouse_id=warehouse.pk if warehouse else None,
                actor=actor,
            )
            OrderLine.objects.filter(pk=line_id).update(
                quantity_allocated=F("quantity_allocated") - units,
                quantity_shipped=F("quantity_shipped") + units,
            )
            ShipmentLine.objects.create(shipment=shipment, order_line_id=line_id, quantity=units)
        outstanding = sum(
            line.quantity - line.quantity_shipped - line.quantity_cancelled - lines.get(line_id, 0)
            for line_id, line in order_lines.items()
        )
        target = OrderStatus.SHIPPED if outstanding == 0 else OrderStatus.PARTIALLY_SHIPPED
        order_event_record(
            order=order,
            type="shipment_created",
            actor=actor,
            message=f"Shipment {reference} {carrier_name} {tracking_number}",
            data={"reference": reference, "lines": {str(k): v for k, v in lines.items()}},
        )
        if target != order.status:
            order_transition(
                order=order, to_status=target, actor=actor, reason=f"Shipment {reference}"
            )
        outbox_emit(
            topic="order.shipped",
            payload={**order_payload(order), "shipment": shipment_payload(shipment)},
            reference=order.number,
        )
        order_email(
            order=order,
            template="shipment_confirmation",
            extra={
                "shipment": shipment,
                "shipped_lines": [
                    (order_lines[line_id], units) for line_id, units in lines.items()
                ],
            },
        )
    return shipment


def _check_lines(order_lines: dict[int, OrderLine], lines: dict[int, int]) -> None:
    if not lines:
        raise OrderValidationError(
            "A shipment needs at least one line.", errors={"lines": ["This list may not be empty."]}
        )
    errors = {}
    for line_id, units in lines.items():
        line = order_lines.get(line_id)
        if line is None:
            errors[str(line_id)] = ["No such line on this order."]
        elif units <= 0:
            errors[str(line_id)] = ["Quantity must be positive."]
        elif units > line.quantity_allocated:
            errors[str(line_id)] = [
                f"Only {line.quantity_allocated} unit(s) are allocated and not yet shipped."
            ]
    if errors:
        raise OrderValidationError("Some shipment lines are invalid.", errors={"lines": errors})


def shipment_payload(shipment: Shipment) -> dict:
    return {
        "reference": shipment.reference,
        "carrier": shipment.carrier_name,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "status": shipment.status,
        "shipped_at": shipment.shipped_at.isoformat(),
        "estimated_delivery_date": (
            shipment.estimated_delivery_date.isoformat()
            if shipment.estimated_delivery_date
            else None
        ),
    }


def shipment_mark_delivered(*, shipment: Shipment, actor: str, delivered_at=None) -> Shipment:
    """Mark a shipment delivered; when every shipment of a shipped order is, complete it."""
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.lifecycle import order_transition

    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.status == Shipment.Status.DELIVERED:
            return shipment
        shipment.status = Shipment.Status.DELIVERED
        shipment.delivered_at = delivered_at or timezone.now()
        shipment.save(update_fields=["status", "delivered_at"])
        order = Order.objects.select_for_update().get(pk=shipment.order_id)
        order_event_record(
            order=order,
            type="shipment_delivered",
            actor=actor,
            message=f"Shipment {shipment.reference} delivered",
        )
        undelivered = order.shipments.exclude(status=Shipment.Status.DELIVERED).exists()
        if order.status == OrderStatus.SHIPPED and not undelivered:
            order_transition(
                order=order,
                to_status=OrderStatus.COMPLETE,
                actor=actor,
                reason="All shipments delivered",
            )
            outbox_emit(
                topic="order.delivered", payload=order_payload(order), reference=order.number
            )
            order_email(order=order, template="order_delivered")
    return shipment


def order_ready_for_pickup(*, order: Order, actor: str) -> Order:
    """Announce that a fully allocated pickup order waits at the store."""
    from orders.notifications import order_email
    from orders.services.lifecycle import order_transition

    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("pickup_location").get(pk=order.pk)
        if order.fulfillment_method != "pickup":
            raise InvalidTransition(f"Order {order.number} is not a pickup order.")
        if any(line.quantity_open for line in order.lines.all()):
            raise InvalidTransition(f"Order {order.number} still waits for stock.")
        order_transition(
            order=order,
            to_status=OrderStatus.READY_FOR_PICKUP,
            actor=actor,
            reason=f"Ready at {order.pickup_location.name}",
        )
        order_email(order=order, template="ready_for_pickup")
    return order


def order_collect(*, order: Order, actor: str) -> Order:
    """Hand a ready pickup order to the customer: its units leave stock, the order completes."""
    from orders.services.lifecycle import order_transition

    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.READY_FOR_PICKUP:
            raise InvalidTransition(
                f"Order {order.number} is not ready for pickup.",
                extra={"from_status": order.status},
            )
        for line in OrderLine.objects.select_for_update().filter(order=order).order_by("pk"):
            if line.quantity_allocated:
                reservation_consume(
                    reference=f"order_line:{line.pk}", quantity=line.quantity_allocated, actor=actor
                )
                OrderLine.objects.filter(pk=line.pk).update(
                    quantity_shipped=F("quantity_shipped") + line.quantity_allocated,
                    quantity_allocated=0,
                )
        order_transition(
            order=order,
            to_status=OrderStatus.COMPLETE,
            actor=actor,
            reason="Collected by the customer",
        )
    return order
