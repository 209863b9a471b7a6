"""E-mails queued together (bulk order creation): one INSERT, after commit a batch per message,
each sent once; a failing one goes to its own task; a rolled-back block leaves nothing."""

from smtplib import SMTPException

import pytest
from django.core import mail
from django.db import transaction

from oms_project import handoff, notifications, tasks
from oms_project.models import EmailMessage
from oms_project.notifications import email_queue, email_send_many, emails_queued_together

pytestmark = pytest.mark.django_db


def queue_alerts(count: int) -> list[EmailMessage]:
    return [
        email_queue(
            to=f"c{index}@example.com",
            template="staff_alert",
            context={"subject": f"Alert {index}", "lines": ["x"]},
        )
        for index in range(count)
    ]


def test_emails_are_written_together_and_sent_a_batch_per_message(
    monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    monkeypatch.setattr(handoff, "EMAILS_PER_MESSAGE", 2)
    published = []
    monkeypatch.setattr(
        tasks.deliver_task, "delay", lambda events, emails: published.append(list(emails))
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with emails_queued_together():
            messages = queue_alerts(3)
            assert not EmailMessage.objects.exists()  # written when the block ends
            with emails_queued_together():  # a nested block joins the outer one
                messages += queue_alerts(0)
        assert all(message.pk for message in messages)
        assert EmailMessage.objects.filter(status="queued").count() == 3
        assert published == []  # only after commit
    pks = [message.pk for message in messages]
    assert published == [pks[0:2], pks[2:3]]
    for chunk in published:
        email_send_many(message_pks=chunk)
    assert sorted(message.to[0] for message in mailoutbox) == [
        "c0@example.com", "c1@example.com", "c2@example.com",
    ]
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert email_send_many(message_pks=pks) == 0  # a re-delivered task sends nothing again
    assert len(mailoutbox) == 3


def test_a_block_that_fails_writes_no_email(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
        emails_queued_together(),
    ):
        queue_alerts(2)
        raise RuntimeError("the order batch fails")
    assert callbacks == []
    assert not EmailMessage.objects.exists()


def test_a_failing_email_in_a_batch_goes_to_its_own_task(monkeypatch, mailoutbox):
    with emails_queued_together():
        messages = queue_alerts(3)
    failing = messages[1]
    real_send = mail.get_connection().__class__.send_messages

    def send_messages(self, email_messages):
        if any(message.to == [failing.to] for message in email_messages):
            raise SMTPException("mailbox unavailable")
        return real_send(self, email_messages)

    monkeypatch.setattr(mail.get_connection().__class__, "send_messages", send_messages)
    retried = []
    monkeypatch.setattr(
        tasks.email_send_task,
        "apply_async",
        lambda args, countdown: retried.append((args, countdown)),
    )
    email_send_many(message_pks=[message.pk for message in messages])
    assert sorted(message.to[0] for message in mailoutbox) == ["c0@example.com", "c2@example.com"]
    assert retried == [((failing.pk,), notifications.FIRST_RETRY_SECONDS)]
    failing.refresh_from_db()
    assert failing.status == "failed"
    assert "mailbox unavailable" in failing.error
