"""Customer, supplier and staff e-mails: rendered from templates, logged, sent after commit."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from oms_project.models import EmailMessage

logger = logging.getLogger(__name__)


def email_queue(
    *,
    to: str,
    template: str,
    context: dict,
    reference: str = "",
    attachments: list[dict] | None = None,
) -> EmailMessage:
    """Render `templates/emails/<template>.{txt,html}`, log it, and send it after commit.

    The subject is the first line of the text template's `subject` block file
    `emails/<template>_subject.txt`. `attachments` are text files sent with the message,
    each `{"filename", "content", "mimetype"}`; they are stored with the logged e-mail so a
    resend carries them too.
    """
    context = {"brand_name": settings.OMS_BRAND_NAME, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip().splitlines()[0]
    body_text = render_to_string(f"emails/{template}.txt", context)
    body_html = render_to_string(f"emails/{template}.html", context)
    message = EmailMessage.objects.create(
        to=to,
        template=template,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        reference=reference,
        attachments=[
            {
                "filename": item["filename"],
                "content": item["content"],
                "mimetype": item.get("mimetype", "text/plain"),
            }
            for item in attachments or []
        ],
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_pk: int) -> None:
    from oms_project.tasks import email_send_task

    try:
        email_send_task.delay(message_pk)
    except Exception:
        logger.warning("E-mail %s not enqueued; the sweep will retry", message_pk)


def email_pending_ids(*, limit: int = 500) -> list[int]:
    """Queued e-mails older than the sweep grace whose send task was lost (broker down).

    Only the last two days are looked at, so the query stays on a short index range.
    """
    from oms_project.outbox import SWEEP_GRACE

    now = timezone.now()
    return list(
        EmailMessage.objects.filter(
            status=EmailMessage.Status.QUEUED,
            created_at__lt=now - SWEEP_GRACE,
            created_at__gte=now - timedelta(days=2),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def email_send(*, message_pk: int, resend: bool = False) -> bool:
    """Send one logged e-mail; skipped if it was already sent (unless resending)."""
    with transaction.atomic():
        message = EmailMessage.objects.select_for_update().filter(pk=message_pk).first()
        if message is None or (message.status == EmailMessage.Status.SENT and not resend):
            return False
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
        )
        if message.body_html:
            mail.attach_alternative(message.body_html, "text/html")
        for item in message.attachments or []:
            mail.attach(item["filename"], item["content"], item.get("mimetype", "text/plain"))
        message.attempts += 1
        failure = None
        try:
            mail.send()
        except Exception as error:  # SMTP failures are recorded, then retried by the task
            failure = error
            message.status = EmailMessage.Status.FAILED
            message.error = str(error)[:2000]
            message.save(update_fields=["status", "error", "attempts"])
        else:
            message.status = EmailMessage.Status.SENT
            message.sent_at = timezone.now()
            message.error = ""
            message.save(update_fields=["status", "sent_at", "error", "attempts"])
    if failure is not None:
        # Raised after the commit so the failed status is kept for the admin and the retry.
        raise failure
    return True


def email_queue_staff_alert(*, subject: str, body: str, reference: str = "") -> None:
    """Alert the operations team (settings.OMS_STAFF_ALERT_EMAILS)."""
    for address in settings.OMS_STAFF_ALERT_EMAILS:
        email_queue(
            to=address,
            template="staff_alert",
            context={"subject": subject, "body": body},
            reference=reference,
        )
