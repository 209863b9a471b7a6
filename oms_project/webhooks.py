"""Outgoing webhooks: subscriptions, fan-out of outbox events, signed delivery with retries.

Every dispatched outbox event becomes one `WebhookDelivery` per active subscription that
wants its topic. A delivery is POSTed as JSON (`{"id", "topic", "created_at", "data"}`)
signed as described in `oms_project.webhook_signing`. 2xx succeeds; 5xx, 408, 425, 429,
timeouts and connection errors are retried with exponential backoff (`retry_delay`) for about
a day, then the delivery fails; any other answer fails it at once (a redirect is not followed:
the body is signed for the subscribed URL). `OMS_WEBHOOK_TIMEOUT_SECONDS` bounds the whole
attempt, answer included. Every attempt is logged.
"""

import difflib
import json
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oms_project.errors import InvalidTransition, ValidationFailed
from oms_project.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms_project.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header
from oms_project.webhook_transport import WebhookTransport, is_internal_address, resolve

FIRST_RETRY_SECONDS = 60
BACKOFF_FACTOR = 3
LONGEST_WAIT_SECONDS = 6 * 60 * 60
# 1, 3, 9, 27, 81, 243 minutes, then 6 h three times: the last attempt ~24 h after the first.
MAX_ATTEMPTS = 10
EXCERPT_LENGTH = 1000
# Answers worth trying again: the receiver timed out, was not ready, or asked us to slow down.
RETRYABLE_CODES = frozenset({408, 425, 429})
# Every topic the OMS emits, the one list a subscription is checked against: a topic outside it
# would never be delivered. docs/events.md describes them; tests/oms_project/
# test_webhook_topics.py checks the code emits no other and that the document names them all.
TOPICS = frozenset(
    {
        "order.created",
        "order.paid",
        "order.cancelled",
        "order.address_changed",
        "order.shipped",
        "order.delivered",
        # `shipment.<status>`, one per `orders.models.Shipment.Status`
        "shipment.awaiting",
        "shipment.in_transit",
        "shipment.out_for_delivery",
        "shipment.delivered",
        "shipment.exception",
        "shipment.returned",
        "refund.created",
        "refund.completed",
        "inventory.low_stock",
        "transfer.shipped",
        "transfer.received",
        "transfer.closed",
        "return.requested",
        "return.approved",
        "return.rejected",
        "return.received",
        "return.cancelled",
        "return.closed",
        "customer.erased",  # `oms_project.erasure.ERASED_TOPIC`
    }
)
# What a subscription may list: a topic, a family (`order.*`: every topic of it), or `*`.
TOPIC_PATTERNS = frozenset({"*", *TOPICS, *(f"{topic.split('.')[0]}.*" for topic in TOPICS)})


def retry_delay(attempt_number: int) -> timedelta:
    """How long to wait after failed attempt `attempt_number` (1-based) before the next."""
    seconds = FIRST_RETRY_SECONDS * BACKOFF_FACTOR ** (attempt_number - 1)
    return timedelta(seconds=min(seconds, LONGEST_WAIT_SECONDS))


# --- Subscriptions --------------------------------------------------------------------------


