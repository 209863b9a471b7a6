"""Errors of the fulfillment services (pick, pack, pickup, re-route), each with a stable code."""

from oms_project.errors import Conflict, OmsError, ValidationFailed


class PackMismatch(ValidationFailed):
    """The scanned SKUs or counts differ from what the fulfillment order holds."""

    code = "pack_mismatch"
    title = "The scanned items do not match the fulfillment order"


class PickupCodeInvalid(ValidationFailed):
    """A wrong code; the attempt is counted towards the lockout (`recorded`)."""

    code = "invalid_pickup_code"
    title = "The pickup code is wrong"
    recorded = True


class PickupCodeLocked(OmsError):
    """Too many wrong pickup codes: no code is checked until `locked_until`."""

    code = "pickup_code_locked"
    status = 429
    title = "Too many wrong pickup codes"


class PickupCodeUsed(Conflict):
    code = "pickup_code_used"
    title = "The pickup code was already used"


class RerouteRefused(Conflict):
    """The fulfillment order cannot go where it was sent (or anywhere else)."""

    code = "reroute_refused"
    title = "The fulfillment order cannot be re-routed"
