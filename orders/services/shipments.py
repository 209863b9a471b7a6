"""Recording what leaves a location: shipments consume the allocation and move the order on.

Tracking updates live in `orders.services.tracking`; delay notices and follow-ups in
`orders.services.customer_notices`.
"""

from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.services import reservation_consume, stock_levels_lock_for
from oms_project.changes import update_changed
from oms_project.outbox import outbox_emit
from orders.errors import InvalidTransition, OrderValidationError, ShipmentReferenceReused
from orders.events import order_event_record
from orders.models import FulfillmentMethod, Order, OrderLine, Shipment, ShipmentLine
from orders.services.locks import order_lock
from orders.states import OrderStatus
from warehouses.models import Carrier, ServiceLevel, Warehouse

SHIPPABLE = {OrderStatus.PROCESSING, OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED}


def order_can_ship(order: Order) -> bool:
    """Whether units of the order can be recorded as shipped now (pickups are handed over)."""
    return order.fulfillment_method != FulfillmentMethod.PICKUP and order.status in SHIPPABLE


def shipment_create(
    *, order: Order, reference: str, lines: dict[int, int], actor: str, **options
) -> Shipment:
    """Record a shipment through `shipment_record` (same options) and return it.

    The same reference and content twice returns the first shipment.
    """
    shipment, _ = shipment_record(
        order=order, reference=reference, lines=lines, actor=actor, **options
    )
    return shipment


def shipment_record(
    *,
    order: Order,
    reference: str,
    lines: dict[int, int],
    actor: str,
    carrier_name: str = "",
    service_level: ServiceLevel | None = None,
    tracking_number: str = "",
    tracking_url: str = "",
    warehouse: Warehouse | None = None,
    status: str | None = None,
    estimated_delivery_date: date | None = None,
    shipped_at: datetime | None = None,
    fulfillment_order=None,
) -> tuple[Shipment, bool]:
    """Record a shipment of {line id: units}; return it and whether it was created now.

    Units must be allocated and not yet shipped; they leave stock (on hand and allocated both
    fall, ledger rows) and the order moves to partially_shipped or shipped. `carrier_name` is
    a carrier's code or name; the tracking URL is built from the carrier's template when not
    given. A carrier the OMS does not know needs an explicit `tracking_url`. The customer is
    e-mailed when the shipment has a tracking number (otherwise when one is added).
    `status` defaults to awaiting. `fulfillment_order` is the one being shipped when the
    warehouse queue ships; a shipment recorded without one (a 3PL or WMS reporting what it
    sent) takes its units out of the order's fulfillment orders, and one left empty leaves the
    queue (cancelled, saying why).

    A reference the order already has is the same parcel sent again when its lines and
    location are the same (a location, carrier, service level, tracking number or URL left
    out is taken as unchanged): news in it (a tracking number, carrier or URL when the
    shipment has no tracking number yet, a new status, estimated delivery or shipped date)
    is applied through `orders.services.tracking.shipment_update` and the updated shipment
    returned; without news it is returned as it is (nothing written). Either way `created`
    is False.
    Raises `OrderValidationError` (nothing written) for unknown lines, too many units, an
    unknown carrier without a URL or an unknown status, `ShipmentReferenceReused` for a
    known reference with other lines or location or another tracking number, carrier or URL
    than the one it has, and `InvalidTransition` for a pickup order or an order that cannot
    ship now.
    """
    if status is not None and status not in Shipment.Status.values:
        raise OrderValidationError(
            f"Unknown shipment status '{status}'.",
            errors={"status": [f"Use one of: {', '.join(Shipment.Status.values)}."]},
        )
    tracking_number_check(tracking_number)
    shipment_dates_check(shipped_at=shipped_at, estimated_delivery_date=estimated_delivery_date)
    sent_url = tracking_url  # a resend that leaves the URL out keeps the one built before
    carrier_label, tracking_url = _carrier_and_url(
        carrier_name=carrier_name,
        service_level=service_level,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
    )
    reported = {
        "lines": dict(lines),
        "location": warehouse.pk if warehouse is not None else None,
        "tracking number": tracking_number,
        "carrier": carrier_label,
        "tracking URL": sent_url,
        "service level": service_level,
        "status": status,
        "estimated delivery date": estimated_delivery_date,
        "shipped date": shipped_at,
    }
    status = status or Shipment.Status.AWAITING
    with transaction.atomic():
        order = order_lock(order.pk)
        existing = _existing_shipment(order, reference)
        if existing is not None:
            return _sent_again(existing, reported, actor), False
        _check_can_ship(order)
        order_lines = {
            line.pk: line
            for line in OrderLine.objects.select_for_update().filter(order=order).order_by("pk")
        }
        _check_lines(order_lines, lines)
        if warehouse is None:
            warehouse = _only_location_holding(lines)
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    order=order,
                    reference=reference,
                    warehouse=warehouse,
                    carrier_name=carrier_label,
                    service_level=service_level,
                    tracking_number=tracking_number,
                    tracking_url=tracking_url,
                    status=status,
                    estimated_delivery_date=estimated_delivery_date,
                    shipped_at=shipped_at or timezone.now(),
                    delivered_at=timezone.now() if status == Shipment.Status.DELIVERED else None,
                    created_by=actor,
                )
        except IntegrityError:  # the order lock makes this unreachable unless it is bypassed
            return _sent_again(_existing_shipment(order, reference), reported, actor), False
        _consume_lines(shipment, lines, warehouse, actor)
        if fulfillment_order is None:
            from orders.services.fulfillment.lifecycle import fulfillment_orders_sync

            fulfillment_orders_sync(
                order=order,
                actor=actor,
                reason=f"Shipped outside the fulfillment queue (shipment {reference})",
            )
        _record_and_move_order(order, order_lines, shipment, lines, actor)
        from orders.services.tracking import shipment_initial_status_record

        shipment_initial_status_record(order=order, shipment=shipment, actor=actor)
    return shipment, True


