"""Low-stock alerts: one e-mail and one outbox event when a stock level runs low.

A stock level is low when its available quantity (`on_hand - allocated - safety_stock`) is at
or below its `reorder_point` and the reorder point is above zero. The first service call that
makes it low marks `low_stock_alerted_at` with a conditional UPDATE (only one concurrent caller
wins), then queues the alert inside the same transaction; the mark is cleared once the level
has recovered above its reorder point, so the next fall alerts again.

These functions are called by the stock services inside their transaction; they are not a
public entry point of their own. `low_stock_refresh_locked` serves bulk writers (stock
imports) that hold the locks of many levels: a constant number of queries per batch of levels.
"""

from collections.abc import Iterable

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from inventory.models import StockLevel
from oms_project.models import OutboxEvent
from oms_project.notifications import email_queue, emails_queued_together
from oms_project.outbox import outbox_emit, outbox_emit_many

LOW_STOCK_TOPIC = "inventory.low_stock"
LOW_STOCK_TEMPLATE = "low_stock"


def _with_free(queryset):
    return queryset.alias(free=F("on_hand") - F("allocated") - F("safety_stock"))


def low_stock_refresh(*, level_ids: Iterable[int]) -> list[int]:
    """Clear recovered levels and alert newly low ones; return the ids alerted now."""
    level_ids = sorted(set(level_ids))
    if not level_ids:
        return []
    low_stock_clear_recovered(level_ids=level_ids)
    return low_stock_alert_if_needed(level_ids=level_ids)


def low_stock_clear_recovered(*, level_ids: Iterable[int]) -> int:
    """Forget the alert of every given level that is back above its reorder point."""
    return _clear_recovered(StockLevel.objects.filter(pk__in=list(level_ids)))


def _clear_recovered(levels: QuerySet) -> int:
    return (
        _with_free(levels)
        .filter(low_stock_alerted_at__isnull=False)
        .filter(Q(free__gt=F("reorder_point")) | Q(reorder_point__lte=0))
        .update(low_stock_alerted_at=None)
    )


def _newly_low(levels: QuerySet) -> QuerySet:
    return _with_free(levels).filter(
        low_stock_alerted_at__isnull=True, reorder_point__gt=0, free__lte=F("reorder_point")
    )


# Alerted levels are marked and announced this many at a time.
ALERT_BATCH = 1000


def low_stock_refresh_locked(*, levels: QuerySet) -> int:
    """Clear recovered levels and alert newly low ones among `levels`; return how many were
    alerted.

    For bulk writers: the caller must hold the row locks of these levels (or have created
    them) in its open transaction, so no one else can mark them meanwhile. Runs a constant
    number of queries per `ALERT_BATCH` alerted levels: the outbox events and the e-mails of a
    batch go in one INSERT each.
    """
    _clear_recovered(levels)
    level_ids = list(_newly_low(levels).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(level_ids), ALERT_BATCH):
        _alert_batch(level_ids[start:start + ALERT_BATCH])
    return len(level_ids)


def _alert_batch(level_ids: list[int]) -> None:
    levels = StockLevel.objects.filter(pk__in=level_ids).select_related("product", "warehouse")
    events = []
    with emails_queued_together():
        for level in levels.order_by("pk"):
            payload, reference = _announce_by_email(level)
            events.append(
                OutboxEvent(topic=LOW_STOCK_TOPIC, payload=payload, reference=reference)
            )
    outbox_emit_many(events)
    StockLevel.objects.filter(pk__in=level_ids).update(low_stock_alerted_at=timezone.now())


def low_stock_alert_if_needed(*, level_ids: Iterable[int]) -> list[int]:
    """Alert once for every given level that is low and not yet alerted.

    Must run inside the transaction that changed the levels, so the e-mail and the outbox
    event commit (or roll back) with the change.
    """
    candidates = list(
        _newly_low(StockLevel.objects.filter(pk__in=list(level_ids)))
        .select_related("product", "warehouse")
        .order_by("pk")
    )
    alerted = []
    now = timezone.now()
    for level in candidates:
        won = StockLevel.objects.filter(pk=level.pk, low_stock_alerted_at__isnull=True).update(
            low_stock_alerted_at=now
        )
        if won:
            _send(level)
            alerted.append(level.pk)
    return alerted


def _send(level: StockLevel) -> None:
    payload, reference = _announce_by_email(level)
    outbox_emit(topic=LOW_STOCK_TOPIC, payload=payload, reference=reference)


def _announce_by_email(level: StockLevel) -> tuple[dict, str]:
    """Queue the alert e-mails of a level; return the event's payload and reference."""
    payload = {
        "sku": level.product.sku,
        "product_name": level.product.name,
        "warehouse": level.warehouse.code,
        "on_hand": level.on_hand,
        "allocated": level.allocated,
        "safety_stock": level.safety_stock,
        "available": level.available,
        "reorder_point": level.reorder_point,
        "reorder_quantity": level.reorder_quantity,
    }
    reference = f"stock_level:{level.pk}"
    context = {**payload, "warehouse_name": level.warehouse.name}
    for address in level.warehouse.contact_emails or []:
        email_queue(to=address, template=LOW_STOCK_TEMPLATE, context=context, reference=reference)
    return payload, reference
