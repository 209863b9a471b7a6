"""Tracking updates from carriers and 3PLs, and tracking numbers added after shipping."""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from oms_project.notifications import email_queue_staff_alert
from oms_project.outbox import outbox_emit
from orders.errors import OrderValidationError
from orders.events import order_event_record
from orders.models import Order, OrderLine, Shipment, ShipmentEvent
from orders.services.locks import order_lock
from orders.services.shipments import (
    CLOCK_SKEW,
    _carrier_and_url,
    order_complete_if_delivered,
    shipment_dates_check,
    shipment_email_context,
    shipment_payload,
    tracking_number_check,
)
from warehouses.models import ServiceLevel

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
    if occurred_at > now + CLOCK_SKEW:
        raise OrderValidationError(
            "A tracking event cannot happen in the future.",
            errors={"time": ["This time is in the future."]},
        )
    with transaction.atomic():
        order = order_lock(shipment.order_id)
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


def shipment_mark_delivered(
    *, shipment: Shipment, actor: str, delivered_at: datetime | None = None
) -> Shipment:
    """Mark a shipment delivered (staff saw the proof), as a carrier's delivered scan would.

    Writes the tracking event and emits `shipment.delivered`; when every shipment of a
    shipped order is delivered, the order completes (`order.delivered`, the customer's
    e-mail). Calling it again for a delivered shipment changes nothing.
    """
    with transaction.atomic():
        order = order_lock(shipment.order_id)
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.status == Shipment.Status.DELIVERED:
            return shipment
        event = ShipmentEvent.objects.create(
            shipment=shipment,
            status=Shipment.Status.DELIVERED,
            occurred_at=delivered_at or timezone.now(),
            message="Marked delivered",
            actor=actor[:150],
        )
        _apply_status(order, shipment, event, actor)
    return shipment


def shipment_initial_status_record(*, order: Order, shipment: Shipment, actor: str) -> None:
    """Announce the status a shipment was recorded with (a 3PL reporting a parcel already on
    its way or delivered), as the carrier's scan would: a tracking event, `shipment.<status>`,
    and completing the order or alerting staff. Call inside the transaction that locked the
    order and created the shipment; an awaiting shipment has nothing to announce."""
    if shipment.status == Shipment.Status.AWAITING:
        return
    event = ShipmentEvent.objects.create(
        shipment=shipment,
        status=shipment.status,
        occurred_at=shipment.delivered_at or timezone.now(),
        message="Recorded with this status",
        actor=actor[:150],
    )
    _announce_status(order, shipment, event, Shipment.Status.AWAITING, actor)


def _apply_status(order: Order, shipment: Shipment, event: ShipmentEvent, actor: str) -> None:
    previous = shipment.status
    shipment.status = event.status
    fields = ["status", "updated_at"]
    if event.status == Shipment.Status.DELIVERED:
        # Never before it left: a scan dated earlier (a carrier's clock behind) counts as
        # delivered when it left, not at an impossible time.
        shipment.delivered_at = max(event.occurred_at, shipment.shipped_at)
        fields.append("delivered_at")
    shipment.save(update_fields=fields)
    _announce_status(order, shipment, event, previous, actor)


def _announce_status(
    order: Order, shipment: Shipment, event: ShipmentEvent, previous: str, actor: str
) -> None:
    """The order's timeline, `shipment.<status>`, then completing the order (delivered) or
    alerting staff (exception)."""
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
    service_level: ServiceLevel | None = None,
) -> Shipment:
    """Add or correct a shipment's tracking; the first tracking number e-mails the customer.

    The carrier, service level and URL are kept when not given (the URL is built again from
    the carrier's template). Raises `OrderValidationError` for an empty number or an unknown
    carrier without a URL.
    """
    tracking_number = tracking_number.strip()
    if not tracking_number:
        raise OrderValidationError(
            "A tracking number is required.",
            errors={"tracking_number": ["This field may not be blank."]},
        )
    tracking_number_check(tracking_number)
    return _tracking_set(
        shipment=shipment,
        tracking_number=tracking_number,
        actor=actor,
        carrier_name=carrier_name,
        tracking_url=tracking_url,
        service_level=service_level,
    )


