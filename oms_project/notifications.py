"""Customer, supplier and staff e-mails: rendered from templates, logged, sent after commit."""

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from smtplib import SMTPDataError, SMTPRecipientsRefused, SMTPSenderRefused

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from oms_project.bulk_insert import rows_insert
from oms_project.email_templates import email_render
from oms_project.errors import OmsError
from oms_project.handoff import handoff_after_commit
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
# A batch's claim older than this means its worker died (a batch lasts SEND_BATCH_SECONDS
# plus one hand-over, and its task is killed after a minute): the sweep queues the rows again.
SEND_LEASE = timedelta(minutes=10)


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
    subject = email_render(f"emails/{template}_subject.txt", context).strip().splitlines()[0]
    body_text = email_render(f"emails/{template}.txt", context)
    body_html = email_render(f"emails/{template}.html", context)
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
    handoff_after_commit(email_pks=[message.pk])
    return message


_together = threading.local()


@contextmanager
def emails_queued_together():
    """Queue the e-mails of this block with one INSERT and hand them to the workers after
    commit (`oms_project.handoff`; for work that queues many, such as bulk order creation).

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
        rows_insert(messages)
        handoff_after_commit(email_pks=[message.pk for message in messages])


def email_send_many(*, message_pks: list[int]) -> int:
    """Send each of these e-mails unless it is sent (batched as `email_send_queued` does);
    return how many went out. An e-mail that fails is handed to its own send task, which
    retries it with backoff; the others still go."""
    sent = 0
    for message_pk in message_pks:
        try:
            sent += email_send_queued(message_pk=message_pk)
        except Exception:
            logger.warning("E-mail %s failed in a batch; its own task retries it", message_pk)
            _enqueue(message_pk, countdown=FIRST_RETRY_SECONDS)
    return sent


def _enqueue(message_pk: int, countdown: int | None = None) -> None:
    from oms_project.tasks import email_send_task

    try:
        email_send_task.apply_async((message_pk,), countdown=countdown)
    except Exception:
        logger.warning("E-mail %s not enqueued; the sweep will retry", message_pk)


def email_pending_ids(*, limit: int = 500) -> list[int]:
    """E-mails the sweep must hand to a send task again: queued ones older than the sweep
    grace whose task was lost (broker down), and ones a send batch claimed more than
    `SEND_LEASE` ago and never finished (its worker died), which are queued again here.

    Only the last two days are looked at, so the queries stay on short index ranges.
    """
    from oms_project.outbox import SWEEP_GRACE

    now = timezone.now()
    abandoned = list(
        EmailMessage.objects.filter(
            status=EmailMessage.Status.SENDING, claimed_at__lt=now - SEND_LEASE
        ).values_list("pk", flat=True)[:limit]
    )
    if abandoned:
        # The e-mail the worker was handing over when it died may go out twice; every other
        # one it sent is already marked sent.
        logger.warning("%s e-mails left claimed by a dead send batch; queued again", len(abandoned))
        EmailMessage.objects.filter(
            pk__in=abandoned,
            status=EmailMessage.Status.SENDING,
            claimed_at__lt=now - SEND_LEASE,  # not claimed again since it was read
        ).update(status=EmailMessage.Status.QUEUED, claimed_at=None)
    return list(
        EmailMessage.objects.filter(
            status=EmailMessage.Status.QUEUED,
            created_at__lt=now - SWEEP_GRACE,
            created_at__gte=now - PENDING_WINDOW,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


class EmailWithheld(OmsError):
    """The e-mail may no longer go to its recipient (e.g. the customer is not e-mailed now)."""

    code = "email_withheld"
    status = 409
    title = "This e-mail is withheld"


_SEND_CHECKS: list = []


def email_register_send_check(check) -> None:
    """Register a callable that takes queued e-mails and returns {id: reason} for those that
    must not go out (any more) as they are about to be sent, e.g. order e-mails to a customer
    whose channel stopped customer e-mails after they were queued."""
    if check not in _SEND_CHECKS:
        _SEND_CHECKS.append(check)


def _withheld(messages: list[EmailMessage]) -> dict[int, str]:
    reasons: dict[int, str] = {}
    for check in list(_SEND_CHECKS):
        for pk, reason in check(messages).items():
            reasons.setdefault(pk, reason)
    return reasons


def _withhold(reasons: dict[int, str]) -> None:
    """Mark the e-mails withheld with their reasons (one UPDATE per distinct reason)."""
    by_reason: dict[str, list[int]] = {}
    for pk, reason in reasons.items():
        by_reason.setdefault(reason, []).append(pk)
    for reason, pks in by_reason.items():
        EmailMessage.objects.filter(pk__in=pks).update(
            status=EmailMessage.Status.WITHHELD, error=reason[:2000], claimed_at=None
        )


def email_send(*, message_pk: int, resend: bool = False) -> bool:
    """Send one logged e-mail; skipped if it was already sent (unless resending).

    An e-mail a send check withholds is marked withheld and not sent; a resend of one raises
    `EmailWithheld` with the reason.
    """
    with transaction.atomic():
        message = EmailMessage.objects.select_for_update().filter(pk=message_pk).first()
        if message is None or (message.status == EmailMessage.Status.SENT and not resend):
            return False
        reason = _withheld([message]).get(message.pk)
        if reason is not None:
            if resend:
                raise EmailWithheld(reason)
            _withhold({message.pk: reason})
            return False
        message.attempts += 1
        message.claimed_at = None
        failure = None
        try:
            _mail(message).send()
        except Exception as error:  # SMTP failures are recorded, then retried by the task
            failure = error
            message.status = EmailMessage.Status.FAILED
            message.error = str(error)[:2000]
            message.save(update_fields=["status", "error", "attempts", "claimed_at"])
        else:
            message.status = EmailMessage.Status.SENT
            message.sent_at = timezone.now()
            message.error = ""
            message.save(update_fields=["status", "sent_at", "error", "attempts", "claimed_at"])
    if failure is not None:
        # Raised after the commit so the failed status is kept for the admin and the retry.
        raise failure
    return True


def email_send_queued(*, message_pk: int) -> int:
    """Send the e-mail `message_pk` unless it is sent, and other queued e-mails with it.

    What the send task runs. The e-mail's own row is claimed with up to `SEND_BATCH - 1`
    other queued ones (oldest first, `FOR UPDATE SKIP LOCKED` in a short transaction that
    marks them `sending`, so two workers never take the same row and none waits for
    another). They go out over one mail-server connection, each marked sent as soon as the
    server took it: a worker killed mid-batch leaves at most the e-mail it was handing over
    unconfirmed (the sweep queues its stale claim again).

    The server refusing one message (its recipient, sender or content) marks that e-mail
    failed and the batch goes on; the failed e-mail gets a retry of its own (this task's, by
    raising, when it is the task's own e-mail). A connection failure, the batch's time running
    out or any other error ends the batch: the claimed e-mails not sent go back to `queued`
    for their own tasks or the sweep, and the task's own e-mail, if among them, is marked
    failed and raised for the retry with backoff. An e-mail in another worker's batch is left
    to that batch; one a send check (`email_register_send_check`) refuses is marked withheld
    with the reason. Returns how many were sent.
    """
    status = _status(message_pk)
    if status in (None, *_NOT_FOR_TASKS):
        return 0
    claimed = _claim(message_pk)
    if not claimed:
        return 0
    done: set[int] = set()
    sent, refused, failure = [], {}, None
    try:
        withheld = _withheld(claimed)
        if withheld:
            _withhold(withheld)
            done |= set(withheld)
        sent, refused, failure = _send_batch([m for m in claimed if m.pk not in withheld])
        done |= set(sent) | set(refused)
    finally:
        unsent = [message.pk for message in claimed if message.pk not in done]
        if unsent:
            EmailMessage.objects.filter(pk__in=unsent, status=EmailMessage.Status.SENDING).update(
                status=EmailMessage.Status.QUEUED, claimed_at=None
            )
    if failure is not None and message_pk in unsent:
        refused[message_pk] = failure
    for pk, error in refused.items():
        EmailMessage.objects.filter(pk=pk).update(
            status=EmailMessage.Status.FAILED,
            claimed_at=None,
            error=str(error)[:2000],
            attempts=F("attempts") + 1,
        )
        if pk != message_pk:
            _enqueue(pk, countdown=FIRST_RETRY_SECONDS)
    if message_pk in refused:
        raise refused[message_pk]
    return len(sent)


# Statuses a send task leaves alone: done, in another batch, or kept back for staff to resend.
_NOT_FOR_TASKS = (
    EmailMessage.Status.SENT,
    EmailMessage.Status.SENDING,
    EmailMessage.Status.WITHHELD,
)

# The server refusing this one message; anything else ends the batch.
MESSAGE_REFUSALS = (SMTPRecipientsRefused, SMTPSenderRefused, SMTPDataError)


def _claim(message_pk: int) -> list[EmailMessage]:
    """Mark the e-mail and up to `SEND_BATCH - 1` other queued ones as this batch's."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            EmailMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_pk)
            .exclude(status__in=_NOT_FOR_TASKS)
        )
        claimed += (
            EmailMessage.objects.select_for_update(skip_locked=True)
            .filter(status=EmailMessage.Status.QUEUED, created_at__gte=now - PENDING_WINDOW)
            .exclude(pk=message_pk)
            .order_by("created_at", "pk")[: SEND_BATCH - len(claimed)]
        )
        if claimed:
            EmailMessage.objects.filter(pk__in=[message.pk for message in claimed]).update(
                status=EmailMessage.Status.SENDING, claimed_at=now
            )
    return claimed


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


