"""A mail-server failure is recorded on the e-mail and survives for the retry."""

import pytest

from oms_project.models import EmailMessage
from oms_project.notifications import email_send

pytestmark = pytest.mark.django_db


def test_smtp_failure_keeps_failed_status(monkeypatch):
    message = EmailMessage.objects.create(
        to="a@example.com", template="staff_alert", subject="s", body_text="b"
    )

    def refuse(self, *args, **kwargs):
        raise ConnectionError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(ConnectionError):
        email_send(message_pk=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "mail server down" in message.error
