"""Customer, supplier and staff e-mails: rendered from templates, logged, sent after commit."""

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from oms_project.models import EmailMessage

logger = logging.getLogger(__name__)

# Queued e-mails older than this are left to the operator (the sweep and batches skip them).
PENDING_WINDOW = timedelta(days=2)
# At most this many e-mails go out per send task, over one mail-server connection, and a
# batch stops taking the next e-mail after this many seconds (well within the task's limit).
SEND_BATCH = 50
SEND_BATCH_SECONDS = 10.0
# An e-mail that fails inside a batch is retried by its own task after this long.
FIRST_RETRY_SECONDS = 30


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
    message = EmailMessage(
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
    pending = getattr(_together, "messages", None)
    if pending is not None:
        pending.append(message)
        return message
    message.save()
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


_together = threading.local()


@contextmanager
def emails_queued_together():
    """Queue the e-mails of this block with one INSERT and hand them to the workers after
    commit, `SEND_BATCH` per task (for work that queues many, such as bulk order creation).

    Use it inside the business transaction. The messages `email_queue` returns in the block
    are saved (and get their primary key) when the block ends.
    """
    if getattr(_together, "messages", None) is not None:  # already batching: join it
        yield
        return
    _together.messages = []
    try:
        yield
        messages = _together.messages
    finally:
        _together.messages = None
    if messages:
        EmailMessage.objects.bulk_create(messages)
        message_pks = [message.pk for message in messages]
        transaction.on_commit(lambda: _enqueue_many(message_pks))


def _enqueue_many(message_pks: list[int]) -> None:
    from oms_project.tasks import email_send_many_task

    for start in range(0, len(message_pks), SEND_BATCH):
        chunk = message_pks[start : start + SEND_BATCH]
        try:
            email_send_many_task.delay(chunk)
        except Exception:
            logger.warning("%s e-mails not enqueued; the sweep will retry", len(chunk))


def email_send_many(*, message_pks: list[int]) -> int:
    """Send each of these e-mails unless it is sent (batched as `email_send_queued` does);
    return how many went out. An e-mail that fails is handed to its own send task, which
    retries it with backoff; the others still go."""
    from oms_project.tasks import email_send_task

    sent = 0
    for message_pk in message_pks:
        try:
            sent += email_send_queued(message_pk=message_pk)
        except Exception:
            logger.warning("E-mail %s failed in a batch; its own task retries it", message_pk)
            email_send_task.apply_async((message_pk,), countdown=FIRST_RETRY_SECONDS)
    return sent


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
            created_at__gte=now - PENDING_WINDOW,
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
        message.attempts += 1
        failure = None
        try:
            _mail(message).send()
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


def email_send_queued(*, message_pk: int) -> int:
    """Send the e-mail `message_pk` unless it is sent, and other queued e-mails with it.

    What the send task runs. The e-mail's own row is claimed with up to `SEND_BATCH - 1`
    other queued ones (oldest first, `FOR UPDATE SKIP LOCKED`, so workers never wait for each
    other's rows), all of them go out over one mail-server connection, and the sent ones are
    marked with one UPDATE in the same transaction: a row marked sent is never sent again, and
    the other rows' own tasks then find them sent. Only the task's own e-mail is marked failed
    (and raised, for the task's retry with backoff); a failure on another row ends the batch
    and leaves that row queued for its own task (or the sweep). Returns how many were sent.
    """
    status = _status(message_pk)
    if status is None or status == EmailMessage.Status.SENT:
        return 0
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            EmailMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_pk)
            .exclude(status=EmailMessage.Status.SENT)
        )
        own_claimed = bool(claimed)
        claimed += (
            EmailMessage.objects.select_for_update(skip_locked=True)
            .filter(status=EmailMessage.Status.QUEUED, created_at__gte=now - PENDING_WINDOW)
            .exclude(pk=message_pk)
            .order_by("created_at", "pk")[: SEND_BATCH - len(claimed)]
        )
        sent, failure = _send_batch(claimed)
        if sent:
            EmailMessage.objects.filter(pk__in=sent).update(
                status=EmailMessage.Status.SENT,
                sent_at=timezone.now(),
                error="",
                attempts=F("attempts") + 1,
            )
        if failure is not None and failure[0] == message_pk:
            EmailMessage.objects.filter(pk=message_pk).update(
                status=EmailMessage.Status.FAILED,
                error=str(failure[1])[:2000],
                attempts=F("attempts") + 1,
            )
    if failure is not None and failure[0] == message_pk:
        # Raised after the commit so the failed status is kept for the admin and the retry.
        raise failure[1]
    if not own_claimed:
        # Another worker holds the row in its batch: wait for it, then send the e-mail here if
        # that batch did not.
        return len(sent) + int(email_send(message_pk=message_pk))
    return len(sent)


def _status(message_pk: int) -> str | None:
    """The e-mail's status, read without a lock.

    Most send tasks find their e-mail already sent by another task's batch, so this one query
    is all they cost; it is written out to spare the ORM's query building on that path.
    """
    table = connection.ops.quote_name(EmailMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {table} WHERE id = %s", [message_pk])
        row = cursor.fetchone()
    return row[0] if row else None


def _send_batch(messages: list[EmailMessage]) -> tuple[list[int], tuple[int, Exception] | None]:
    """Send `messages` in order over one connection until one fails or time runs short.

    Returns the ids sent and, if one failed, `(id, error)`; the rest are left as they were.
    """
    sent: list[int] = []
    if not messages:
        return sent, None
    backend = get_connection()
    try:
        backend.open()
    except Exception as error:  # the mail server is unreachable: nothing was sent
        return sent, (messages[0].pk, error)
    failure = None
    deadline = time.monotonic() + SEND_BATCH_SECONDS
    try:
        for message in messages:
            if sent and time.monotonic() > deadline:
                break
            try:
                backend.send_messages([_mail(message, connection=backend)])
            except Exception as error:  # the mail server's refusal, kept for the row's task
                failure = (message.pk, error)
                break
            sent.append(message.pk)
    finally:
        try:
            backend.close()
        except Exception as error:  # what was handed over before stays sent
            logger.warning("Closing the mail connection failed: %s", error)
    return sent, failure


def _mail(message: EmailMessage, connection=None) -> EmailMultiAlternatives:
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        connection=connection,
    )
    if message.body_html:
        mail.attach_alternative(message.body_html, "text/html")
    for item in message.attachments or []:
        mail.attach(item["filename"], item["content"], item.get("mimetype", "text/plain"))
    return mail


def email_queue_staff_alert(*, subject: str, body: str, reference: str = "") -> None:
    """Alert the operations team (settings.OMS_STAFF_ALERT_EMAILS)."""
    for address in settings.OMS_STAFF_ALERT_EMAILS:
        email_queue(
            to=address,
            template="staff_alert",
            context={"subject": subject, "body": body},
            reference=reference,
        )
