"""Webhook subscriptions in the admin: messages and history name what was saved."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from oms_project.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def message_texts(response) -> list[str]:
    """The messages as read, without the link the admin puts around an object's name."""
    return [
        re.sub(r"<a [^>]*>|</a>", "", str(message))
        for message in get_messages(response.wsgi_request)
    ]


@pytest.fixture(autouse=True)
def internal_urls_allowed(settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True


def test_adding_a_subscription_names_it(admin_client):
    response = admin_client.post(
        reverse("admin:oms_project_webhooksubscription_add"),
        {"name": "local", "url": "http://10.0.0.8/hooks", "events": "order.*", "is_active": "on"},
    )
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert any(
        "The webhook subscription “local (http://10.0.0.8/hooks)” was added" in text
        for text in message_texts(response)
    ), message_texts(response)
    entry = LogEntry.objects.get()
    assert (entry.object_repr, entry.object_id) == (
        "local (http://10.0.0.8/hooks)", str(subscription.pk)
    )


def test_renaming_a_subscription_reports_the_new_name(admin_client):
    subscription = WebhookSubscription.objects.create(
        name="local", url="http://10.0.0.8/hooks", events=["order.*"], secret="s" * 32
    )
    response = admin_client.post(
        reverse("admin:oms_project_webhooksubscription_change", args=[subscription.pk]),
        {"name": "local2", "url": "http://10.0.0.8/hooks", "events": "order.*",
         "is_active": "on"},
    )
    assert response.status_code == 302
    texts = message_texts(response)
    assert any("“local2 (http://10.0.0.8/hooks)” was changed" in text for text in texts), texts
    assert LogEntry.objects.get().object_repr == "local2 (http://10.0.0.8/hooks)"
    subscription.refresh_from_db()
    assert (subscription.name, subscription.secret) == ("local2", "s" * 32)