def _check_can_ship(order: Order) -> None:
    if order.fulfillment_method == FulfillmentMethod.PICKUP:
        raise InvalidTransition(
            "A pickup order is handed over in store, not shipped.",
            extra={"from_status": order.status, "fulfillment_method": order.fulfillment_method},
        )
    if order.status not in SHIPPABLE:
        raise InvalidTransition(
            f"Order {order.number} is {order.status} and cannot ship.",
            extra={"from_status": order.status},
        )


def _existing_shipment(order: Order, reference: str) -> Shipment | None:
    return (
        Shipment.objects.filter(order=order, reference=reference)
        .select_related("service_level")
        .prefetch_related("lines")
        .first()
    )


def _sent_again(shipment: Shipment, reported: dict, actor: str) -> Shipment:
    """The shipment recorded under the reference, updated with the news `reported` brings;
    refused when `reported` is another parcel (nothing written then)."""
    differences = _other_parcel(shipment, reported)
    if differences:
        what = ", ".join(differences)
        raise ShipmentReferenceReused(
            f"Reference {shipment.reference} is already used for a shipment with other "
            f"{what}; a new parcel needs a new reference.",
            errors={"reference": [f"Already used for a shipment with other {what}."]},
            extra={"shipment_id": shipment.pk, "differences": differences},
        )
    news = _news(shipment, reported)
    if not news:
        return shipment
    from orders.services.tracking import shipment_update

    return shipment_update(shipment=shipment, actor=actor, **news)


def _other_parcel(shipment: Shipment, reported: dict) -> list[str]:
    """What makes `reported` another parcel: other lines or location, or other tracking than
    the tracking number the shipment already has (what is left out counts as the same)."""
    recorded = {
        "lines": {line.order_line_id: line.quantity for line in shipment.lines.all()},
        "location": shipment.warehouse_id,
    }
    if shipment.tracking_number:
        recorded.update(
            {
                "tracking number": shipment.tracking_number,
                "carrier": shipment.carrier_name,
                "tracking URL": shipment.tracking_url,
                "service level": shipment.service_level,
            }
        )
    return [
        name
        for name, value in recorded.items()
        if reported[name] not in ("", None) and reported[name] != value
    ]


def _news(shipment: Shipment, reported: dict) -> dict:
    """The `shipment_update` arguments for what `reported` changes (tracking only while the
    shipment has no tracking number; the parcel itself was checked before)."""
    news = {}
    tracking = {
        "tracking_number": ("tracking number", shipment.tracking_number),
        "carrier_name": ("carrier", shipment.carrier_name),
        "tracking_url": ("tracking URL", shipment.tracking_url),
        "service_level": ("service level", shipment.service_level),
    }
    if not shipment.tracking_number and any(
        reported[name] not in ("", None) and reported[name] != value
        for name, value in tracking.values()
    ):
        news.update({argument: reported[name] for argument, (name, _) in tracking.items()})
    progress = {
        "status": ("status", shipment.status),
        "estimated_delivery_date": ("estimated delivery date", shipment.estimated_delivery_date),
        "shipped_at": ("shipped date", shipment.shipped_at),
    }
    for argument, (name, value) in progress.items():
        if reported[name] is not None and reported[name] != value:
            news[argument] = reported[name]
    if not _moves_on(shipment.status, news.get("status")):
        news.pop("status", None)  # an old message resent: the parcel does not go back
    return news


