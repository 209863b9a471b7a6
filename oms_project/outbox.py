"""The transactional outbox: events are rows written with the change, sent after commit.

`outbox_emit` must run inside the business transaction; dispatch happens in Celery once the
transaction commits (`oms_project.handoff`, in one message with the transaction's e-mails), and
a periodic sweep picks up any row whose dispatch was lost (a broker outage, a crashed worker).
Consumers dedupe on `event_id`.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from oms_project.bulk_insert import rows_insert
from oms_project.handoff import handoff_after_commit
from oms_project.models import OutboxEvent

logger = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=30)


def outbox_emit(*, topic: str, payload: dict, reference: str = "") -> OutboxEvent:
    """Record an event for other systems; it is dispatched after the transaction commits."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload, reference=reference)
    handoff_after_commit(event_pks=[event.pk])
    return event


def outbox_emit_many(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Record many unsaved events in one INSERT (inside the business transaction, like
    `outbox_emit`); after commit they are dispatched with the transaction's other hand-offs
    (`oms_project.handoff`)."""
    rows_insert(events)
    if events:
        handoff_after_commit(event_pks=[event.pk for event in events])
    return events


def outbox_dispatch(*, event_pk: int) -> bool:
    """Hand one event to its consumers and mark it dispatched; False if already done."""
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update()
            .filter(pk=event_pk, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        for consumer in _consumers():
            consumer(event)
        event.dispatched_at = timezone.now()
        event.attempts += 1
        event.save(update_fields=["dispatched_at", "attempts"])
    return True


def outbox_dispatch_many(*, event_pks: list[int]) -> int:
    """Dispatch each event in its own transaction; return how many were dispatched here.

    An event whose dispatch fails is logged and left for the sweep; the others still go.
    """
    dispatched = 0
    for event_pk in event_pks:
        try:
            dispatched += outbox_dispatch(event_pk=event_pk)
        except Exception:
            logger.exception("Outbox event %s not dispatched; the sweep will retry", event_pk)
    return dispatched


def outbox_pending_ids(*, limit: int = 500) -> list[int]:
    """Events older than the grace period that were never dispatched."""
    cutoff = timezone.now() - SWEEP_GRACE
    return list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


_CONSUMERS: list = []


def outbox_register_consumer(consumer) -> None:
    """Register a callable taking an `OutboxEvent` (e.g. webhook fan-out)."""
    if consumer not in _CONSUMERS:
        _CONSUMERS.append(consumer)


def _consumers() -> list:
    return list(_CONSUMERS)
