"""Celery tasks for the outbox and e-mail delivery."""

from smtplib import SMTPException

from celery import shared_task

from oms_project import notifications, outbox


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def outbox_dispatch_task(event_pk: int) -> bool:
    return outbox.outbox_dispatch(event_pk=event_pk)


@shared_task(time_limit=300, soft_time_limit=280)
def outbox_sweep_task() -> int:
    pending = outbox.outbox_pending_ids()
    for event_pk in pending:
        outbox_dispatch_task.delay(event_pk)
    return len(pending)


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
    time_limit=60,
    soft_time_limit=50,
)
def email_send_task(message_pk: int) -> bool:
    return notifications.email_send(message_pk=message_pk)