# How far a parcel has got; a resent message with a status behind the shipment's is stale.
_PROGRESS = {
    Shipment.Status.AWAITING: 0,
    Shipment.Status.IN_TRANSIT: 1,
    Shipment.Status.OUT_FOR_DELIVERY: 2,
    Shipment.Status.EXCEPTION: 2,
    Shipment.Status.DELIVERED: 3,
    Shipment.Status.RETURNED: 3,
}


def _moves_on(current: str, reported: str | None) -> bool:
    """Whether a resent status takes the shipment forward (an exception may come at any point
    before the end; nothing comes after delivered or returned)."""
    if reported is None:
        return False
    if reported == Shipment.Status.EXCEPTION:
        return _PROGRESS[current] < 3
    return _PROGRESS[reported] > _PROGRESS[current]


def tracking_number_check(tracking_number: str) -> None:
    """Refuse a tracking number that cannot be one: control characters (line breaks, tabs), or
    a first character a spreadsheet would read as a formula. It goes into links and e-mails."""
    if not tracking_number:
        return
    if any(not character.isprintable() for character in tracking_number) or (
        tracking_number[0] in "=+@"
    ):
        raise OrderValidationError(
            "The tracking number has characters no tracking number has.",
            errors={
                "tracking_number": [
                    "Use the carrier's number: letters, digits and separators, no line breaks."
                ]
            },
        )


def _carrier_and_url(
    *,
    carrier_name: str,
    service_level: ServiceLevel | None,
    tracking_number: str,
    tracking_url: str,
) -> tuple[str, str]:
    """The carrier's display name and the tracking link; refuse an unknown carrier without one."""
    carrier = service_level.carrier if service_level is not None else None
    if carrier_name and (carrier is None or carrier_name not in (carrier.code, carrier.name)):
        carrier = (
            Carrier.objects.filter(Q(code__iexact=carrier_name) | Q(name__iexact=carrier_name))
            .order_by("pk")
            .first()
        )
        if carrier is None and not tracking_url:
            raise OrderValidationError(
                f"Unknown carrier '{carrier_name}'; send its tracking URL.",
                errors={
                    "carrier": [
                        f"Unknown carrier '{carrier_name}'. Send a tracking URL with it, or "
                        "use a carrier set up in the OMS."
                    ]
                },
            )
    if tracking_url and not tracking_url.startswith(("https://", "http://")):
        raise OrderValidationError(
            "The tracking URL must be an http(s) address.",
            errors={"tracking_url": ["Enter an http:// or https:// URL."]},
        )
    if not tracking_url and carrier is not None:
        # The number goes into a URL: a space or "&" in it must not break the link.
        tracking_url = carrier.tracking_url(quote(tracking_number, safe=""))
    label = carrier.name if carrier is not None else carrier_name
    return label[:100], tracking_url


def _only_location_holding(lines: dict[int, int]) -> Warehouse | None:
    """The location the shipped lines' units are reserved at, when it is one (a shipment
    reported without one still records where it left from); None when they are spread."""
    from inventory.models import StockReservation

    ids = set(
        StockReservation.objects.filter(
            reference__in=[f"order_line:{line_id}" for line_id in lines]
        ).values_list("stock_level__warehouse_id", flat=True)
    )
    return Warehouse.objects.filter(pk=ids.pop()).first() if len(ids) == 1 else None


def _consume_lines(shipment: Shipment, lines: dict[int, int], warehouse, actor: str) -> None:
    stock_levels_lock_for(
        references=[f"order_line:{line_id}" for line_id in lines],
        warehouse_id=warehouse.pk if warehouse else None,
    )
    for line_id, units in sorted(lines.items()):
        try:
            reservation_consume(
                reference=f"order_line:{line_id}",
                quantity=units,
                warehouse_id=warehouse.pk if warehouse else None,
                actor=actor,
            )
        except InsufficientStock as error:
            # Name the line and its SKU, as other shortages do (the units may be reserved
            # at another location than the one the shipment names).
            sku = OrderLine.objects.values_list("sku", flat=True).get(pk=line_id)
            raise InsufficientStock(
                [{**item, "sku": item.get("sku") or sku, "line_id": line_id}
                 for item in error.short]
            ) from None
        OrderLine.objects.filter(pk=line_id).update(
            quantity_allocated=F("quantity_allocated") - units,
            quantity_shipped=F("quantity_shipped") + units,
        )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=units)
        for line_id, units in sorted(lines.items())
    )