def _send_batch(
    messages: list[EmailMessage],
) -> tuple[list[int], dict[int, Exception], Exception | None]:
    """Send `messages` in order over one connection, marking each sent once the server took
    it, until the connection fails or time runs short.

    Returns the ids sent, the ids the server refused with their errors (`MESSAGE_REFUSALS`;
    the batch goes on after them), and the error that ended the batch, if any (then the rest
    are left as they were).
    """
    sent: list[int] = []
    refused: dict[int, Exception] = {}
    if not messages:
        return sent, refused, None
    backend = get_connection()
    try:
        backend.open()
    except Exception as error:  # the mail server is unreachable: nothing was sent
        return sent, refused, error
    failure = None
    deadline = time.monotonic() + SEND_BATCH_SECONDS
    try:
        for message in messages:
            if (sent or refused) and time.monotonic() > deadline:
                break
            try:
                backend.send_messages([_mail(message, connection=backend)])
            except MESSAGE_REFUSALS as error:
                refused[message.pk] = error
                continue
            except Exception as error:  # the connection broke: the rest wait
                failure = error
                break
            _mark_sent(message.pk)
            sent.append(message.pk)
    finally:
        try:
            backend.close()
        except Exception as error:  # what was handed over before stays sent
            logger.warning("Closing the mail connection failed: %s", error)
    return sent, refused, failure


_MARK_SENT = (
    "UPDATE {table} SET status = %s, sent_at = %s, claimed_at = NULL, error = '', "
    "attempts = attempts + 1 {source}WHERE id = %s"
)
# Turns synchronous commit off for the statement's own transaction (autocommit).
_ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "


def _mark_sent(message_pk: int) -> None:
    """Mark one e-mail of a batch sent, committed before the next is handed over.

    One written-out statement, as it runs once per e-mail. On PostgreSQL, outside a caller's
    transaction, the statement's own commit does not wait for the log flush: a database crash
    can lose the marks of the last fraction of a second (a few times `wal_writer_delay`), and
    those e-mails then go again.
    """
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    sql = _MARK_SENT.format(
        table=connection.ops.quote_name(EmailMessage._meta.db_table),
        source=_ASYNC_COMMIT if asynchronous else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [EmailMessage.Status.SENT, timezone.now(), message_pk])


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
