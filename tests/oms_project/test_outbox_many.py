"""Many outbox events at once: one INSERT, dispatched after commit a chunk per message."""

import pytest
from django.db import transaction

from oms_project import outbox
from oms_project.models import OutboxEvent
from oms_project.outbox import outbox_dispatch_many, outbox_emit_many

pytestmark = pytest.mark.django_db


def events(count: int) -> list[OutboxEvent]:
    return [
        OutboxEvent(topic="order.created", payload={"n": index}, reference=f"W{index}")
        for index in range(count)
    ]


def test_events_are_dispatched_after_commit_a_chunk_per_message(
    monkeypatch, django_capture_on_commit_callbacks
):
    from oms_project import handoff, tasks

    published = []
    monkeypatch.setattr(handoff, "EVENTS_PER_MESSAGE", 2)
    monkeypatch.setattr(
        tasks.deliver_task, "delay", lambda events, emails: published.append(list(events))
    )
    with django_capture_on_commit_callbacks(execute=True):
        written = outbox_emit_many(events(5))
        assert published == []
    pks = [event.pk for event in written]
    assert published == [pks[0:2], pks[2:4], pks[4:5]]
    assert OutboxEvent.objects.filter(pk__in=pks).count() == 5


def test_a_rolled_back_transaction_leaves_no_event_and_publishes_nothing(
    django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox_emit_many(events(3))
        raise RuntimeError("the business transaction fails")
    assert callbacks == []
    assert not OutboxEvent.objects.exists()


def test_dispatching_many_goes_on_past_a_failing_event(monkeypatch):
    written = OutboxEvent.objects.bulk_create(events(3))
    seen = []

    def consumer(event):
        seen.append(event.reference)
        if event.reference == "W1":
            raise ConnectionError("consumer down")

    monkeypatch.setattr(outbox, "_CONSUMERS", [consumer])
    assert outbox_dispatch_many(event_pks=[event.pk for event in written]) == 2
    assert seen == ["W0", "W1", "W2"]
    undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    assert list(undispatched.values_list("reference", flat=True)) == ["W1"]
    # Dispatching again (a re-delivered task, the sweep) sends only what is left.
    monkeypatch.setattr(outbox, "_CONSUMERS", [lambda event: seen.append(event.reference)])
    assert outbox_dispatch_many(event_pks=[event.pk for event in written]) == 1
    assert seen[-1] == "W1"
