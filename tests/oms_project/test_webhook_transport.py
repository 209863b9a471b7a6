"""Webhook connections go only to the public address that was checked (DNS rebinding)."""

import socket

import httpcore
import pytest

from oms_project.models import WebhookAttempt, WebhookDelivery
from oms_project.outbox import outbox_dispatch, outbox_emit
from oms_project.webhook_transport import PublicOnlyBackend, is_internal_address
from oms_project.webhooks import webhook_deliver, webhook_subscription_create


class FlippingDns:
    """Answers a public address the first `public_answers` times, then a private one."""

    def __init__(self, public_answers: int):
        self.public_answers = public_answers
        self.calls = 0

    def __call__(self, host, *args, **kwargs):
        self.calls += 1
        address = "93.184.216.34" if self.calls <= self.public_answers else "10.0.0.5"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]


@pytest.fixture
def connections(monkeypatch):
    """Record where real connections would go, and make none."""
    opened = []

    def fake_connect(self, host, port, **kwargs):
        opened.append((host, port))
        raise httpcore.ConnectError("no network in tests")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fake_connect)
    return opened


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("::ffff:127.0.0.1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_internal_addresses_are_recognised(address, internal):
    assert is_internal_address(address) is internal


def test_backend_connects_to_the_checked_address_not_the_name(monkeypatch, connections):
    monkeypatch.setattr(socket, "getaddrinfo", FlippingDns(public_answers=1))
    with pytest.raises(httpcore.ConnectError, match="no network"):
        PublicOnlyBackend().connect_tcp("hooks.example.com", 443)
    assert connections == [("93.184.216.34", 443)]


def test_backend_refuses_a_name_that_now_points_inside(monkeypatch, connections):
    monkeypatch.setattr(socket, "getaddrinfo", FlippingDns(public_answers=0))
    with pytest.raises(httpcore.ConnectError, match="internal address"):
        PublicOnlyBackend().connect_tcp("hooks.example.com", 443)
    assert connections == []


def test_backend_refuses_literal_internal_addresses(connections):
    with pytest.raises(httpcore.ConnectError, match="internal address"):
        PublicOnlyBackend().connect_tcp("127.0.0.1", 8000)
    assert connections == []


@pytest.mark.django_db
def test_delivery_refuses_a_host_rebound_after_the_url_check(monkeypatch, connections, settings):
    """The URL check when the subscription is saved sees a public address; the attempt's
    connection then sees a private one and is refused: nothing is sent and the attempt says
    why (the attempt resolves the host once, in its transport)."""
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = False
    settings.ALLOWED_HOSTS = ["oms.example.org"]
    dns = FlippingDns(public_answers=1)  # saving the subscription
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    webhook_subscription_create(
        name="ERP", url="https://hooks.example.com/in", events=["order.*"], secret="x" * 20
    )
    event = outbox_emit(topic="order.created", payload={"number": "W1"})
    outbox_dispatch(event_pk=event.pk)
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery_pk=delivery.pk) == WebhookAttempt.Outcome.RETRY
    assert connections == []
    attempt = delivery.attempt_log.get()
    assert "internal address (10.0.0.5)" in attempt.error
    assert attempt.response_code is None
    assert dns.calls == 2


@pytest.mark.django_db
def test_delivery_ignores_proxies_from_the_environment(monkeypatch, connections, settings):
    """A proxy would make the connection to an address nobody checked."""
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = False
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setattr(socket, "getaddrinfo", FlippingDns(public_answers=10))
    webhook_subscription_create(
        name="ERP", url="https://hooks.example.com/in", events=["order.*"], secret="x" * 20
    )
    event = outbox_emit(topic="order.created", payload={"number": "W1"})
    outbox_dispatch(event_pk=event.pk)
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery_pk=delivery.pk) == WebhookAttempt.Outcome.RETRY
    assert connections == [("93.184.216.34", 443)]


def test_backend_tries_each_public_address_in_the_resolvers_order(monkeypatch):
    def dual_stack(host, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800:220:1::1", 0, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0)),
        ]

    tried = []

    def fake_connect(self, host, port, **kwargs):
        tried.append(host)
        if host == "93.184.216.34":
            raise httpcore.ConnectError("unreachable")
        return "stream"

    monkeypatch.setattr(socket, "getaddrinfo", dual_stack)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fake_connect)
    assert PublicOnlyBackend().connect_tcp("hooks.example.com", 443) == "stream"
    assert tried == ["93.184.216.34", "2606:2800:220:1::1"]
