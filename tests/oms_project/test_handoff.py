"""A transaction's outbox events and e-mails go to the workers together, after commit: one
message for an ordinary request, chunks for big batches, nothing for a rollback, and a message
the broker refused is left to the sweep."""

import logging

import pytest
from django.db import transaction

from oms_project import handoff, outbox, tasks
from oms_project.handoff import deliver, handoff_after_commit
from oms_project.models import EmailMessage, OutboxEvent
from oms_project.notifications import email_pending_ids, email_queue, emails_queued_together
from oms_project.outbox import outbox_emit, outbox_emit_many, outbox_pending_ids

pytestmark = pytest.mark.django_db


def alert(index: int = 0) -> EmailMessage:
    return email_queue(
        to=f"ops{index}@example.com",
        template="staff_alert",
        context={"subject": f"Alert {index}", "lines": ["x"]},
    )


def test_events_and_emails_of_one_transaction_go_in_one_message(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as hooks, transaction.atomic():
        first = outbox_emit(topic="order.created", payload={}, reference="W1")
        message = alert()
        second = outbox_emit(topic="order.paid", payload={}, reference="W1")
        assert published == []  # a worker never sees rows of an open transaction
    assert len(hooks) == 1
    assert published == [([first.pk, second.pk], [message.pk])]


def test_big_batches_are_paired_into_chunks(
    monkeypatch, published, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(handoff, "EVENTS_PER_MESSAGE", 2)
    monkeypatch.setattr(handoff, "EMAILS_PER_MESSAGE", 3)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events = outbox_emit_many(
            [OutboxEvent(topic="order.created", payload={}, reference=f"W{n}") for n in range(5)]
        )
        with emails_queued_together():
            messages = [alert(n) for n in range(4)]
    event_pks = [event.pk for event in events]
    email_pks = [message.pk for message in messages]
    assert published == [
        (event_pks[0:2], email_pks[0:3]),
        (event_pks[2:4], email_pks[3:4]),
        (event_pks[4:5], []),
    ]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_work_goes_at_once(published):
    event = outbox_emit(topic="order.created", payload={}, reference="W1")
    assert published == [([event.pk], [])]
    message = alert()
    assert published[-1] == ([], [message.pk])


def test_a_rolled_back_transaction_hands_nothing_over(
    published, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as hooks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox_emit(topic="order.created", payload={}, reference="W1")
        alert()
        raise RuntimeError("the business transaction fails")
    assert hooks == [] and published == []
    assert not OutboxEvent.objects.exists() and not EmailMessage.objects.exists()


def test_work_after_a_rolled_back_savepoint_still_goes(
    published, django_capture_on_commit_callbacks
):
    """The message registered inside a savepoint is dropped with it; what the outer
    transaction hands off afterwards starts a new one, and the savepoint's rows are gone."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                outbox_emit(topic="order.created", payload={}, reference="LOST")
                raise RuntimeError("a nested step fails")
        except RuntimeError:
            pass
        kept = outbox_emit(topic="order.created", payload={}, reference="KEPT")
        message = alert()
    assert published == [([kept.pk], [message.pk])]
    assert list(OutboxEvent.objects.values_list("reference", flat=True)) == ["KEPT"]


def test_each_transaction_gets_its_own_message(published, django_capture_on_commit_callbacks):
    for reference in ("W1", "W2"):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            outbox_emit(topic="order.created", payload={}, reference=reference)
    assert [len(events) for events, _ in published] == [1, 1]
    assert published[0] != published[1]


def test_a_refused_message_is_logged_and_left_to_the_sweep(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver_task, "delay", broker_down)
    monkeypatch.setattr(outbox, "SWEEP_GRACE", outbox.SWEEP_GRACE * 0)
    with (
        caplog.at_level(logging.WARNING, logger="oms_project.handoff"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        event = outbox_emit(topic="order.created", payload={}, reference="W1")
        message = alert()
    assert "1 outbox events and 1 e-mails not enqueued" in caplog.text
    assert event.pk in outbox_pending_ids()
    assert message.pk in email_pending_ids()


def test_deliver_dispatches_the_events_and_sends_the_emails(monkeypatch, mailoutbox):
    seen = []
    monkeypatch.setattr(outbox, "_CONSUMERS", [lambda event: seen.append(event.reference)])
    event = outbox_emit(topic="order.created", payload={}, reference="W1")
    message = alert()
    assert deliver(event_pks=[event.pk], email_pks=[message.pk]) == {"events": 1, "emails": 1}
    assert seen == ["W1"] and [sent.to for sent in mailoutbox] == [["ops0@example.com"]]
    # A re-delivered message does nothing twice.
    assert deliver(event_pks=[event.pk], email_pks=[message.pk]) == {"events": 0, "emails": 0}


def test_deliver_sends_the_emails_even_when_an_event_fails(monkeypatch, mailoutbox):
    def consumer_down(event):
        raise ConnectionError("consumer down")

    monkeypatch.setattr(outbox, "_CONSUMERS", [consumer_down])
    event = outbox_emit(topic="order.created", payload={}, reference="W1")
    message = alert()
    assert deliver(event_pks=[event.pk], email_pks=[message.pk]) == {"events": 0, "emails": 1}
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is None  # the sweep retries it
    assert EmailMessage.objects.get(pk=message.pk).status == "sent"


def test_deliver_skips_keys_without_rows():
    """Keys from a rolled-back savepoint reach the worker; they are no work."""
    assert deliver(event_pks=[987654], email_pks=[987655]) == {"events": 0, "emails": 0}


def test_nothing_to_hand_off_publishes_nothing(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        handoff_after_commit()
    assert published == []
