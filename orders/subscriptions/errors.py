"""Errors raised by the subscription services, with stable codes."""

from oms_project.errors import InvalidTransition, ValidationFailed


class SubscriptionValidationError(ValidationFailed):
    """The subscription's data is invalid; `errors` names the fields. Nothing was written."""

    code = "validation_error"
    title = "Invalid subscription"


class SubscriptionStateError(InvalidTransition):
    """The change does not apply to the subscription in its current status."""

    code = "invalid_transition"
    title = "This change is not allowed in the subscription's current status"
