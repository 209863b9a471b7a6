"""Tracking updates from carriers and 3PLs, and tracking numbers added after shipping."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from oms_project.notifications import email_queue_staff_alert
from oms_project.outbox import outbox_emit
from orders.errors import OrderValidationError
from orders.events import order_event_record
from orders.models import Order, OrderLine, Shipment, ShipmentEvent
from orders.services.shipments import (
    _carrier_and_url,
    order_complete_if_delivered,
    shipment_email_context,
    shipment_payload,
)

# Statuses after which an older carrier scan no longer changes the shipment.
FINAL_STATUSES = {Shipment.Status.DELIVERED, Shipment.Status.RETURNED}


def shipment_track(
    *,
    shipment: Shipment,
    status: str,
    actor: str,
    occurred_at: datetime | None = None,
    location: str = "",
    message: str = "",
) -> ShipmentEvent:
    """Record a carrier's tracking event and move the shipment to its status.

    Events may arrive out of order: the shipment takes the status of its latest event by
    `occurred_at`, and a delivered or returned shipment is not moved back. Delivered on every
    shipment completes the order (e-mail and `order.delivered`); an exception alerts staff and
    emits `shipment.exception`. Raises `OrderValidationError` for an unknown status or a time
    in the future; nothing is written then.
    """
    if status not in Shipment.Status.values:
        raise OrderValidationError(
            f"Unknown tracking status '{status}'.",
            errors={"status": [f"Use one of: {', '.join(Shipment.Status.values)}."]},
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + timedelta(minutes=10):
        raise OrderValidationError(
            "A tracking event cannot happen in the future.",
            errors={"time": ["This time is in the future."]},
        )
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("channel").get(
            pk=shipment.order_id
        )
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        latest = shipment.events.order_by("-occurred_at", "-id").first()
        event = ShipmentEvent.objects.create(
            shipment=shipment,
            status=status,
            occurred_at=occurred_at,
            location=location[:200],
            message=message[:500],
            actor=actor[:150],
        )
        is_latest = latest is None or occurred_at >= latest.occurred_at
        if is_latest and shipment.status not in FINAL_STATUSES and shipment.status != status:
            _apply_status(order, shipment, event, actor)
    return event


def _apply_status(order: Order, shipment: Shipment, event: ShipmentEvent, actor: str) -> None:
    previous = shipment.status
    shipment.status = event.status
    fields = ["status"]
    if event.status == Shipment.Status.DELIVERED:
        shipment.delivered_at = event.occurred_at
        fields.append("delivered_at")
    shipment.save(update_fields=fields)
    order_event_record(
        order=order,
        type=f"shipment_{event.status}",
        actor=actor,
        message=f"Shipment {shipment.reference}: {previous} -> {event.status}"
        + (f" at {event.location}" if event.location else "")
        + (f" ({event.message})" if event.message else ""),
        data={"reference": shipment.reference, "from": previous, "to": event.status},
    )
    payload = {"order": order.number, "channel": order.channel.code, **shipment_payload(shipment)}
    payload["event"] = {
        "status": event.status,
        "occurred_at": event.occurred_at.isoformat(),
        "location": event.location,
        "message": event.message,
    }
    outbox_emit(topic=f"shipment.{event.status}", payload=payload, reference=order.number)
    if event.status == Shipment.Status.DELIVERED:
        order_complete_if_delivered(order=order, actor=actor)
    elif event.status == Shipment.Status.EXCEPTION:
        email_queue_staff_alert(
            subject=f"Shipment exception on order {order.number}",
            body=(
                f"Shipment {shipment.reference} ({shipment.carrier_name} "
                f"{shipment.tracking_number}) reported an exception"
                f"{' at ' + event.location if event.location else ''}: "
                f"{event.message or 'no details given'}."
            ),
            reference=f"order:{order.number}",
        )


def shipment_tracking_update(
    *,
    shipment: Shipment,
    tracking_number: str,
    actor: str,
    carrier_name: str = "",
    tracking_url: str = "",
) -> Shipment:
    """Add or correct a shipment's tracking; the first tracking number e-mails the customer.

    Raises `OrderValidationError` for an empty number or an unknown carrier without a URL.
    """
    from orders.notifications import order_email

    tracking_number = tracking_number.strip()
    if not tracking_number:
        raise OrderValidationError(
            "A tracking number is required.",
            errors={"tracking_number": ["This field may not be blank."]},
        )
    carrier_label, tracking_url = _carrier_and_url(
        carrier_name=carrier_name or shipment.carrier_name,
        service_level=shipment.service_level,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
    )
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("channel").get(
            pk=shipment.order_id
        )
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        had_tracking = bool(shipment.tracking_number)
        shipment.tracking_number = tracking_number
        shipment.tracking_url = tracking_url
        shipment.carrier_name = carrier_label
        shipment.save(update_fields=["tracking_number", "tracking_url", "carrier_name"])
        order_event_record(
            order=order,
            type="shipment_tracking",
            actor=actor,
            message=f"Shipment {shipment.reference}: {carrier_label} {tracking_number}",
            data={"reference": shipment.reference, "tracking_number": tracking_number},
        )
        if not had_tracking:
            shipped = {line.order_line_id: line.quantity for line in shipment.lines.all()}
            order_lines = OrderLine.objects.in_bulk(list(shipped))
            order_email(
                order=order,
                template="shipment_confirmation",
                extra=shipment_email_context(shipment, order_lines, shipped),
            )
    return shipment
