"""The send task sends its e-mail with other queued ones over one connection: each exactly once,
a failure on another e-mail leaves that one to its own task, and on PostgreSQL two workers
never take the same e-mail."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections, transaction

from oms_project import notifications
from oms_project.models import EmailMessage
from oms_project.notifications import email_send_queued

pytestmark = pytest.mark.django_db


def queued(count: int, **fields) -> list[EmailMessage]:
    return [
        EmailMessage.objects.create(
            to=f"c{index}@example.com",
            template="staff_alert",
            subject=f"s{index}",
            body_text="b",
            body_html="<p>b</p>",
            **fields,
        )
        for index in range(count)
    ]


def test_one_task_sends_the_queued_emails_once_and_their_tasks_find_them_sent(mailoutbox):
    first, *others = queued(4)
    assert email_send_queued(message_pk=first.pk) == 4
    assert [message.to[0] for message in mailoutbox] == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
        "c3@example.com",
    ]
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}
    for message in others:
        assert email_send_queued(message_pk=message.pk) == 0
    assert len(mailoutbox) == 4


def test_own_email_goes_first_and_the_batch_is_bounded(mailoutbox, monkeypatch):
    monkeypatch.setattr(notifications, "SEND_BATCH", 3)
    messages = queued(5)
    assert email_send_queued(message_pk=messages[4].pk) == 3
    assert [message.to[0] for message in mailoutbox] == [
        "c4@example.com",
        "c0@example.com",
        "c1@example.com",
    ]
    assert EmailMessage.objects.filter(status="queued").count() == 2


def test_failed_and_old_emails_are_left_to_their_own_tasks(mailoutbox):
    own, queued_one = queued(2)
    failed = EmailMessage.objects.create(
        to="f@example.com",
        template="staff_alert",
        subject="f",
        body_text="b",
        status="failed",
        attempts=1,
    )
    old = queued(1)[0]
    EmailMessage.objects.filter(pk=old.pk).update(
        created_at=old.created_at - notifications.PENDING_WINDOW - timedelta(minutes=1)
    )
    assert email_send_queued(message_pk=own.pk) == 2
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        own.pk: "sent",
        queued_one.pk: "sent",
        failed.pk: "failed",
        old.pk: "queued",
    }
    # A failed e-mail's own task (its retry) sends it.
    assert email_send_queued(message_pk=failed.pk) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 2)


def test_a_refusal_for_another_email_ends_the_batch_and_leaves_it_queued(monkeypatch):
    own, refused, later = queued(3)
    sent = []

    def send_messages(self, messages):
        if messages[0].to == [refused.to]:
            raise ConnectionError("mail server down")
        sent.extend(messages)
        return len(messages)

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages
    )
    assert email_send_queued(message_pk=own.pk) == 1
    assert [message.to for message in sent] == [[own.to]]
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        own.pk: "sent",
        refused.pk: "queued",
        later.pk: "queued",
    }
    assert EmailMessage.objects.get(pk=refused.pk).attempts == 0


def test_a_refusal_for_its_own_email_is_recorded_and_raised_for_the_retry(monkeypatch):
    own, other = queued(2)

    def refuse(self, messages):
        raise ConnectionError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    with pytest.raises(ConnectionError):
        email_send_queued(message_pk=own.pk)
    own.refresh_from_db()
    assert (own.status, own.attempts, own.error) == ("failed", 1, "mail server down")
    assert EmailMessage.objects.get(pk=other.pk).status == "queued"


def test_a_missing_or_sent_email_is_not_sent(mailoutbox):
    message = queued(1)[0]
    EmailMessage.objects.filter(pk=message.pk).update(status="sent")
    assert email_send_queued(message_pk=message.pk) == 0
    assert email_send_queued(message_pk=message.pk + 1000) == 0
    assert mailoutbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_send_an_email_twice():
    messages = queued(60)
    mail.outbox = []
    errors = []
    barrier = threading.Barrier(3)

    def worker(pks):
        try:
            barrier.wait()
            for pk in pks:
                email_send_queued(message_pk=pk)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    pks = [message.pk for message in messages]
    threads = [threading.Thread(target=worker, args=(pks[start::3],)) for start in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    recipients = [message.to[0] for message in mail.outbox]
    assert sorted(recipients) == sorted(message.to for message in messages)
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_email_is_in_another_batch_waits_for_that_batch(mailoutbox):
    own, other = queued(2)
    locked = threading.Event()
    release = threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                list(EmailMessage.objects.select_for_update().filter(pk=own.pk))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    # `other` goes out at once; its own e-mail after the holder let go (it did not send it).
    assert email_send_queued(message_pk=own.pk) == 2
    holder.join(10)
    assert [message.to[0] for message in mailoutbox] == [other.to, own.to]
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}
