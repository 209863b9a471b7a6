"""E-mails the OMS sends on its own schedule: delay notices, delivery follow-ups, refunds.

The periodic jobs record a `CustomerNotice` per cause (unique per order, kind and key) in the
same transaction as the e-mail, so a cause is announced once however often the job runs.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from oms_project.models import OutboxEvent
from oms_project.outbox import outbox_emit
from orders.models import CustomerNotice, Order, OrderLine, SalesChannel, Shipment
from orders.notifications import emailable
from orders.refund_methods import refund_destination
from orders.services.locks import order_lock
from orders.states import OrderStatus

IN_FLIGHT = [
    Shipment.Status.AWAITING,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.OUT_FOR_DELIVERY,
    Shipment.Status.EXCEPTION,
]
WAITING_FOR_STOCK = [OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED]
BATCH = 500


def delay_notices_send(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """E-mail customers whose parcels are past their estimated delivery or whose lines wait
    for stock; one notice per delay. Returns the number of e-mails queued.

    A shipment is late the day after its `estimated_delivery_date` (a new estimate makes a new
    delay); a line is late when it has waited for stock longer than
    `settings.OMS_BACKORDER_NOTICE_AFTER_HOURS` since the order was placed.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    late_shipments: dict[int, list[Shipment]] = {}
    for shipment in (
        Shipment.objects.filter(status__in=IN_FLIGHT, estimated_delivery_date__lt=today)
        .filter(emailable("order__"))
        .exclude(order__status=OrderStatus.CANCELLED)
        .order_by("pk")[:limit]
    ):
        late_shipments.setdefault(shipment.order_id, []).append(shipment)
    waited_since = now - timedelta(hours=settings.OMS_BACKORDER_NOTICE_AFTER_HOURS)
    late_lines: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(
        emailable("order__"),
        order__status__in=WAITING_FOR_STOCK,
        order__placed_at__lte=waited_since,
    ).order_by("pk")[:limit]:
        if line.quantity_open > 0:
            late_lines.setdefault(line.order_id, []).append(line)
    sent = 0
    for order_id in sorted(set(late_shipments) | set(late_lines)):
        sent += _delay_notice(
            order_id, late_shipments.get(order_id, []), late_lines.get(order_id, [])
        )
    return sent


def _delay_notice(order_id: int, shipments: list[Shipment], lines: list[OrderLine]) -> int:
    from orders.notifications import order_email

    causes = {f"shipment:{s.pk}:{s.estimated_delivery_date.isoformat()}": s for s in shipments}
    causes.update({f"backorder:{line.pk}": line for line in lines})
    with transaction.atomic():
        order = order_lock(order_id)
        known = set(
            CustomerNotice.objects.filter(
                order=order, kind=CustomerNotice.Kind.DELAY, key__in=list(causes)
            ).values_list("key", flat=True)
        )
        new = {key: cause for key, cause in causes.items() if key not in known}
        if not new:
            return 0
        message = order_email(
            order=order,
            template="delay_notice",
            extra={
                "late_shipments": [c for c in new.values() if isinstance(c, Shipment)],
                "backordered_lines": [c for c in new.values() if isinstance(c, OrderLine)],
            },
        )
        email_id = message.pk if message is not None else None
        CustomerNotice.objects.bulk_create(
            CustomerNotice(
                order=order, kind=CustomerNotice.Kind.DELAY, key=key, email_id=email_id
            )
            for key in sorted(new)
        )
    return 1


def delivery_follow_ups_send(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Ask customers, some days after delivery, whether all was right.

    The delay is the channel's `follow_up_days`, or `settings.OMS_FOLLOW_UP_DAYS` when the
    channel leaves it empty; 0 turns follow-ups off. Orders delivered in the week before the
    cut-off are considered (a job that did not run for a few days catches up; older orders are
    left alone). Returns the number of e-mails queued.
    """
    now = now or timezone.now()
    channels_by_days: dict[int, list[int]] = defaultdict(list)
    for channel_id, days in SalesChannel.objects.filter(customer_emails=True).values_list(
        "pk", "follow_up_days"
    ):
        days = settings.OMS_FOLLOW_UP_DAYS if days is None else days
        if days > 0:
            channels_by_days[days].append(channel_id)
    sent = 0
    for days, channel_ids in sorted(channels_by_days.items()):
        if sent >= limit:
            break
        cutoff = now - timedelta(days=days)
        order_ids = list(
            Order.objects.filter(
                status=OrderStatus.COMPLETE, channel_id__in=channel_ids, notify_customer=True
            )
            .annotate(delivered=Max("shipments__delivered_at"))
            .filter(delivered__lte=cutoff, delivered__gt=cutoff - timedelta(days=7))
            .exclude(notices__kind=CustomerNotice.Kind.FOLLOW_UP)
            .order_by("pk")
            .values_list("pk", flat=True)[: limit - sent]
        )
        sent += sum(_follow_up(order_id) for order_id in order_ids)
    return sent


def _follow_up(order_id: int) -> int:
    from orders.notifications import order_email

    try:
        with transaction.atomic():
            order = order_lock(order_id)
            notice = CustomerNotice.objects.create(
                order=order, kind=CustomerNotice.Kind.FOLLOW_UP, key="delivery"
            )
            message = order_email(order=order, template="delivery_follow_up")
            if message is not None:
                CustomerNotice.objects.filter(pk=notice.pk).update(email_id=message.pk)
    except IntegrityError:  # another run sent it a moment ago
        return 0
    return 1


def refund_notify(
    *,
    order: Order,
    refund_reference: str,
    amount: Decimal,
    actor: str,
    tax_amount: Decimal = Decimal("0.00"),
    shipping_amount: Decimal = Decimal("0.00"),
    method: str = "",
    reason: str = "",
    lines: dict[int, int] | None = None,
    refund=None,
) -> None:
    """Tell the customer and every other system that money went back (call inside the
    transaction that records the refund). `refund` is the recorded refund (returns' `Refund`),
    whose breakdown (shipping, fees, adjustment, tax) the e-mail shows.

    Emits `refund.completed` (payload in `orders.payloads.refund_payload`, the accounting
    journal's source for refunds) and e-mails the customer the `refund_issued` template,
    which says where the money went (`orders.refund_methods`): exchange credit is not money
    on its way to a bank.
    """
    from orders.notifications import order_email
    from orders.payloads import refund_payload

    payload = refund_payload(
        order=order,
        refund_reference=refund_reference,
        amount=amount,
        tax_amount=tax_amount,
        shipping_amount=shipping_amount,
        method=method,
        reason=reason,
        lines=lines or {},
        actor=actor,
        # The journal's rule: money `order.paid` booked is a sale; a refund is one of it.
        # Before it (a goodwill refund of a part-paid order) the money is a part payment
        # returned, which the sale books as its refund if the order is paid in full later.
        of_sale=OutboxEvent.objects.filter(topic="order.paid", reference=order.number).exists(),
    )
    outbox_emit(topic="refund.completed", payload=payload, reference=order.number)
    order_lines = OrderLine.objects.in_bulk(list(lines or {}))
    order_email(
        order=order,
        template="refund_issued",
        extra={
            "amount": amount,
            "method": method,
            "refund_to": refund_destination(order=order, method=method),
            "reason": reason,
            "refund_record": refund,
            "refunded_lines": [
                (order_lines[line_id], units)
                for line_id, units in sorted((lines or {}).items())
                if line_id in order_lines
            ],
        },
    )
