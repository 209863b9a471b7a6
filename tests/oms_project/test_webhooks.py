"""Webhooks: fan-out from the outbox, signed delivery to a local receiver, retry schedule,
final failure, redelivery, URL checks and the subscription API."""

import json
import socket
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from oms_project.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms_project.outbox import outbox_dispatch, outbox_emit
from oms_project.webhook_signing import SignatureError, signature_header, signature_verify
from oms_project.webhooks import (
    MAX_ATTEMPTS,
    retry_delay,
    webhook_deliver,
    webhook_redeliver,
    webhook_subscription_create,
    webhook_url_errors,
)
from tests.oms_project.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def internal_urls(settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True


@pytest.fixture
def receiver(internal_urls):
    with Receiver() as running:
        yield running


@pytest.fixture
def public_dns(monkeypatch):
    """Resolve test host names without the network: *.example.com is public, *.lan private."""

    def fake_getaddrinfo(host, *args, **kwargs):
        address = {"hooks.example.com": "93.184.216.34", "erp.lan": "192.168.1.10"}.get(host)
        if address is None:
            raise socket.gaierror("unknown host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


def subscribe(url: str, events=("order.*",)) -> WebhookSubscription:
    return webhook_subscription_create(name="ERP", url=url, events=list(events), secret=SECRET)


def emit_and_dispatch(django_capture_on_commit_callbacks, topic="order.created") -> OutboxEvent:
    with django_capture_on_commit_callbacks(execute=True):
        event = outbox_emit(topic=topic, payload={"number": "W1", "total": "10.00"})
    with django_capture_on_commit_callbacks(execute=True):
        outbox_dispatch(event_pk=event.pk)
    return event


def answering(*responses):
    """A mock transport answering with the given statuses (or raising given exceptions)."""
    remaining = list(responses)

    def handle(request):
        answer = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, text=f"answer {answer}")

    return httpx.MockTransport(handle)


def test_event_is_delivered_signed_with_its_id(receiver, django_capture_on_commit_callbacks):
    subscription = subscribe(receiver.url)
    subscribe(receiver.url, events=["inventory.*"])
    event = emit_and_dispatch(django_capture_on_commit_callbacks)
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["x-oms-event-id"] == str(event.event_id)
    assert headers["x-oms-event-topic"] == "order.created"
    assert signature_verify(secret=SECRET, header=headers["x-oms-signature"], body=request["body"])
    document = json.loads(request["body"])
    assert document == {
        "id": str(event.event_id),
        "topic": "order.created",
        "created_at": event.created_at.isoformat(),
        "data": {"number": "W1", "total": "10.00"},
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription_id, delivery.status, delivery.attempts) == (
        subscription.pk, "succeeded", 1
    )
    attempt = delivery.attempt_log.get()
    assert (attempt.response_code, attempt.response_excerpt, attempt.outcome) == (
        200, "ok", "succeeded"
    )
    assert attempt.duration_ms >= 0


def test_dispatching_twice_delivers_once(receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url)
    event = emit_and_dispatch(django_capture_on_commit_callbacks)
    assert outbox_dispatch(event_pk=event.pk) is False
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1


def test_server_errors_and_429_are_retried_with_backoff(receiver):
    receiver.answers = [(503, "busy"), (429, "slow down"), (204, "")]
    subscribe(receiver.url)
    event = outbox_emit(topic="order.paid", payload={})
    outbox_dispatch(event_pk=event.pk)
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()
    assert webhook_deliver(delivery_pk=delivery.pk, now=start) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == start + timedelta(minutes=1)
    assert webhook_deliver(delivery_pk=delivery.pk, now=start) == "skipped"
    second = start + timedelta(minutes=1)
    assert webhook_deliver(delivery_pk=delivery.pk, now=second) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + timedelta(minutes=3)
    assert webhook_deliver(delivery_pk=delivery.pk, now=second + timedelta(minutes=3)) == (
        "succeeded"
    )
    log = list(delivery.attempt_log.values_list("number", "response_code", "outcome"))
    assert log == [(1, 503, "retry"), (2, 429, "retry"), (3, 204, "succeeded")]
    assert WebhookAttempt.objects.get(number=1).response_excerpt == "busy"


def test_other_client_errors_fail_at_once(receiver):
    receiver.answers = [(410, "gone")]
    subscribe(receiver.url)
    outbox_dispatch(event_pk=outbox_emit(topic="order.paid", payload={}).pk)
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery_pk=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_response_code, delivery.last_error) == (
        "failed", 410, "HTTP 410"
    )
    assert delivery.next_attempt_at is None


