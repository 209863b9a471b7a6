"""A transaction's after-commit work, handed to the workers in as few Celery messages as it can.

The outbox (`oms_project.outbox`) and the e-mail log (`oms_project.notifications`) write their
rows inside the business transaction and call `handoff_after_commit` with the new primary
keys. Whatever one transaction hands off (an order's `order.paid` event and its receipt, a
cancellation's event and e-mail, a bulk import's thousands of both) goes to the workers after
commit as `deliver_task` messages, each carrying up to `EVENTS_PER_MESSAGE` events and
`EMAILS_PER_MESSAGE` e-mails: one message for an ordinary request instead of one per kind.

Nothing is lost if a message is: rows stay undispatched or queued until the periodic sweep
(`outbox_sweep_task`) hands them over again. A key from a rolled-back savepoint may still be
sent; the workers find no row for it and do nothing.
"""

import logging
from itertools import zip_longest

from django.db import transaction

logger = logging.getLogger(__name__)

# Events dispatched and e-mails sent per message (each e-mail batch uses one SMTP connection).
EVENTS_PER_MESSAGE = 100
EMAILS_PER_MESSAGE = 50


class _Handoff:
    """What one transaction hands off; sent by its on-commit hook."""

    __slots__ = ("event_pks", "email_pks", "hook", "sent")

    def __init__(self):
        self.event_pks: list[int] = []
        self.email_pks: list[int] = []
        self.hook = self.send  # one bound method, so the hook can be found again by identity
        self.sent = False

    def open_on(self, connection) -> bool:
        """Still waiting for its transaction's commit (not sent, not dropped by a rollback)."""
        return not self.sent and any(hook is self.hook for _, hook, _ in connection.run_on_commit)

    def send(self) -> None:
        self.sent = True
        events = _chunks(self.event_pks, EVENTS_PER_MESSAGE)
        emails = _chunks(self.email_pks, EMAILS_PER_MESSAGE)
        for event_pks, email_pks in zip_longest(events, emails, fillvalue=[]):
            try:
                _publish(event_pks, email_pks)
            except Exception:  # the broker is down: the periodic sweep sends them later
                logger.warning(
                    "%s outbox events and %s e-mails not enqueued; the sweep will retry",
                    len(event_pks),
                    len(email_pks),
                )


def handoff_after_commit(*, event_pks=(), email_pks=(), using: str | None = None) -> None:
    """Have these outbox events dispatched and e-mails sent once the transaction commits
    (at once outside a transaction), together with everything else the transaction hands off."""
    connection = transaction.get_connection(using)
    pending = getattr(connection, "oms_handoff", None)
    if pending is not None and pending.open_on(connection):
        pending.event_pks.extend(event_pks)
        pending.email_pks.extend(email_pks)
        return
    pending = _Handoff()
    pending.event_pks.extend(event_pks)
    pending.email_pks.extend(email_pks)
    connection.oms_handoff = pending
    transaction.on_commit(pending.hook, using=using)


def _chunks(values: list[int], size: int) -> list[list[int]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _publish(event_pks: list[int], email_pks: list[int]) -> None:
    from oms_project.tasks import deliver_task

    deliver_task.delay(event_pks, email_pks)


def deliver(*, event_pks: list[int], email_pks: list[int]) -> dict:
    """What `deliver_task` runs: dispatch the events, then send the e-mails (each isolated:
    a failing event is left for the sweep, a failing e-mail gets a retrying task of its own)."""
    from oms_project.notifications import email_send_many
    from oms_project.outbox import outbox_dispatch_many

    return {
        "events": outbox_dispatch_many(event_pks=event_pks) if event_pks else 0,
        "emails": email_send_many(message_pks=email_pks) if email_pks else 0,
    }