def _record_and_move_order(
    order: Order, order_lines: dict, shipment: Shipment, lines: dict[int, int], actor: str
) -> None:
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.lifecycle import order_transition

    outstanding = sum(
        line.quantity - line.quantity_shipped - line.quantity_cancelled - lines.get(line_id, 0)
        for line_id, line in order_lines.items()
    )
    target = OrderStatus.SHIPPED if outstanding == 0 else OrderStatus.PARTIALLY_SHIPPED
    order_event_record(
        order=order,
        type="shipment_created",
        actor=actor,
        message=f"Shipment {shipment.reference} {shipment.carrier_name} "
        f"{shipment.tracking_number}".strip(),
        data={"reference": shipment.reference, "lines": {str(k): v for k, v in lines.items()}},
    )
    if target != order.status:
        order_transition(
            order=order, to_status=target, actor=actor, reason=f"Shipment {shipment.reference}"
        )
    else:  # its lines' shipped units changed all the same
        update_changed(Order.objects.filter(pk=order.pk))
    for line_id, units in lines.items():
        order_lines[line_id].quantity_shipped += units
        order_lines[line_id].quantity_allocated -= units
    outbox_emit(
        topic="order.shipped",
        payload={**order_payload(order), "shipment": shipment_payload(shipment)},
        reference=order.number,
    )
    if shipment.tracking_number:
        order_email(
            order=order,
            template="shipment_confirmation",
            extra=shipment_email_context(shipment, order_lines, lines),
        )


def shipment_email_context(shipment: Shipment, order_lines: dict, lines: dict[int, int]) -> dict:
    """What the shipment e-mail shows: the parcel, its tracking link, the lines in it and
    whether units of the order are still to come (the subject then says "Part of")."""
    return {
        "shipment": shipment,
        "shipped_lines": [
            (order_lines[line_id], units) for line_id, units in sorted(lines.items())
        ],
        "still_to_come": OrderLine.objects.filter(
            order_id=shipment.order_id,
            quantity__gt=F("quantity_shipped") + F("quantity_cancelled"),
        ).exists(),
    }


# How far ahead of this server's clock a reported time may be (a sender's clock runs fast).
CLOCK_SKEW = timedelta(minutes=10)


def shipment_dates_check(
    *, shipped_at: datetime | None, estimated_delivery_date: date | None
) -> None:
    """Refuse a parcel that left in the future, or that is expected before the day it left
    (`OrderValidationError` naming the field)."""
    now = timezone.now()
    if shipped_at is not None and shipped_at > now + CLOCK_SKEW:
        raise OrderValidationError(
            "A shipment cannot have left in the future.",
            errors={"shipped_at": ["This time is in the future."]},
        )
    left_on = timezone.localdate(shipped_at or now)
    if estimated_delivery_date is not None and estimated_delivery_date < left_on:
        raise OrderValidationError(
            "A shipment cannot be expected before the day it left.",
            errors={
                "estimated_delivery_date": [
                    f"{estimated_delivery_date.isoformat()} is before the shipped date "
                    f"({left_on.isoformat()})."
                ]
            },
        )


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
    """The documented JSON of a shipment inside `order.shipped` and `shipment.*` events."""
    return {
        "id": shipment.pk,
        "reference": shipment.reference,
        "carrier": shipment.carrier_name,
        "service_level": shipment.service_level.code if shipment.service_level_id else None,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "status": shipment.status,
        "shipped_at": shipment.shipped_at.isoformat(),
        "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
        "estimated_delivery_date": (
            shipment.estimated_delivery_date.isoformat()
            if shipment.estimated_delivery_date
            else None
        ),
        "lines": [
            {"line_id": line.order_line_id, "quantity": line.quantity}
            for line in shipment.lines.all()
        ],
    }


def order_complete_if_delivered(*, order: Order, actor: str) -> bool:
    """Complete a shipped order whose shipments are all delivered (call inside a transaction)."""
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.lifecycle import order_transition

    undelivered = order.shipments.exclude(status=Shipment.Status.DELIVERED).exists()
    if order.status != OrderStatus.SHIPPED or undelivered:
        return False
    order_transition(
        order=order, to_status=OrderStatus.COMPLETE, actor=actor, reason="All shipments delivered"
    )
    outbox_emit(topic="order.delivered", payload=order_payload(order), reference=order.number)
    order_email(order=order, template="order_delivered")
    return True
