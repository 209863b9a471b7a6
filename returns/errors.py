"""Errors raised by the return and refund services, each with a stable code."""

from oms_project.errors import Conflict, InvalidTransition, NotFound, ValidationFailed

__all__ = [
    "InvalidTransition",
    "RefundExceedsPaid",
    "ReturnNotFound",
    "ReturnValidationError",
    "ReturnWindowClosed",
]


class ReturnValidationError(ValidationFailed):
    """Input the serializer could not judge alone: lines, quantities, locations, amounts."""


class ReturnWindowClosed(ValidationFailed):
    """The order's return window has passed and no staff override reason was given."""

    code = "return_window_closed"
    title = "The return window has closed"


class RefundExceedsPaid(ValidationFailed):
    """A refund would return more than the customer paid (or is owed)."""

    code = "refund_exceeds_paid"
    title = "The refund exceeds what can be refunded"


class ReturnNotFound(NotFound):
    code = "return_not_found"


class RefundConflict(Conflict):
    """The processor reference was already used for another refund of this order."""

    code = "duplicate_refund"
    title = "This refund already exists"
