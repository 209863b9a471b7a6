"""The return's timeline: one function writes every `ReturnEvent`."""

from returns.models import ReturnEvent, ReturnRequest


def return_event_record(
    *,
    return_request: ReturnRequest,
    type: str,
    actor: str,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
) -> ReturnEvent:
    """Append an event to the return's timeline (call inside the business transaction)."""
    return ReturnEvent.objects.create(
        return_request=return_request,
        type=type,
        actor=actor[:150],
        message=message,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
