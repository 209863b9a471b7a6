"""Order intake keeps the channel's locations, rule set, outages and postal-code centres for a
few seconds per process: later orders skip those reads, a change saved through the models or
services is routed with at once, and any other change within `OMS_ROUTING_CONFIG_SECONDS`."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.errors import OrderValidationError
from orders.models import FulfillmentOrder, Order
from orders.services import order_create, routing_config
from orders.services.routing_rules import routing_rules_save
from tests.orders.conftest import order_data
from warehouses.models import Carrier, LocationOutage, PostalCode, Warehouse

pytestmark = pytest.mark.django_db

KEPT_TABLES = (
    "warehouses_warehouse",
    "orders_routingruleset",
    "warehouses_locationoutage",
    "warehouses_postalcode",
    "warehouses_servicelevel",
)


def place(shop, number: int):
    order = order_create(
        channel=shop["channel"], data=order_data(channel_order_id=f"WEB-{number}"), actor="test"
    )
    return set(
        FulfillmentOrder.objects.filter(order=order).values_list("warehouse__code", flat=True)
    )


def config_reads(captured) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        # (a statement PostgreSQL runs prepared has no text here)
        if any(f'FROM "{table}"' in (query["sql"] or "") for table in KEPT_TABLES)
    ]


@pytest.fixture
def stocked(shop, stock):
    stock("A", "EAST", 20)
    stock("A", "WEST", 20)
    return shop


def test_a_second_order_does_not_read_the_routing_setup_again(stocked):
    PostalCode.objects.create(country="US", postal_code="89501", latitude=39.5, longitude=-119.8)
    with CaptureQueriesContext(connection) as first:
        assert place(stocked, 1) == {"EAST"}
    with CaptureQueriesContext(connection) as second:
        assert place(stocked, 2) == {"EAST"}
    assert len(config_reads(first)) == 5
    assert config_reads(second) == []
    assert len(second.captured_queries) == len(first.captured_queries) - 5


def test_a_location_saved_inactive_is_left_out_of_the_next_order(stocked):
    assert place(stocked, 1) == {"EAST"}
    east = stocked["east"]
    east.is_active = False
    east.save()
    assert place(stocked, 2) == {"WEST"}


def test_a_location_taken_off_the_channel_is_left_out_of_the_next_order(stocked):
    assert place(stocked, 1) == {"EAST"}
    stocked["channel"].warehouses.remove(stocked["east"])
    assert place(stocked, 2) == {"WEST"}


def test_an_outage_added_is_routed_around_and_one_over_is_not(stocked):
    assert place(stocked, 1) == {"EAST"}
    now = timezone.now()
    outage = LocationOutage.objects.create(
        warehouse=stocked["east"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    assert place(stocked, 2) == {"WEST"}
    # A kept outage stops counting once it is over, with no change saved.
    east = stocked["east"].pk
    assert len(routing_config.outages([east], now)[east]) == 1
    assert routing_config.outages([east], outage.ends_at + timedelta(seconds=1)) == {east: []}


def test_a_service_level_saved_inactive_is_refused_on_the_next_order(stocked):
    assert place(stocked, 1) == {"EAST"}
    level = stocked["service_level"]
    level.is_active = False
    level.save()
    with pytest.raises(OrderValidationError):
        place(stocked, 2)


def test_a_service_of_a_deactivated_carrier_is_refused(stocked):
    carrier = stocked["service_level"].carrier
    Carrier.objects.filter(pk=carrier.pk).update(is_active=False)  # its levels stay active
    with pytest.raises(OrderValidationError) as refused:
        place(stocked, 1)
    assert refused.value.errors == {"shipping_method": ["Unknown shipping method 'ground'."]}
    assert not Order.objects.exists()


def test_a_carrier_saved_inactive_is_refused_on_the_next_order(stocked):
    assert place(stocked, 1) == {"EAST"}
    carrier = stocked["service_level"].carrier
    carrier.is_active = False
    carrier.save()
    with pytest.raises(OrderValidationError):
        place(stocked, 2)
    assert Order.objects.count() == 1


def test_a_renamed_excluded_location_stays_excluded_for_the_next_order(stocked, make_client):
    rules = {"strategies": ["priority"], "excluded_locations": ["EAST"]}
    routing_rules_save(channel=stocked["channel"], values=rules, actor="test")
    assert place(stocked, 1) == {"WEST"}
    writer = make_client(scopes=["warehouses:write"])
    response = writer.patch(
        "/api/v1/warehouses/EAST/", json.dumps({"code": "EAST-2"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert place(stocked, 2) == {"WEST"}


def test_saved_rules_are_used_by_the_next_order(stocked):
    assert place(stocked, 1) == {"EAST"}
    rules = {"strategies": ["priority"], "excluded_locations": ["EAST"]}
    routing_rules_save(channel=stocked["channel"], values=rules, actor="test")  # created
    assert place(stocked, 2) == {"WEST"}
    rules["excluded_locations"] = []
    routing_rules_save(channel=stocked["channel"], values=rules, actor="test")  # updated
    assert place(stocked, 3) == {"EAST"}


def test_a_change_without_signals_is_seen_once_the_copy_expires(stocked, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(routing_config.time, "monotonic", lambda: clock[0])
    assert place(stocked, 1) == {"EAST"}
    Warehouse.objects.filter(pk=stocked["east"].pk).update(is_active=False)  # no signal
    assert place(stocked, 2) == {"EAST"}  # still the kept copy
    clock[0] += 5.1
    assert place(stocked, 3) == {"WEST"}


def test_no_copy_is_kept_when_the_setting_is_zero(stocked, settings):
    settings.OMS_ROUTING_CONFIG_SECONDS = 0
    assert place(stocked, 1) == {"EAST"}
    Warehouse.objects.filter(pk=stocked["east"].pk).update(is_active=False)
    assert place(stocked, 2) == {"WEST"}


def test_the_copy_is_bounded(monkeypatch):
    monkeypatch.setattr(routing_config, "MAX_KEPT", 3)
    for number in range(5):
        routing_config.destination({"country": "US", "postal_code": f"1000{number}"})
    assert len(routing_config._kept) <= 3


def test_locations_handed_out_are_copies(stocked):
    first = routing_config.shipping_locations(stocked["channel"])
    first[0].code = "CHANGED"
    assert routing_config.shipping_locations(stocked["channel"])[0].code == "EAST"


def test_what_is_read_before_a_change_commits_is_forgotten_at_the_commit(
    stocked, django_capture_on_commit_callbacks
):
    key = ("locations", stocked["channel"].pk)
    with django_capture_on_commit_callbacks(execute=True):  # run as the commit would
        east = stocked["east"]
        east.is_active = False
        east.save()
        routing_config._kept[key] = (float("inf"), [east])  # read after the save, pre-commit
        assert key in routing_config._kept
    assert routing_config._kept == {}
