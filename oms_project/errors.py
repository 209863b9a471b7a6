"""Domain errors with stable codes; the API renders them as problem+json."""


class OmsError(Exception):
    """Base of every error a service raises on purpose.

    `code` is stable and documented; `status` is the HTTP status the API answers with;
    `errors` carries field- or item-level details.
    """

    code = "oms_error"
    status = 400
    title = "Request could not be processed"

    def __init__(self, detail: str = "", *, errors=None, extra: dict | None = None):
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra or {}
        super().__init__(self.detail)


class ValidationFailed(OmsError):
    code = "validation_error"
    status = 400
    title = "Invalid input"


class InvalidTransition(OmsError):
    code = "invalid_transition"
    status = 409
    title = "This change is not allowed in the current state"


class Conflict(OmsError):
    code = "conflict"
    status = 409
    title = "Conflict"


class NotFound(OmsError):
    code = "not_found"
    status = 404
    title = "Not found"