def webhook_url_errors(url: str, *, look_up: bool = True) -> list[str]:
    """Why a URL may not receive webhooks: not http(s), or pointing at the OMS or an internal
    network (loopback, private, link-local, reserved), unless
    `settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS` allows internal ones (tests, closed networks).
    Without `look_up` the host's name is not resolved here (an attempt's transport resolves
    it itself, within the attempt's deadline, and refuses internal addresses)."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as error:
        return [f"The URL is malformed: {error}."]
    if parts.scheme not in ("http", "https"):
        return ["Only http:// and https:// URLs can receive webhooks."]
    if not host:
        return ["The URL has no host."]
    if port == 0:
        return ["Port 0 cannot receive webhooks."]
    if any(character.isspace() for character in url):
        return ["The URL contains spaces; encode them."]
    if settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS:
        return []
    if _is_oms_host(host):
        return [f"'{host}' is this OMS; webhooks must go to another system."]
    if not look_up:
        return []
    addresses = resolve(host, settings.OMS_WEBHOOK_TIMEOUT_SECONDS)
    if not addresses:
        return [f"The host '{host}' does not resolve."]
    for address in addresses:
        if is_internal_address(address):
            return [f"'{host}' points at an internal address ({address}); it is refused."]
    return []


def _is_oms_host(host: str) -> bool:
    for allowed in settings.ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed == "*":
            continue
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
        if allowed.startswith(".") and host == allowed[1:]:
            return True
    return False


def webhook_subscription_errors(data: dict) -> dict[str, list[str]]:
    """Field errors for the subscription fields present in `data` (url, events, secret)."""
    errors = {}
    if "url" in data:
        url_errors = webhook_url_errors(data["url"])
        if url_errors:
            errors["url"] = url_errors
    if "events" in data:
        topic_errors = webhook_topic_errors(data["events"])
        if topic_errors:
            errors["events"] = topic_errors
    if data.get("secret") and len(data["secret"]) < 16:
        errors["secret"] = ["Use at least 16 characters (or leave it out to have one made)."]
    return errors


def webhook_topic_errors(events) -> list[str]:
    """Why a subscription's topic list is refused: empty, or naming a topic the OMS never emits
    (`order.payed`, `order.paid.*`, `*order`), which would subscribe to silence. Each unknown
    topic is named, with the closest valid one when there is one, and the valid ones listed."""
    if not isinstance(events, list) or not events:
        return ["List at least one topic, e.g. ['order.*']."]
    unknown = [
        topic for topic in events if not isinstance(topic, str) or topic not in TOPIC_PATTERNS
    ]
    if not unknown:
        return []
    return [
        f"Unknown topic(s): {', '.join(_unknown_topic(topic) for topic in unknown)}. "
        f"Valid: {', '.join(sorted(TOPIC_PATTERNS))}."
    ]


def _unknown_topic(topic) -> str:
    if not isinstance(topic, str):
        return repr(topic)
    close = difflib.get_close_matches(topic, TOPIC_PATTERNS, n=1)
    return f"{topic} (did you mean {close[0]}?)" if close else topic


def _clean_subscription(data: dict) -> dict:
    errors = webhook_subscription_errors(data)
    if errors:
        raise ValidationFailed("The webhook subscription is invalid.", errors=errors)
    return data


def webhook_subscription_create(
    *, name: str, url: str, events: list[str], secret: str = "", is_active: bool = True
) -> WebhookSubscription:
    """Create a subscription; a secret is generated when none is given.

    Raises `ValidationFailed` for a URL that is not http(s) or points at the OMS or an
    internal network, an empty or unknown topic list, or a short secret.
    """
    data = _clean_subscription({"url": url, "events": events, "secret": secret or None})
    return WebhookSubscription.objects.create(
        name=name,
        url=data["url"],
        events=data["events"],
        secret=secret or secrets.token_urlsafe(32),
        is_active=is_active,
    )


def webhook_subscription_update(
    *, subscription: WebhookSubscription, **changes
) -> WebhookSubscription:
    """Change a subscription's name, URL, events, secret or active flag (checked as on create)."""
    allowed = {"name", "url", "events", "secret", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(errors={field: ["Unknown field."] for field in sorted(unknown)})
    _clean_subscription(changes)
    for field, value in changes.items():
        setattr(subscription, field, value)
    subscription.save(update_fields=[*changes, "updated_at"])
    return subscription


# --- Fan-out and delivery -------------------------------------------------------------------


def webhook_fan_out(event: OutboxEvent) -> int:
    """Outbox consumer: create a delivery per interested active subscription (once each) and
    send them after commit. Returns the number of new deliveries."""
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(is_active=True).order_by("pk")
        if subscription.wants(event.topic)
    ]
    if not subscriptions:
        return 0
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(subscription=subscription, event=event, next_attempt_at=now)
            for subscription in subscriptions
        ],
        ignore_conflicts=True,
    )
    pks = list(
        WebhookDelivery.objects.filter(
            event=event, status=WebhookDelivery.Status.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _enqueue(pks))
    return len(pks)


def _enqueue(delivery_pks: list[int]) -> None:
    from oms_project.tasks import webhook_deliver_task

    for delivery_pk in delivery_pks:
        try:
            webhook_deliver_task.delay(delivery_pk)
        except Exception:  # the broker is down: the due-deliveries sweep sends it later
            return


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due (answered by a partial index)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_body(event: OutboxEvent) -> bytes:
    """The exact bytes POSTed for an event (the signature covers these)."""
    document = {
        "id": str(event.event_id),
        "topic": event.topic,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliver(
    *, delivery_pk: int, transport: httpx.BaseTransport | None = None, now: datetime | None = None
) -> str:
    """Make the next attempt of a delivery if it is due; return its outcome.

    Returns "skipped" when the delivery is not pending, not yet due, or being attempted by
    another worker (the claim is a conditional UPDATE, so one attempt runs at a time).
    """
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.OMS_WEBHOOK_TIMEOUT_SECONDS + 60)
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
        pk=delivery_pk,
        status=WebhookDelivery.Status.PENDING,
    ).update(next_attempt_at=lease, attempt_started_at=now)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("subscription", "event").get(pk=delivery_pk)
    subscription = delivery.subscription
    if not subscription.is_active:
        return _finish(delivery, now, 0, None, "", "The subscription is inactive.", final=True)
    url_errors = webhook_url_errors(subscription.url, look_up=False)
    if url_errors:
        return _finish(delivery, now, 0, None, "", url_errors[0], final=True)
    body = webhook_body(delivery.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OMS-Webhooks/1",
        SIGNATURE_HEADER: signature_header(secret=subscription.secret, body=body),
        EVENT_ID_HEADER: str(delivery.event.event_id),
        "X-OMS-Event-Topic": delivery.event.topic,
        "X-OMS-Delivery-Id": str(delivery.pk),
    }
    started = time.monotonic()
    try:
        code, excerpt, error = _post(subscription.url, body, headers, transport, started)
    except SoftTimeLimitExceeded:
        # The task's time limit cut the attempt short: log and count it as a timeout, so
        # backoff and the retry limit apply, then let the task end.
        _finish(
            delivery, now, int((time.monotonic() - started) * 1000), None, "",
            "Timed out: cut off by the task's time limit.", final=False,
        )
        raise
    duration_ms = int((time.monotonic() - started) * 1000)
    retryable = code is None or code in RETRYABLE_CODES or code >= 500
    succeeded = code is not None and 200 <= code < 300
    return _finish(
        delivery,
        now,
        duration_ms,
        code,
        excerpt,
        error,
        final=succeeded or not retryable,
        succeeded=succeeded,
    )