def test_retry_schedule_spans_about_a_day_then_fails(internal_urls):
    subscribe("http://127.0.0.1:9/hooks")
    outbox_dispatch(event_pk=outbox_emit(topic="order.paid", payload={}).pk)
    delivery = WebhookDelivery.objects.get()
    transport = answering(httpx.ReadTimeout("read timed out"))
    now = timezone.now()
    first = now
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcomes.append(webhook_deliver(delivery_pk=delivery.pk, transport=transport, now=now))
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        now = delivery.next_attempt_at
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    waits = [retry_delay(number).total_seconds() / 60 for number in range(1, MAX_ATTEMPTS)]
    assert waits == [1, 3, 9, 27, 81, 243, 360, 360, 360]
    assert timedelta(hours=23) < now - first < timedelta(hours=25)
    assert delivery.status == "failed"
    assert delivery.attempt_log.count() == MAX_ATTEMPTS
    assert delivery.attempt_log.last().error == "Timed out after 10 s in all (read timed out)."


def test_connection_errors_are_retried(internal_urls):
    subscribe("http://127.0.0.1:9/hooks")
    outbox_dispatch(event_pk=outbox_emit(topic="order.paid", payload={}).pk)
    delivery = WebhookDelivery.objects.get()
    transport = answering(httpx.ConnectError("connection refused"))
    assert webhook_deliver(delivery_pk=delivery.pk, transport=transport) == "retry"
    assert delivery.attempt_log.get().error == "ConnectError: connection refused"


