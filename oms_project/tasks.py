"""Celery tasks for the outbox, e-mail delivery and webhooks.

Tasks take ids, re-read their rows and call a service; each is idempotent (the service checks
whether the work is still needed), acknowledged late so a task whose worker died is re-queued,
and bounded by time limits.
"""

from smtplib import SMTPException

from celery import shared_task

from oms_project import handoff, notifications, outbox, webhooks


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def outbox_dispatch_task(event_pk: int) -> bool:
    return outbox.outbox_dispatch(event_pk=event_pk)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=280)
def deliver_task(event_pks: list[int], email_pks: list[int]) -> dict:
    """What a transaction handed off after commit: dispatch its events, send its e-mails."""
    return handoff.deliver(event_pks=event_pks, email_pks=email_pks)


@shared_task(time_limit=300, soft_time_limit=280)
def outbox_sweep_task() -> int:
    """Dispatch outbox rows, e-mails and webhook deliveries whose enqueue was lost."""
    pending = outbox.outbox_pending_ids()
    for event_pk in pending:
        outbox_dispatch_task.delay(event_pk)
    emails = notifications.email_pending_ids()
    for message_pk in emails:
        email_send_task.delay(message_pk)
    return len(pending) + len(emails)


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
    time_limit=60,
    soft_time_limit=50,
)
def email_send_task(message_pk: int) -> int:
    """Send the e-mail (with other queued ones in one batch); how many were sent."""
    return notifications.email_send_queued(message_pk=message_pk)


@shared_task(acks_late=True, time_limit=90, soft_time_limit=80)
def webhook_deliver_task(delivery_pk: int) -> str:
    """One attempt of a webhook delivery; retries are scheduled in the row, not by Celery."""
    return webhooks.webhook_deliver(delivery_pk=delivery_pk)


@shared_task(time_limit=120, soft_time_limit=110)
def webhook_deliveries_sweep_task() -> int:
    """Enqueue webhook deliveries whose next attempt is due."""
    due = webhooks.webhook_deliveries_due()
    for delivery_pk in due:
        webhook_deliver_task.delay(delivery_pk)
    return len(due)
