"""The return's timeline: one function writes every `ReturnEvent`."""

from returns.models import ReturnEvent, ReturnRequest


def return_event_record(*, return_request: ReturnRequest, **event) -> ReturnEvent:
    """Append an event to the return's timeline (call inside the business transaction); `event` is
    `type`, `actor` and optionally `message`, `from_status`, `to_status`, `data`
    (`TimelineEvent.record`)."""
    return ReturnEvent.record(return_request=return_request, **event)
