"""Each webhook attempt has a deadline for the whole exchange, and its outcome is always
logged: a trickling receiver, the task's time limit, 408/425 and redirects."""

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from celery.exceptions import SoftTimeLimitExceeded

from oms_project.models import OutboxEvent, WebhookDelivery
from oms_project.webhooks import (
    retry_delay,
    webhook_deliver,
    webhook_fan_out,
    webhook_subscription_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    settings.OMS_WEBHOOK_TIMEOUT_SECONDS = 1

    def make(url: str = "http://127.0.0.1:9/hook") -> WebhookDelivery:
        webhook_subscription_create(name="erp", url=url, events=["*"])
        webhook_fan_out(OutboxEvent.objects.create(topic="order.created", payload={"n": 1}))
        return WebhookDelivery.objects.get()

    return make


@contextmanager
def trickling_server(*, in_headers: bool):
    """A receiver that answers a byte a second, in its status line and headers or, after
    them, in its body, for ten seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(5)
            connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
            if not in_headers:
                connection.sendall(head)
            for byte in (head if in_headers else b"0123456789"):
                if stop.wait(1):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_trickling_answer_is_cut_at_the_deadline_logged_and_retried(delivery, in_headers):
    with trickling_server(in_headers=in_headers) as url:
        pending = delivery(url)
        started = time.monotonic()
        outcome = webhook_deliver(delivery_pk=pending.pk)
        took = time.monotonic() - started
    assert outcome == "retry"
    assert took < 3, f"the attempt took {took:.1f} s for a 1 s deadline"
    pending.refresh_from_db()
    assert pending.attempts == 1
    assert pending.status == "pending"
    assert pending.attempt_log.get().error.startswith("Timed out after 1 s in all")
    assert pending.next_attempt_at == pending.attempt_log.get().started_at + retry_delay(1)


def test_attempt_cut_by_task_time_limit_is_counted_and_logged(delivery):
    pending = delivery()

    def cut_off(request):
        raise SoftTimeLimitExceeded()

    with pytest.raises(SoftTimeLimitExceeded):
        webhook_deliver(delivery_pk=pending.pk, transport=httpx.MockTransport(cut_off))
    pending.refresh_from_db()
    assert pending.attempt_log.count() == 1
    assert pending.attempts == 1
    assert pending.status == "pending"
    attempt = pending.attempt_log.get()
    assert attempt.error == "Timed out: cut off by the task's time limit."
    assert pending.next_attempt_at == attempt.started_at + retry_delay(1)


@pytest.mark.parametrize("code", [408, 425, 429, 503])
def test_answers_asking_to_try_later_are_retried(delivery, code):
    pending = delivery()
    outcome = webhook_deliver(
        delivery_pk=pending.pk, transport=httpx.MockTransport(lambda request: httpx.Response(code))
    )
    assert outcome == "retry"
    pending.refresh_from_db()
    assert (pending.status, pending.last_error) == ("pending", f"HTTP {code}")


def test_a_redirect_is_not_followed_and_fails_saying_where_it_pointed(delivery):
    pending = delivery()
    seen = []

    def moved(request):
        seen.append(str(request.url))
        return httpx.Response(301, headers={"Location": "https://elsewhere.example/hook"})

    outcome = webhook_deliver(delivery_pk=pending.pk, transport=httpx.MockTransport(moved))
    assert outcome == "failed"
    assert seen == ["http://127.0.0.1:9/hook"]
    pending.refresh_from_db()
    assert pending.last_error == (
        "HTTP 301: redirect to https://elsewhere.example/hook not followed."
    )
