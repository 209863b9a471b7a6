"""The return (RMA) state machine: one table of allowed transitions.

Only `returns.services.return_transition` changes `ReturnRequest.status`, and only along this
table::

    requested -> approved | rejected | cancelled
    approved  -> received | cancelled
    received  -> refunded | closed   (closed: nothing to refund, e.g. every unit missing or
                                      an exchange that used the whole value)
    refunded  -> closed
"""

from django.db import models


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RECEIVED = "received", "Received"
    REFUNDED = "refunded", "Refunded"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


S = ReturnStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.RECEIVED, S.CANCELLED}),
    S.RECEIVED: frozenset({S.REFUNDED, S.CLOSED}),
    S.REFUNDED: frozenset({S.CLOSED}),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Returns whose units are still on their way back: they hold the units against new returns.
OPEN_STATUSES = frozenset({S.REQUESTED, S.APPROVED})


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
