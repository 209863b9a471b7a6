"""Domain errors with stable codes; the API renders them as problem+json."""


class OmsError(Exception):
    """Base of every error a service raises on purpose.

    `code` is stable and documented; `status` is the HTTP status the API answers with;
    `errors` carries field- or item-level details.
    """

    code = "oms_error"
    status = 400
    title = "Request could not be processed"
    # A refusal that is itself recorded (a wrong pickup code counts as an attempt): the
    # request's Idempotency-Key keeps this answer, so a retry replays it and is not counted
    # again. Other 400s write nothing and free the key for a corrected request.
    recorded = False

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


# --- Where an error about an item of a request list goes ------------------------------------
# One rule for every endpoint: an error about an item of a list in the request is keyed by
# the item's position in that list (from 0, as a string), then by its field, as the
# serializers report their own checks: {"lines": {"1": {"quantity": ["..."]}}}.


def item_errors(errors: list[dict]) -> dict[str, dict]:
    """Per-item errors aligned with a request list (`{}` for a good item), keyed by position;
    good items are left out."""
    return {str(position): error for position, error in enumerate(errors) if error}


def line_errors_at_positions(
    error: OmsError, lines: list[dict], *, known_ids: set[int], key: str = "line_id"
) -> OmsError:
    """Re-key a service's errors about order lines named by id (`{"lines": {"<id>":
    [...]}}`) by each line's position in the request: under `key` when the order has no
    such line, under `quantity` otherwise. Other errors are kept as they are."""
    errors = error.errors if isinstance(error.errors, dict) else None
    by_id = errors.get("lines") if errors else None
    if not isinstance(by_id, dict):
        return error
    positioned = {}
    for position, item in enumerate(lines):
        messages = by_id.get(str(item[key]))
        if messages:
            field = "quantity" if item[key] in known_ids else key
            positioned[str(position)] = {field: list(messages)}
    error.errors = {**errors, "lines": positioned}
    return error