def _post(
    url: str, body: bytes, headers: dict, transport: httpx.BaseTransport | None, started: float
) -> tuple[int | None, str, str]:
    """POST the delivery and read the start of the answer, all within
    `OMS_WEBHOOK_TIMEOUT_SECONDS` of `started`; return (status code, excerpt, error)."""
    limit = settings.OMS_WEBHOOK_TIMEOUT_SECONDS
    deadline = started + limit
    if transport is None:
        # The URL was checked before, but its DNS answer may change before the connection is
        # made; this transport re-checks the address it actually connects to, and ends every
        # network step by the deadline.
        transport = WebhookTransport(
            deadline=deadline, public_only=not settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS
        )
    try:
        with httpx.Client(
            transport=transport, timeout=limit, follow_redirects=False, trust_env=False
        ) as client, client.stream("POST", url, content=body, headers=headers) as response:
            excerpt = _excerpt(response, deadline)
    except httpx.TimeoutException as exception:
        return None, "", f"Timed out after {limit} s in all ({exception})."[:500]
    except httpx.HTTPError as exception:
        return None, "", f"{type(exception).__name__}: {exception}"[:500]
    code = response.status_code
    if 200 <= code < 300:
        return code, excerpt, ""
    if response.is_redirect:
        location = response.headers.get("Location", "")
        return code, excerpt, f"HTTP {code}: redirect to {location} not followed."[:500]
    return code, excerpt, f"HTTP {code}"


def _excerpt(response: httpx.Response, deadline: float) -> str:
    """The start of the answer's body, read until `EXCERPT_LENGTH` characters' worth or the
    deadline (then `httpx.ReadTimeout`): a trickling answer cannot hold the attempt."""
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= 4 * EXCERPT_LENGTH:
            break
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("The answer took too long.")
    if time.monotonic() > deadline:
        raise httpx.ReadTimeout("The answer took too long.")
    return bytes(received).decode(response.encoding or "utf-8", errors="replace")[
        :EXCERPT_LENGTH
    ]


def _finish(
    delivery: WebhookDelivery,
    started_at: datetime,
    duration_ms: int,
    code: int | None,
    excerpt: str,
    error: str,
    *,
    final: bool,
    succeeded: bool = False,
) -> str:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        number = delivery.attempt_log.count() + 1
        delivery.attempts += 1
        gives_up = not succeeded and (final or delivery.attempts >= MAX_ATTEMPTS)
        if succeeded:
            outcome = WebhookAttempt.Outcome.SUCCEEDED
            delivery.status = WebhookDelivery.Status.SUCCEEDED
        elif gives_up:
            outcome = WebhookAttempt.Outcome.FAILED
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            outcome = WebhookAttempt.Outcome.RETRY
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            response_code=code,
            response_excerpt=excerpt,
            error=error[:500],
            outcome=outcome,
        )
        delivery.last_response_code = code
        delivery.last_error = "" if succeeded else error[:500]
        delivery.attempt_started_at = None
        if outcome == WebhookAttempt.Outcome.RETRY:
            delivery.next_attempt_at = started_at + retry_delay(delivery.attempts)
        else:
            delivery.next_attempt_at = None
            delivery.completed_at = timezone.now()
        delivery.save()
    return outcome


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with a fresh retry budget (e.g. after the receiver is fixed).

    `attempts` counts the attempts since the last redelivery, so it restarts at 0 (the retry
    budget and backoff go by it); the attempt log keeps every attempt, numbered on, and the API
    reports its length as the delivery's `attempts`. Raises `InvalidTransition` when its
    subscription is inactive. Receivers dedupe on
    `X-OMS-Event-Id`, so a redelivery of a delivered event is harmless.

    While an attempt is in flight (claimed, its lease not run out) the delivery is left as it
    is: that attempt is the redelivery, and resetting its lease would let a second worker post
    the same delivery at the same time.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=delivery.pk)
        )
        if not delivery.subscription.is_active:
            raise InvalidTransition("The subscription is inactive; activate it first.")
        in_flight = (
            delivery.status == WebhookDelivery.Status.PENDING
            and delivery.attempt_started_at is not None
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at > now
        )
        if in_flight:
            return delivery
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.completed_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "completed_at"])
        transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return delivery
