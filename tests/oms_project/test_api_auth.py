"""API-key authentication, scopes and channel confinement."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer, CustomerChannel
from inventory.models import Product
from orders.models import ApiKey
from orders.services import api_key_revoke
from tests.factories import CustomerFactory, OrderFactory, SalesChannelFactory
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code


def test_missing_key_is_401_problem(client):
    assert_problem(client.get("/api/v1/orders/"), 401, "not_authenticated")


def test_wrong_key_is_401_problem(client):
    response = client.get("/api/v1/orders/", HTTP_AUTHORIZATION="Bearer oms_nope_nope")
    assert_problem(response, 401, "authentication_failed")


def test_revoked_key_is_401_problem(channel_client):
    assert channel_client.get("/api/v1/orders/").status_code == 200
    api_key_revoke(api_key=channel_client.api_key)
    assert_problem(channel_client.get("/api/v1/orders/"), 401, "authentication_failed")


def test_channel_key_cannot_read_other_channels_order(channel_client):
    other = OrderFactory(channel=SalesChannelFactory(code="market"))
    assert_problem(channel_client.get(f"/api/v1/orders/{other.number}/"), 404, "not_found")


def test_integration_key_without_scope_is_403(make_client):
    client = make_client(scopes=["inventory:read"])
    assert_problem(client.get("/api/v1/orders/"), 403, "permission_denied")
    assert client.get("/api/v1/stock-levels/").status_code == 200


# --- every way a key can be wrong ----------------------------------------------------------


def assert_unauthenticated(response, code: str) -> None:
    assert_problem(response, 401, code)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer", "authentication_failed"),
        ("Bearer two parts", "authentication_failed"),
        ("Bearer oms_deadbeef_notarealkey", "authentication_failed"),
        ("Bearer " + "x" * 5000, "authentication_failed"),
        ("Basic dXNlcjpwYXNz", "not_authenticated"),
        ("Token oms_abc", "not_authenticated"),
        ("", "not_authenticated"),
    ],
)
def test_missing_wrong_or_malformed_key_is_401_with_challenge(client, header, code):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    for url in ("/api/v1/orders/", "/api/v1/warehouses/", "/api/v1/customers/"):
        assert_unauthenticated(client.get(url, **extra), code)


def test_key_with_non_ascii_bytes_is_401(client):
    response = client.get("/api/v1/orders/", HTTP_AUTHORIZATION="Bearer clé-ünïcode")
    assert_unauthenticated(response, "authentication_failed")


def test_bearer_keyword_is_case_insensitive(channel_client):
    response = channel_client.get(
        "/api/v1/orders/", HTTP_AUTHORIZATION=f"bearer {channel_client.raw_key}"
    )
    assert response.status_code == 200


def test_revoked_key_is_401_with_challenge_and_writes_nothing(channel_client):
    api_key_revoke(api_key=channel_client.api_key)
    response = channel_client.post(
        "/api/v1/customers/", {"email": "late@example.com"}, format="json"
    )
    assert_unauthenticated(response, "authentication_failed")
    assert response.json()["detail"] == "This API key has been revoked."
    assert not Customer.objects.exists()


def test_deactivated_key_is_401(channel_client):
    ApiKey.objects.filter(pk=channel_client.api_key.pk).update(is_active=False)
    assert_unauthenticated(channel_client.get("/api/v1/orders/"), "authentication_failed")


def test_key_of_an_inactive_channel_is_401(channel_client, channel):
    channel.is_active = False
    channel.save(update_fields=["is_active"])
    response = channel_client.get("/api/v1/orders/")
    assert_unauthenticated(response, "authentication_failed")
    assert "inactive" in response.json()["detail"]


def test_only_the_hash_of_a_key_is_stored(channel_client):
    api_key = ApiKey.objects.get(pk=channel_client.api_key.pk)
    assert channel_client.raw_key not in (api_key.hashed_key, api_key.prefix, api_key.name)
    assert api_key.hashed_key == hashlib.sha256(channel_client.raw_key.encode()).hexdigest()
    assert channel_client.raw_key.startswith(f"oms_{api_key.prefix}_")


def test_last_used_at_is_recorded_at_most_once_a_minute(channel_client):
    assert ApiKey.objects.get(pk=channel_client.api_key.pk).last_used_at is None
    channel_client.get("/api/v1/orders/")
    first = ApiKey.objects.get(pk=channel_client.api_key.pk).last_used_at
    assert first is not None
    assert timezone.now() - first < timedelta(seconds=5)
    channel_client.get("/api/v1/orders/")
    assert ApiKey.objects.get(pk=channel_client.api_key.pk).last_used_at == first
    ApiKey.objects.filter(pk=channel_client.api_key.pk).update(
        last_used_at=first - timedelta(minutes=5)
    )
    channel_client.get("/api/v1/orders/")
    assert ApiKey.objects.get(pk=channel_client.api_key.pk).last_used_at > first


def test_failed_authentication_does_not_touch_last_used(channel_client):
    api_key_revoke(api_key=channel_client.api_key)
    channel_client.get("/api/v1/orders/")
    assert ApiKey.objects.get(pk=channel_client.api_key.pk).last_used_at is None


# --- channel confinement -------------------------------------------------------------------


def test_channel_key_cannot_read_other_channels_customer(channel_client):
    theirs = CustomerFactory(email="theirs@example.com")
    CustomerChannel.objects.create(customer=theirs, channel_code="market")
    assert_problem(channel_client.get(f"/api/v1/customers/{theirs.pk}/"), 404, "not_found")
    assert channel_client.get("/api/v1/customers/").json()["results"] == []


def test_channel_key_cannot_list_other_channels_orders(channel_client, channel):
    OrderFactory(number="MINE", channel=channel)
    OrderFactory(number="THEIRS", channel=SalesChannelFactory(code="market"))
    body = channel_client.get("/api/v1/orders/?channel=market").json()
    assert body["results"] == []
    body = channel_client.get("/api/v1/orders/").json()
    assert [row["number"] for row in body["results"]] == ["MINE"]


# --- scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "url", "status"),
    [
        (["orders:read"], "/api/v1/orders/", 200),
        (["orders:write"], "/api/v1/orders/", 200),
        (["orders:read"], "/api/v1/customers/", 403),
        (["customers:read"], "/api/v1/customers/", 200),
        (["catalog:read"], "/api/v1/products/", 200),
        (["inventory:read"], "/api/v1/products/", 403),
        (["inventory:read"], "/api/v1/stock-levels/", 200),
        (["catalog:write"], "/api/v1/stock-levels/", 403),
        (["warehouses:read"], "/api/v1/warehouses/", 200),
        (["warehouses:read"], "/api/v1/carriers/", 200),
        (["catalog:read"], "/api/v1/warehouses/", 403),
    ],
)
def test_integration_key_reads_by_scope(make_client, scopes, url, status):
    response = make_client(scopes=scopes).get(url)
    assert response.status_code == status, response.content
    if status == 403:
        assert_problem(response, 403, "permission_denied")
        assert response.json()["detail"].endswith(":read'.")


@pytest.mark.parametrize(
    ("scopes", "url", "payload", "status"),
    [
        (["customers:read"], "/api/v1/customers/", {"email": "a@example.com"}, 403),
        (["customers:write"], "/api/v1/customers/", {"email": "a@example.com"}, 201),
        (["catalog:read"], "/api/v1/products/", {"sku": "S1", "name": "Shirt"}, 403),
        (["catalog:write"], "/api/v1/products/", {"sku": "S1", "name": "Shirt"}, 201),
        (["warehouses:read"], "/api/v1/warehouses/",
         {"code": "W1", "name": "W", "country": "US"}, 403),
        (["warehouses:write"], "/api/v1/warehouses/",
         {"code": "W1", "name": "W", "country": "US"}, 201),
    ],
)
def test_writes_need_the_write_scope(make_client, scopes, url, payload, status):
    before = (Customer.objects.count(), Product.objects.count(), Warehouse.objects.count())
    response = make_client(scopes=scopes).post(url, payload, format="json")
    assert response.status_code == status, response.content
    after = (Customer.objects.count(), Product.objects.count(), Warehouse.objects.count())
    if status == 403:
        assert_problem(response, 403, "permission_denied")
        assert response.json()["detail"].endswith(":write'.")
        assert after == before
    else:
        assert sum(after) == sum(before) + 1


# --- staff sessions ------------------------------------------------------------------------


def test_staff_session_reads_and_writes(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/api/v1/orders/").status_code == 200
    response = client.post(
        "/api/v1/warehouses/", {"code": "S1", "name": "Staff", "country": "US"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_staff_session_gets_the_browsable_api(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/v1/warehouses/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_non_staff_session_is_403(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="a-long-password-1")
    client.force_login(user)
    assert_problem(client.get("/api/v1/orders/"), 403, "permission_denied")


def test_staff_session_write_needs_csrf_token(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        "/api/v1/warehouses/", {"code": "S1", "name": "Staff", "country": "US"}, format="json"
    )
    assert_problem(response, 403, "permission_denied")
    assert not Warehouse.objects.exists()
