"""Errors raised by the purchasing services, with stable codes for the API."""

from oms_project.errors import Conflict, OmsError, ValidationFailed


class OverReceipt(ValidationFailed):
    """More units received than the supplier's over-receipt tolerance allows."""

    code = "over_receipt"
    title = "More units than ordered"


class BelowMinimumOrderValue(Conflict):
    """A purchase order worth less than the supplier's minimum order value."""

    code = "below_minimum_order_value"
    title = "Below the supplier's minimum order value"


class DuplicateReceipt(Conflict):
    """A delivery note already booked against this purchase order."""

    code = "duplicate_receipt"
    title = "This delivery was already received"


class ReceiptKeyRequired(OmsError):
    """A receipt with neither a delivery note nor an `Idempotency-Key`: a retry of it could not
    be told from a second delivery."""

    code = "idempotency_key_required"
    status = 400
    title = "Idempotency key required"
