"""Shared fixtures: API clients authenticated by key, channels, and database selection."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orders.services import api_key_create
from tests.factories import SalesChannelFactory, WarehouseFactory


def pytest_configure(config):
    # Password hashing is deliberately slow; tests that log in need no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite cannot race")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def channel(db):
    channel = SalesChannelFactory(code="web", name="Web shop")
    channel.warehouses.add(WarehouseFactory(code="MAIN", priority=10))
    return channel


@pytest.fixture
def make_client(db):
    """Build an APIClient carrying a fresh key: `make_client(channel=..., scopes=[...])`."""

    def build(*, channel=None, scopes=None, name="test key"):
        api_key, raw = api_key_create(name=name, channel=channel, scopes=scopes or [])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.api_key = api_key
        client.raw_key = raw
        return client

    return build


@pytest.fixture
def channel_client(make_client, channel):
    return make_client(channel=channel)


@pytest.fixture
def staff_client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture(autouse=True)
def fresh_routing_config():
    """Each test routes with its own locations and rules: no copy kept from an earlier test
    (whose rows were rolled back and whose ids may be reused)."""
    from orders.services.routing_config import routing_config_forget

    routing_config_forget()
    yield
    routing_config_forget()


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Render `{% static %}` without a collected manifest: tests never run collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def published(monkeypatch):
    """The after-commit hand-offs (`deliver_task` messages) as (event pks, e-mail pks)."""
    from oms_project import tasks

    sent = []
    monkeypatch.setattr(
        tasks.deliver_task,
        "delay",
        lambda event_pks, email_pks: sent.append((list(event_pks), list(email_pks))),
    )
    return sent
