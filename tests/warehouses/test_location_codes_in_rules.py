"""Channels' routing rules name locations by code: a new code is written into them with the
location (API, admin, service), and a location they name is not deleted until it is taken
out of them."""

import json

import pytest
from django.urls import reverse

from oms_project.errors import Conflict
from orders.models import RoutingRuleSet
from orders.services.routing_rules import routing_rules_save
from tests.factories import SalesChannelFactory, WarehouseFactory
from tests.oms_project.test_api_auth import assert_problem
from tests.warehouses.test_admin import warehouse_form
from warehouses.models import Warehouse
from warehouses.services import warehouse_delete, warehouse_update

pytestmark = pytest.mark.django_db

URL = "/api/v1/warehouses/"


@pytest.fixture
def network():
    """Channels web and b2b, both selling from EAST, WEST and SPARE; web prefers SPARE and
    excludes EAST, b2b prefers EAST then WEST."""
    east, west, spare = (WarehouseFactory(code=code) for code in ("EAST", "WEST", "SPARE"))
    web, b2b = SalesChannelFactory(code="web"), SalesChannelFactory(code="b2b")
    for channel in (web, b2b):
        channel.warehouses.add(east, west, spare)
    routing_rules_save(
        channel=web,
        values={"strategies": ["priority"], "preferred_locations": ["SPARE"],
                "excluded_locations": ["EAST"]},
        actor="ops",
    )
    routing_rules_save(
        channel=b2b,
        values={"strategies": ["priority"], "preferred_locations": ["EAST", "WEST"]},
        actor="ops",
    )
    return {"east": east, "west": west, "spare": spare, "web": web, "b2b": b2b}


def rules_of(channel) -> tuple[list[str], list[str], int]:
    rule_set = RoutingRuleSet.objects.get(channel=channel)
    return rule_set.preferred_locations, rule_set.excluded_locations, rule_set.version


@pytest.fixture
def writer(make_client):
    return make_client(scopes=["warehouses:write"])


# --- a new code ------------------------------------------------------------------------------


def test_a_new_code_is_written_into_every_rule_set_naming_the_old_one(network):
    warehouse_update(warehouse=network["east"], code="EAST-2")

    assert rules_of(network["web"]) == (["SPARE"], ["EAST-2"], 2)
    assert rules_of(network["b2b"]) == (["EAST-2", "WEST"], [], 2)


def test_a_change_that_keeps_the_code_leaves_the_rules_alone(network):
    warehouse_update(warehouse=network["east"], name="East coast", priority=3)

    assert rules_of(network["web"]) == (["SPARE"], ["EAST"], 1)
    assert rules_of(network["b2b"]) == (["EAST", "WEST"], [], 1)


def test_a_refused_new_code_leaves_the_location_and_the_rules_alone(network):
    with pytest.raises(Conflict):
        warehouse_update(warehouse=network["east"], code="WEST")

    assert Warehouse.objects.get(pk=network["east"].pk).code == "EAST"
    assert rules_of(network["web"]) == (["SPARE"], ["EAST"], 1)
    assert rules_of(network["b2b"]) == (["EAST", "WEST"], [], 1)


def test_a_new_code_over_the_api_is_written_into_the_rules(network, writer):
    response = writer.patch(
        f"{URL}EAST/", json.dumps({"code": "EAST-2"}), content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["code"] == "EAST-2"
    assert rules_of(network["web"]) == (["SPARE"], ["EAST-2"], 2)


def test_a_new_code_in_the_admin_is_written_into_the_rules(network, admin_client):
    east = network["east"]
    url = reverse("admin:warehouses_warehouse_change", args=[east.pk])

    response = admin_client.post(url, warehouse_form(code="EAST-2", name=east.name))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Warehouse.objects.get(pk=east.pk).code == "EAST-2"
    assert rules_of(network["web"]) == (["SPARE"], ["EAST-2"], 2)
    assert rules_of(network["b2b"]) == (["EAST-2", "WEST"], [], 2)


# --- deleting ----------------------------------------------------------------------------------


def test_a_location_the_rules_name_is_not_deleted(network):
    with pytest.raises(Conflict) as refused:
        warehouse_delete(warehouse=network["east"])

    assert refused.value.detail == (
        "The routing rules of channels web, b2b name location 'EAST'; take it out of them "
        "before deleting it."
    )
    assert refused.value.extra == {"routing_rules": ["web", "b2b"]}
    assert Warehouse.objects.filter(code="EAST").exists()
    assert rules_of(network["web"]) == (["SPARE"], ["EAST"], 1)


def test_delete_over_the_api_of_a_location_the_rules_name_is_409(network, writer):
    response = writer.delete(f"{URL}SPARE/")

    assert_problem(response, 409, "conflict")
    body = response.json()
    assert body["detail"] == (
        "The routing rules of channel web name location 'SPARE'; take it out of them before "
        "deleting it."
    )
    assert body["routing_rules"] == ["web"]
    assert Warehouse.objects.filter(code="SPARE").exists()
    assert rules_of(network["web"]) == (["SPARE"], ["EAST"], 1)


def test_a_location_taken_out_of_the_rules_can_be_deleted(network, writer):
    routing_rules_save(
        channel=network["web"],
        values={"strategies": ["priority"], "preferred_locations": [],
                "excluded_locations": ["EAST"]},
        actor="ops",
    )

    response = writer.delete(f"{URL}SPARE/")

    assert response.status_code == 204, response.content
    assert not Warehouse.objects.filter(code="SPARE").exists()


def test_admin_delete_of_a_location_the_rules_name_says_which_rules_and_keeps_it(
    network, admin_client
):
    url = reverse("admin:warehouses_warehouse_delete", args=[network["spare"].pk])
    rule_set = RoutingRuleSet.objects.get(channel=network["web"])

    for response in (admin_client.get(url), admin_client.post(url, {"post": "yes"})):
        assert response.status_code == 200
        page = response.content.decode()
        assert "Cannot delete warehouse" in page
        assert str(rule_set) in page
        assert "names SPARE; take it out of these rules first" in page
        assert reverse("admin:orders_routingruleset_change", args=[rule_set.pk]) in page
    assert Warehouse.objects.filter(code="SPARE").exists()


def test_admin_bulk_delete_refuses_locations_the_rules_name(network, admin_client):
    url = reverse("admin:warehouses_warehouse_changelist")
    chosen = [network["spare"].pk, network["west"].pk]

    response = admin_client.post(
        url, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "names SPARE; take it out of these rules first" in page
    assert "names WEST; take it out of these rules first" in page
    assert Warehouse.objects.filter(pk__in=chosen).count() == 2
