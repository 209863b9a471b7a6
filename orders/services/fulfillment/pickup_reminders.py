"""Reminding customers of pickups left on the shelf (a daily job, see CELERY_BEAT_SCHEDULE).

A fulfillment order ready for pickup for `settings.OMS_PICKUP_REMINDER_DAYS` days whose
customer is e-mailed gets one reminder, recorded on the order's timeline as a
`pickup_reminder_sent` event; that event is what makes it once. The time it went on the
shelf is its `updated_at`: only a transition moves it, and a ready fulfillment order has none
left but closing or cancelling it.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from orders.events import order_event_record
from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentOrder, OrderEvent
from orders.notifications import emailable
from orders.services.fulfillment.locks import fulfillment_order_lock

PICKUP_REMINDER_EVENT = "pickup_reminder_sent"
BATCH = 500


def ready_for_pickup_since(*, before: datetime) -> Q:
    """Fulfillment orders on the pickup shelf since before `before` (not yet collected), as a
    filter (the reminders and the queue's "waiting for pickup" filter)."""
    return Q(
        status=FulfillmentStatus.READY_FOR_PICKUP,
        pickup_code_used_at__isnull=True,
        updated_at__lte=before,
    )


def pickup_reminders_send(
    *, now: datetime | None = None, days: int | None = None, limit: int = BATCH
) -> int:
    """E-mail each customer whose pickup has waited `days` (default
    `settings.OMS_PICKUP_REMINDER_DAYS`; 0 turns reminders off) one reminder, and record it
    on the order's timeline. Safe to run concurrently and again: each fulfillment order is
    re-checked under its order's lock. Returns the number of reminders queued."""
    days = settings.OMS_PICKUP_REMINDER_DAYS if days is None else days
    if days <= 0:
        return 0
    now = now or timezone.now()
    reminded = (
        OrderEvent.objects.filter(order_id=OuterRef("order_id"), type=PICKUP_REMINDER_EVENT)
        # Compared as numbers: PostgreSQL has no jsonb = bigint.
        .annotate(
            reminded_id=Cast(KeyTextTransform("fulfillment_order", "data"), BigIntegerField())
        )
        .filter(reminded_id=OuterRef("pk"))
    )
    candidates = list(
        FulfillmentOrder.objects.filter(ready_for_pickup_since(before=now - timedelta(days=days)))
        .filter(emailable("order__"))
        .exclude(Exists(reminded))
        .order_by("updated_at", "pk")
        .values_list("pk", "order_id")[:limit]
    )
    return sum(
        _remind(FulfillmentOrder(pk=pk, order_id=order_id), now=now, days=days)
        for pk, order_id in candidates
    )


def _remind(fulfillment_order: FulfillmentOrder, *, now: datetime, days: int) -> int:
    from orders.notifications import order_email

    with transaction.atomic():
        current = fulfillment_order_lock(fulfillment_order)
        order = current.order
        still_waiting = (
            current.status == FulfillmentStatus.READY_FOR_PICKUP
            and current.pickup_code_used_at is None
            and current.updated_at <= now - timedelta(days=days)
        )
        already = OrderEvent.objects.filter(
            order=order, type=PICKUP_REMINDER_EVENT, data__fulfillment_order=current.pk
        ).exists()
        if not still_waiting or already:
            return 0
        lines = list(order.lines.all().order_by("pk"))
        ready = dict(current.lines.values_list("order_line_id", "quantity"))
        message = order_email(
            order=order,
            template="pickup_reminder",
            lines=lines,
            extra={
                # The day as the store counts it (its own time zone, not the server's).
                "ready_since": timezone.localtime(
                    current.updated_at, ZoneInfo(current.warehouse.timezone)
                ).date(),
                "ready_lines": [(line, ready[line.pk]) for line in lines if ready.get(line.pk)],
            },
        )
        order_event_record(
            order=order,
            type=PICKUP_REMINDER_EVENT,
            actor="system:pickup-reminders",
            message=f"FO-{current.pk} at {current.warehouse.code}: ready for pickup since "
            f"{current.updated_at:%Y-%m-%d}; reminder e-mailed",
            data={"fulfillment_order": current.pk, "warehouse": current.warehouse.code,
                  "email": message.pk if message is not None else None},
        )
    return 1
