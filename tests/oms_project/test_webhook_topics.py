"""Webhook subscriptions list only topics the OMS emits: `webhooks.TOPICS` is the one list."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from oms_project.errors import ValidationFailed
from oms_project.models import WebhookSubscription
from oms_project.webhooks import (
    TOPIC_PATTERNS,
    TOPICS,
    webhook_subscription_create,
    webhook_topic_errors,
)
from orders.models import Shipment
from tests.oms_project.test_events_doc import emitted_topics
from tests.oms_project.test_webhooks import public_dns  # noqa: F401  (fixture)

URL = "/api/v1/webhooks/subscriptions/"
# `return.<verb>` topics emitted by `returns.services.requests._end(..., "<verb>")`.
RETURN_END_VERB = re.compile(r"""_end\([^()]*["']([a-z_]+)["']\)""")
RETURN_EMIT = re.compile(r"""_emit\(\w+, ["']([a-z_]+\.[a-z_]+)["']\)""")


def return_topics() -> set[str]:
    source = (Path(settings.BASE_DIR) / "returns" / "services" / "requests.py").read_text()
    return {f"return.{verb}" for verb in RETURN_END_VERB.findall(source)} | set(
        RETURN_EMIT.findall(source)
    )


def test_every_topic_the_code_emits_is_a_known_topic():
    emitted = emitted_topics() | return_topics()
    emitted |= {f"shipment.{status}" for status in Shipment.Status.values}
    assert {"return.approved", "return.closed", "shipment.in_transit"} <= emitted  # scans work
    assert emitted - TOPICS == set(), "the code emits a topic nobody can subscribe to by name"


def test_every_known_topic_is_documented():
    doc = (Path(settings.BASE_DIR) / "docs" / "events.md").read_text()
    undocumented = {
        topic for topic in TOPICS
        if f"`{topic}`" not in doc and f"`{topic.split('.')[0]}.*`" not in doc
    }
    assert undocumented == set()


@pytest.mark.parametrize(
    "topic", ["*", "order.*", "shipment.*", "inventory.*", "return.*", "refund.*",
              "order.paid", "refund.completed", "inventory.low_stock", "shipment.delivered",
              "return.closed"],
)
def test_topics_families_and_the_wildcard_are_accepted(topic):
    assert topic in TOPIC_PATTERNS
    assert webhook_topic_errors([topic]) == []


@pytest.mark.parametrize(
    ("topic", "suggestion"),
    [("order.payed", "order.paid"), ("refund.complete", "refund.completed"),
     ("inventory.lowstock", "inventory.low_stock"), ("order.paid.*", "order.paid"),
     ("*order", "order.*")],
)
def test_a_misspelt_topic_is_named_with_the_closest_valid_one(topic, suggestion):
    [message] = webhook_topic_errors(["order.*", topic])
    assert message.startswith(f"Unknown topic(s): {topic} (did you mean {suggestion}?). Valid: *,")
    assert "order.created, order.delivered, order.paid" in message


def test_unknown_families_and_non_strings_are_refused():
    assert webhook_topic_errors(["invoice.*"])[0].startswith("Unknown topic(s): invoice.*")
    assert webhook_topic_errors([7])[0].startswith("Unknown topic(s): 7.")
    assert webhook_topic_errors([]) == ["List at least one topic, e.g. ['order.*']."]


@pytest.mark.django_db
def test_the_service_refuses_a_misspelt_topic(settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    with pytest.raises(ValidationFailed) as raised:
        webhook_subscription_create(name="ERP", url="http://10.0.0.8/hooks", events=["order.payed"])
    assert raised.value.errors["events"][0].startswith("Unknown topic(s): order.payed")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_the_api_names_the_unknown_topic(make_client, public_dns):  # noqa: F811
    client = make_client(scopes=["webhooks:write"])
    response = client.post(
        URL, {"name": "ERP", "url": "https://hooks.example.com/oms",
              "events": ["order.paid", "order.payed"]},
        format="json",
    )
    assert response.status_code == 400
    [message] = response.json()["errors"]["events"]
    assert message.startswith("Unknown topic(s): order.payed (did you mean order.paid?).")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_patching_other_fields_keeps_working(make_client, public_dns):  # noqa: F811
    client = make_client(scopes=["webhooks:write"])
    created = client.post(
        URL, {"name": "ERP", "url": "https://hooks.example.com/oms",
              "events": ["shipment.*", "refund.completed"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    renamed = client.patch(f"{URL}{created.json()['id']}/", {"name": "ERP 2"}, format="json")
    assert renamed.status_code == 200
    assert WebhookSubscription.objects.get().events == ["shipment.*", "refund.completed"]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_misspelt_topic(admin_client, settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    response = admin_client.post(
        reverse("admin:oms_project_webhooksubscription_add"),
        {"name": "ERP", "url": "http://10.0.0.8/hooks", "events": "order.paid, order.payed",
         "is_active": "on"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["events"]
    assert errors["events"][0].startswith("Unknown topic(s): order.payed (did you mean")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_the_admin_form_refuses_changing_to_a_misspelt_topic(admin_client, settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    subscription = WebhookSubscription.objects.create(
        name="ERP", url="http://10.0.0.8/hooks", events=["order.paid"], secret="s" * 32
    )
    response = admin_client.post(
        reverse("admin:oms_project_webhooksubscription_change", args=[subscription.pk]),
        {"name": "ERP", "url": "http://10.0.0.8/hooks", "events": "refund.complete",
         "is_active": "on"},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["events"]
    subscription.refresh_from_db()
    assert subscription.events == ["order.paid"]
