"""The send task sends its e-mail with other queued ones over one connection: each once, marked
sent as soon as the server took it; a message the server refuses fails alone; a broken
connection, an error or the batch's time running out leaves the unsent ones queued for their
own tasks or the sweep; a dead worker's claim is swept; and on PostgreSQL two workers never
take the same e-mail."""

import threading
from datetime import timedelta
from smtplib import SMTPRecipientsRefused

import pytest
from django.core import mail
from django.db import DatabaseError, connections
from django.utils import timezone

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


def handed_back(monkeypatch) -> list:
    """Record the send tasks a batch hands its unsent e-mails back to."""
    calls = []
    monkeypatch.setattr(
        "oms_project.tasks.email_send_task.apply_async",
        lambda args, countdown=None: calls.append((args[0], countdown)),
    )
    return calls


def failing_for(monkeypatch, recipient: str, error: Exception) -> list:
    """Make the mail server raise `error` for `recipient`; return what it accepted."""
    sent = []

    def send_messages(self, messages):
        if messages[0].to == [recipient]:
            raise error
        sent.extend(messages)
        return len(messages)

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages
    )
    return sent


def test_a_broken_connection_ends_the_batch_and_leaves_the_rest_queued(monkeypatch):
    own, broken, later = queued(3)
    sent = failing_for(monkeypatch, broken.to, ConnectionError("connection reset"))
    calls = handed_back(monkeypatch)
    assert email_send_queued(message_pk=own.pk) == 1
    assert [message.to for message in sent] == [[own.to]]
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        own.pk: "sent",
        broken.pk: "queued",
        later.pk: "queued",
    }
    assert EmailMessage.objects.get(pk=broken.pk).attempts == 0
    # No new tasks: their own tasks (or the sweep, if those already ran) send them.
    assert calls == []


def test_a_message_the_server_refuses_fails_alone_and_the_batch_goes_on(monkeypatch):
    own, refused, later = queued(3)
    error = SMTPRecipientsRefused({refused.to: (550, b"no such user")})
    sent = failing_for(monkeypatch, refused.to, error)
    calls = handed_back(monkeypatch)
    assert email_send_queued(message_pk=own.pk) == 2
    assert [message.to for message in sent] == [[own.to], [later.to]]
    failed = EmailMessage.objects.get(pk=refused.pk)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "no such user" in failed.error
    assert calls == [(refused.pk, notifications.FIRST_RETRY_SECONDS)]  # its own retry


def test_an_error_after_the_claim_leaves_nothing_claimed(monkeypatch, mailoutbox):
    messages = queued(3)
    real_mark_sent = notifications._mark_sent

    def mark_sent(message_pk):
        if message_pk == messages[1].pk:
            raise DatabaseError("connection to the database lost")
        real_mark_sent(message_pk)

    monkeypatch.setattr(notifications, "_mark_sent", mark_sent)
    with pytest.raises(DatabaseError):
        email_send_queued(message_pk=messages[0].pk)
    # The second went out but could not be marked: it is queued and will go again (the one
    # repeat a failure here can cause); the third never went.
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        messages[0].pk: "sent",
        messages[1].pk: "queued",
        messages[2].pk: "queued",
    }


def test_each_email_is_marked_sent_before_the_next_is_handed_over(monkeypatch):
    messages = queued(3)
    seen = []

    def send_messages(self, outgoing):
        seen.append(dict(EmailMessage.objects.values_list("to", "status")))
        return len(outgoing)

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages
    )
    assert email_send_queued(message_pk=messages[0].pk) == 3
    to = [message.to for message in messages]
    # A worker killed while handing over the third leaves the first two sent, not re-sendable.
    assert seen == [
        {to[0]: "sending", to[1]: "sending", to[2]: "sending"},
        {to[0]: "sent", to[1]: "sending", to[2]: "sending"},
        {to[0]: "sent", to[1]: "sent", to[2]: "sending"},
    ]
    assert set(EmailMessage.objects.values_list("status", "claimed_at")) == {("sent", None)}


def test_a_batch_out_of_time_leaves_the_unsent_emails_queued(monkeypatch, mailoutbox):
    messages = queued(3)
    monkeypatch.setattr(notifications, "SEND_BATCH_SECONDS", -1.0)  # time is up after one
    calls = handed_back(monkeypatch)
    assert email_send_queued(message_pk=messages[0].pk) == 1
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        messages[0].pk: "sent",
        messages[1].pk: "queued",
        messages[2].pk: "queued",
    }
    assert calls == []


def test_an_email_in_another_batch_is_left_to_that_batch(mailoutbox):
    own, other = queued(2)
    EmailMessage.objects.filter(pk=own.pk).update(status="sending", claimed_at=timezone.now())
    assert email_send_queued(message_pk=own.pk) == 0
    assert mailoutbox == []
    assert EmailMessage.objects.get(pk=own.pk).status == "sending"
    assert email_send_queued(message_pk=other.pk) == 1  # the other batch's rows are skipped
    assert [message.to for message in mailoutbox] == [[other.to]]


def test_the_sweep_queues_again_what_a_dead_worker_left_claimed():
    abandoned, working, waiting = queued(3)
    now = timezone.now()
    EmailMessage.objects.filter(pk=abandoned.pk).update(
        status="sending", claimed_at=now - notifications.SEND_LEASE - timedelta(seconds=1)
    )
    EmailMessage.objects.filter(pk=working.pk).update(status="sending", claimed_at=now)
    EmailMessage.objects.update(created_at=now - timedelta(minutes=5))
    assert notifications.email_pending_ids() == sorted([abandoned.pk, waiting.pk])
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        abandoned.pk: "queued",
        working.pk: "sending",
        waiting.pk: "queued",
    }
    assert EmailMessage.objects.get(pk=abandoned.pk).claimed_at is None


def test_a_connection_failure_on_its_own_email_is_recorded_and_raised_for_the_retry(
    monkeypatch,
):
    own, other = queued(2)

    def refuse(self, messages):
        raise ConnectionError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    calls = handed_back(monkeypatch)
    with pytest.raises(ConnectionError):
        email_send_queued(message_pk=own.pk)
    own.refresh_from_db()
    assert (own.status, own.attempts, own.error) == ("failed", 1, "mail server down")
    assert EmailMessage.objects.get(pk=other.pk).status == "queued"
    assert calls == []


def test_an_unreachable_server_fails_only_the_tasks_own_email(monkeypatch):
    own, other = queued(2)

    def unreachable(self):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.open", unreachable)
    with pytest.raises(ConnectionRefusedError):
        email_send_queued(message_pk=own.pk)
    assert dict(EmailMessage.objects.values_list("pk", "status")) == {
        own.pk: "failed",
        other.pk: "queued",
    }


def test_a_withheld_or_failed_email_task_is_handled_by_status(mailoutbox):
    withheld, failed = queued(2)
    EmailMessage.objects.filter(pk=withheld.pk).update(status="withheld")
    EmailMessage.objects.filter(pk=failed.pk).update(status="failed")
    assert email_send_queued(message_pk=withheld.pk) == 0  # only staff may resend it
    assert email_send_queued(message_pk=failed.pk) == 1  # its retry sends it
    assert [message.to for message in mailoutbox] == [[failed.to]]


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