def test_redelivery_after_failure(receiver, django_capture_on_commit_callbacks):
    receiver.answers = [(400, "bad"), (200, "thanks")]
    subscribe(receiver.url)
    emit_and_dispatch(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        webhook_redeliver(delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    assert list(delivery.attempt_log.values_list("number", "response_code")) == [
        (1, 400), (2, 200)
    ]
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["X-OMS-Event-Id"] == (
        receiver.requests[1]["headers"]["X-OMS-Event-Id"]
    )


def test_redelivering_while_an_attempt_is_in_flight_posts_it_once(internal_urls, monkeypatch):
    """A redelivery clicked while the delivery is being posted leaves that attempt's lease, so
    a second worker cannot post the same delivery at the same time."""
    import oms_project.webhooks as webhooks

    subscribe("http://127.0.0.1:9/hook")
    outbox_dispatch(event_pk=outbox_emit(topic="order.created", payload={"number": "W1"}).pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    posts, second_worker = [], []

    def slow_receiver(*args):
        posts.append(args[0])
        if len(posts) == 1:
            webhook_redeliver(delivery=delivery)  # clicked while this attempt is in flight
            second_worker.append(webhook_deliver(delivery_pk=delivery.pk))
        return 200, "thanks", ""

    monkeypatch.setattr(webhooks, "_post", slow_receiver)

    assert webhook_deliver(delivery_pk=delivery.pk) == "succeeded"
    assert (len(posts), second_worker) == (1, ["skipped"])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_started_at) == ("succeeded", None)
    # Once no attempt is in flight, a redelivery sends it again.
    webhook_redeliver(delivery=delivery)
    assert webhook_deliver(delivery_pk=delivery.pk) == "succeeded"
    assert len(posts) == 2


def test_inactive_subscription_gets_nothing(receiver, django_capture_on_commit_callbacks):
    subscription = subscribe(receiver.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    emit_and_dispatch(django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


def test_signature_verification_refuses_tampering_and_stale_timestamps():
    body = b'{"id":"1"}'
    header = signature_header(secret=SECRET, body=body, timestamp=1_700_000_000)
    assert signature_verify(secret=SECRET, header=header, body=body, now=1_700_000_100) == (
        1_700_000_000
    )
    with pytest.raises(SignatureError, match="does not match"):
        signature_verify(secret=SECRET, header=header, body=b'{"id":"2"}', now=1_700_000_100)
    with pytest.raises(SignatureError, match="does not match"):
        signature_verify(secret="other-secret", header=header, body=body, now=1_700_000_100)
    with pytest.raises(SignatureError, match="tolerance"):
        signature_verify(secret=SECRET, header=header, body=body, now=1_700_001_000)
    with pytest.raises(SignatureError, match="timestamp"):
        signature_verify(secret=SECRET, header="v1=abc", body=body)
    expected = "t=1700000000,v1=" + __import__("hmac").new(
        SECRET.encode(), b"1700000000." + body, "sha256"
    ).hexdigest()
    assert header == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://hooks.example.com/in", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("http://localhost:8000/api/v1/", "is this OMS"),
        ("http://testserver/hook", "is this OMS"),
        ("http://127.0.0.1:9000/hook", "is this OMS"),
        ("http://127.0.0.2:9000/hook", "internal address"),
        ("http://10.1.2.3/hook", "internal address"),
        ("http://169.254.169.254/latest/meta-data", "internal address"),
        ("http://[::1]/hook", "internal address"),
        ("https://erp.lan/hook", "internal address (192.168.1.10)"),
        ("https://nowhere.invalid/hook", "does not resolve"),
        ("https://[::1/", "malformed"),
        ("https://hooks.example.com:99999/", "malformed"),
        ("https://hooks.example.com:abc/", "malformed"),
        ("http://hooks.example.com:0/", "Port 0"),
        ("https://hooks.example.com/a b", "spaces"),
    ],
)
def test_refused_urls(public_dns, url, problem):
    [error] = webhook_url_errors(url)
    assert problem in error


def test_public_https_url_is_accepted(public_dns):
    assert webhook_url_errors("https://hooks.example.com/oms") == []


# --- API ------------------------------------------------------------------------------------


def test_subscription_api_creates_shows_secret_once_and_refuses_bad_urls(
    make_client, public_dns
):
    client = make_client(scopes=["webhooks:write"])
    created = client.post(
        "/api/v1/webhooks/subscriptions/",
        {"name": "ERP", "url": "https://hooks.example.com/oms", "events": ["order.*"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert len(created.json()["secret"]) >= 32
    listed = client.get("/api/v1/webhooks/subscriptions/").json()
    assert "secret" not in listed[0]
    refused = client.post(
        "/api/v1/webhooks/subscriptions/",
        {"name": "Loop", "url": "http://127.0.0.1:8000/api/v1/orders/", "events": ["order.*"]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error"
    assert list(refused.json()["errors"]) == ["url"]
    not_http = client.post(
        "/api/v1/webhooks/subscriptions/",
        {"name": "F", "url": "file:///etc/passwd", "events": ["bogus.topic"]},
        format="json",
    )
    assert sorted(not_http.json()["errors"]) == ["events", "url"]
    assert WebhookSubscription.objects.count() == 1
    subscription_id = created.json()["id"]
    patched = client.patch(
        f"/api/v1/webhooks/subscriptions/{subscription_id}/",
        {"url": "http://localhost/hook"},
        format="json",
    )
    assert patched.status_code == 400
    assert WebhookSubscription.objects.get().url == "https://hooks.example.com/oms"
    off = client.patch(
        f"/api/v1/webhooks/subscriptions/{subscription_id}/", {"is_active": False}, format="json"
    )
    assert off.json()["is_active"] is False


def test_subscription_api_needs_the_webhooks_scope(make_client, channel):
    assert make_client(scopes=["orders:read"]).get(
        "/api/v1/webhooks/subscriptions/"
    ).status_code == 403
    assert make_client(channel=channel).get(
        "/api/v1/webhooks/subscriptions/"
    ).status_code == 403


def test_deliveries_api_lists_attempts_and_redelivers(
    make_client, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [(500, "oops")]
    subscribe(receiver.url)
    event = emit_and_dispatch(django_capture_on_commit_callbacks)
    client = make_client(scopes=["webhooks:write"])
    listed = client.get(f"/api/v1/webhooks/deliveries/?event_id={event.event_id}").json()
    [delivery] = listed["results"]
    assert delivery["status"] == "pending"
    assert delivery["attempt_log"][0]["response_code"] == 500
    assert delivery["attempt_log"][0]["response_excerpt"] == "oops"
    receiver.answers = [(200, "ok")]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver/")
    assert response.status_code == 202
    assert WebhookDelivery.objects.get().status == "succeeded"


def delivery_state():
    return list(
        WebhookDelivery.objects.values_list("pk", "status", "attempts", "next_attempt_at")
    ), WebhookAttempt.objects.count(), list(
        WebhookSubscription.objects.values_list("pk", "name", "url", "is_active")
    )


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/webhooks/subscriptions/",
         {"name": "ERP 2", "url": "http://127.0.0.1:9/hook", "events": ["order.*"]}),
        ("patch", "/api/v1/webhooks/subscriptions/{subscription}/", {"name": "Renamed"}),
        ("post", "/api/v1/webhooks/deliveries/{delivery}/redeliver/", {}),
    ],
    ids=["subscription-create", "subscription-update", "delivery-redeliver"],
)
def test_webhook_actions_refuse_unknown_fields_and_change_nothing(
    make_client, internal_urls, django_capture_on_commit_callbacks, method, url, body
):
    subscription = subscribe("http://127.0.0.1:9/hook")
    emit_and_dispatch(django_capture_on_commit_callbacks)  # nothing listens: it will retry
    delivery = WebhookDelivery.objects.get()
    client = make_client(scopes=["webhooks:write"])
    before = delivery_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = getattr(client, method)(
            url.format(subscription=subscription.pk, delivery=delivery.pk),
            {**body, "x": 1}, format="json",
        )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {"x": ["Unknown field."]}
    assert callbacks == []
    assert delivery_state() == before


def test_attempts_count_across_redeliveries(
    make_client, receiver, django_capture_on_commit_callbacks
):
    """`attempts` counts against the retry budget and restarts at redelivery;
    `attempts_total` is every attempt ever made (the length of the attempt log)."""
    receiver.answers = [(400, "bad"), (410, "gone"), (200, "thanks")]
    subscribe(receiver.url)
    emit_and_dispatch(django_capture_on_commit_callbacks)
    client = make_client(scopes=["webhooks:write"])
    url = f"/api/v1/webhooks/deliveries/{WebhookDelivery.objects.get().pk}/"

    def counts(body):
        return (body["status"], body["attempts_total"], body["attempts"],
                len(body["attempt_log"]))

    assert counts(client.get(url).json()) == ("failed", 1, 1, 1)
    with django_capture_on_commit_callbacks(execute=False):
        queued = client.post(f"{url}redeliver/")
    assert queued.status_code == 202
    assert counts(queued.json()) == ("pending", 1, 0, 1)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"{url}redeliver/")
    assert counts(client.get(url).json()) == ("succeeded", 3, 1, 3)
    assert [row["number"] for row in client.get(url).json()["attempt_log"]] == [1, 2, 3]
