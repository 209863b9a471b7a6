"""A webhook attempt's deadline covers the host's name lookup (a slow resolver held an
attempt for as long as it took, past the claim lease; found reviewing the deadline work)."""

import socket
import time

import pytest

from oms_project.models import OutboxEvent, WebhookDelivery
from oms_project.webhook_transport import ResolveTimeout, resolve
from oms_project.webhooks import webhook_deliver, webhook_fan_out, webhook_subscription_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_resolver(monkeypatch):
    delay = {"seconds": 0.0}

    def answer(host, *args, **kwargs):  # a public address, after `delay`
        time.sleep(delay["seconds"])
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", answer)
    return delay


def test_a_lookup_slower_than_its_timeout_is_given_up(slow_resolver):
    slow_resolver["seconds"] = 2
    started = time.monotonic()
    with pytest.raises(ResolveTimeout):
        resolve("hooks.example.com", timeout=0.3)
    assert time.monotonic() - started < 1
    slow_resolver["seconds"] = 0
    assert resolve("hooks.example.com", timeout=1) == ["93.184.216.34"]


def test_a_slow_name_lookup_cannot_hold_an_attempt_past_its_deadline(settings, slow_resolver):
    settings.OMS_WEBHOOK_TIMEOUT_SECONDS = 1
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = False
    webhook_subscription_create(name="erp", url="https://hooks.example.com/oms", events=["*"])
    webhook_fan_out(OutboxEvent.objects.create(topic="order.created", payload={"n": 1}))
    delivery = WebhookDelivery.objects.get()
    slow_resolver["seconds"] = 3
    started = time.monotonic()
    webhook_deliver(delivery_pk=delivery.pk)
    assert time.monotonic() - started < 2
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING  # a timeout: retried later
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("Timed out"), delivery.last_error
