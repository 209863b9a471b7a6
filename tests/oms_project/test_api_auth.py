"""API-key authentication, scopes and channel confinement."""

import pytest

from orders.services import api_key_revoke
from tests.factories import OrderFactory, SalesChannelFactory

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