def _tracking_set(
    *,
    shipment: Shipment,
    tracking_number: str,
    actor: str,
    carrier_name: str,
    tracking_url: str,
    service_level: ServiceLevel | None,
) -> Shipment:
    from orders.notifications import order_email

    service_level = service_level or shipment.service_level
    carrier_label, tracking_url = _carrier_and_url(
        carrier_name=carrier_name or shipment.carrier_name,
        service_level=service_level,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
    )
    with transaction.atomic():
        order = order_lock(shipment.order_id)
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        had_tracking = bool(shipment.tracking_number)
        shipment.tracking_number = tracking_number
        shipment.tracking_url = tracking_url
        shipment.carrier_name = carrier_label
        shipment.service_level = service_level
        shipment.save(
            update_fields=[
                "tracking_number", "tracking_url", "carrier_name", "service_level", "updated_at"
            ]
        )
        order_event_record(
            order=order,
            type="shipment_tracking",
            actor=actor,
            message=f"Shipment {shipment.reference}: {carrier_label} {tracking_number}".strip(),
            data={"reference": shipment.reference, "tracking_number": tracking_number},
        )
        if tracking_number and not had_tracking:
            shipped = {line.order_line_id: line.quantity for line in shipment.lines.all()}
            order_lines = OrderLine.objects.in_bulk(list(shipped))
            order_email(
                order=order,
                template="shipment_confirmation",
                extra=shipment_email_context(shipment, order_lines, shipped),
            )
    return shipment


def shipment_update(
    *,
    shipment: Shipment,
    actor: str,
    tracking_number: str = "",
    carrier_name: str = "",
    tracking_url: str = "",
    service_level: ServiceLevel | None = None,
    status: str | None = None,
    estimated_delivery_date: date | None = None,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Apply news about a shipment (a 3PL sending it again under its reference) and return it
    as it is now, with its lines.

    New dates are stored first (the tracking e-mail shows the estimate). Tracking goes
    through `shipment_tracking_update` (the first number e-mails the customer); a carrier or
    URL without a number is only stored. A new status is a tracking event
    (`shipment_track`: it may complete the order or alert staff). What is empty or None is
    left as it is. Raises `OrderValidationError` as those services do (nothing written).
    """
    if status is not None and status not in Shipment.Status.values:
        raise OrderValidationError(
            f"Unknown shipment status '{status}'.",
            errors={"status": [f"Use one of: {', '.join(Shipment.Status.values)}."]},
        )
    with transaction.atomic():
        order = order_lock(shipment.order_id)
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        shipment_dates_check(
            shipped_at=shipped_at or shipment.shipped_at,
            estimated_delivery_date=estimated_delivery_date,
        )
        _dates_set(order, shipment, estimated_delivery_date, shipped_at, actor)
        if tracking_number.strip() or carrier_name or tracking_url or service_level:
            _tracking_set(
                shipment=shipment,
                tracking_number=tracking_number.strip() or shipment.tracking_number,
                actor=actor,
                carrier_name=carrier_name,
                tracking_url=tracking_url,
                service_level=service_level,
            )
        if status is not None:
            shipment_track(
                shipment=shipment,
                status=status,
                actor=actor,
                message=f"Sent again under reference {shipment.reference}",
            )
    return (
        Shipment.objects.select_related("order", "service_level", "warehouse")
        .prefetch_related("lines__order_line")
        .get(pk=shipment.pk)
    )


def _dates_set(
    order: Order,
    shipment: Shipment,
    estimated_delivery_date: date | None,
    shipped_at: datetime | None,
    actor: str,
) -> None:
    changes = {}
    if estimated_delivery_date is not None:
        changes["estimated_delivery_date"] = estimated_delivery_date
    if shipped_at is not None:
        changes["shipped_at"] = shipped_at
    changes = {
        field: value for field, value in changes.items() if getattr(shipment, field) != value
    }
    if not changes:
        return
    for field, value in changes.items():
        setattr(shipment, field, value)
    shipment.save(update_fields=[*changes, "updated_at"])
    order_event_record(
        order=order,
        type="shipment_updated",
        actor=actor,
        message=f"Shipment {shipment.reference}: "
        + ", ".join(
            f"{field.replace('_', ' ')} {value.isoformat()}" for field, value in changes.items()
        ),
        data={
            "reference": shipment.reference,
            **{field: value.isoformat() for field, value in changes.items()},
        },
    )
