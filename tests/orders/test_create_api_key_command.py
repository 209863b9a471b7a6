"""`manage.py create_api_key`: prints a working key once; bad input writes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from oms_project.api import KEY_PREFIX, hash_key
from orders.models import ApiKey

pytestmark = pytest.mark.django_db


def create_api_key(*arguments: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_channel_key_is_printed_once_and_only_its_hash_is_stored(channel):
    out, err = create_api_key("--name", "Storefront", "--channel", "web")

    raw_key = out.strip()
    assert out == f"{raw_key}\n"
    assert raw_key.startswith(KEY_PREFIX)
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.channel, api_key.scopes) == ("Storefront", channel, [])
    assert api_key.hashed_key == hash_key(raw_key)
    assert raw_key not in err
    assert err == (f"Created API key 'Storefront' (prefix {api_key.prefix}). "
                   "Store it now; it is not shown again.\n")


def test_printed_channel_key_lists_the_channels_orders(channel):
    out, _ = create_api_key("--name", "Storefront", "--channel", "web")

    response = client_for(out.strip()).get("/api/v1/orders/")

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert ApiKey.objects.get().last_used_at is not None


def test_printed_integration_key_has_its_scopes(db):
    out, _ = create_api_key("--name", "ERP", "--scopes", "orders:read, inventory:write")

    api_key = ApiKey.objects.get()
    assert (api_key.channel, api_key.scopes) == (None, ["inventory:write", "orders:read"])
    client = client_for(out.strip())
    assert client.get("/api/v1/orders/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 403


def test_unknown_channel_is_refused_and_nothing_is_written(channel):
    with pytest.raises(CommandError) as error:
        create_api_key("--name", "Storefront", "--channel", "nope")

    assert str(error.value) == "Unknown channel 'nope'. Known channels: web."
    assert ApiKey.objects.count() == 0


def test_unknown_scope_is_refused_and_nothing_is_written(db):
    with pytest.raises(CommandError) as error:
        create_api_key("--name", "ERP", "--scopes", "orders:read,orders:delete")

    assert str(error.value).startswith("Unknown scopes: orders:delete. Known: ")
    assert "orders:read" in str(error.value)
    assert ApiKey.objects.count() == 0


def test_integration_key_without_scopes_is_refused(db):
    with pytest.raises(CommandError) as error:
        create_api_key("--name", "ERP")

    assert str(error.value) == "An integration key (no channel) needs at least one scope."
    assert ApiKey.objects.count() == 0


def test_blank_name_is_refused(channel):
    with pytest.raises(CommandError) as error:
        create_api_key("--name", "   ", "--channel", "web")

    assert str(error.value) == "A key needs a name."
    assert ApiKey.objects.count() == 0


def test_name_is_required(db):
    with pytest.raises(CommandError) as error:
        create_api_key("--channel", "web")

    assert str(error.value) == "Error: the following arguments are required: --name"
    assert ApiKey.objects.count() == 0


def test_key_for_the_seeded_web_channel_sees_only_web_orders(db):
    call_command("seed_demo", "--small", stdout=StringIO())
    out, _ = create_api_key("--name", "demo web key", "--channel", "web")

    response = client_for(out.strip()).get("/api/v1/orders/", {"limit": 500})

    assert response.status_code == 200
    channels = {order["channel"] for order in response.json()["results"]}
    assert channels == {"web"}
    assert len(response.json()["results"]) == ApiKey.objects.get().channel.orders.count()
