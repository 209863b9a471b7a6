"""Admin pages for warehouses, carriers and service levels."""

import pytest
from django.urls import reverse

from tests.factories import ServiceLevelFactory, WarehouseFactory
from warehouses.models import Carrier, ServiceLevel, Warehouse

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def warehouse_form(**overrides) -> dict:
    """The warehouse change form as posted for a shipping warehouse in Reno."""
    data = {
        "code": "RENO", "name": "Reno", "kind": "warehouse", "is_active": "on",
        "line1": "", "line2": "", "postal_code": "", "city": "Reno", "region": "",
        "country": "US", "latitude": "39.5", "longitude": "-119.8",
        "timezone": "America/Los_Angeles", "priority": "100", "can_ship": "on",
        "daily_order_capacity": "", "order_cutoff_time": "", "handling_days": "0",
        "accepted_freight_classes": "", "ships_to_countries": "", "contact_emails": "",
        # the read-only stock inline the inventory app adds
        "stock_levels-TOTAL_FORMS": "0", "stock_levels-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def records():
    service_level = ServiceLevelFactory(code="ground")
    return {
        Warehouse: WarehouseFactory(code="RENO", name="Reno DC"),
        Carrier: service_level.carrier,
        ServiceLevel: service_level,
    }


@pytest.mark.parametrize("model", [Warehouse, Carrier, ServiceLevel], ids=lambda m: m.__name__)
def test_changelist_add_and_change_pages_render(admin_client, records, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == 200
    assert admin_client.get(admin_url(model, "change", records[model].pk)).status_code == 200


@pytest.mark.parametrize("term", ["RENO", "reno", "Reno D"])
def test_warehouse_search_matches_code_or_name(admin_client, records, term):
    WarehouseFactory(code="SPARKS", name="Sparks store", city="Sparks")
    response = admin_client.get(admin_url(Warehouse, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [records[Warehouse]]


def test_warehouse_autocomplete_answers_with_prefix_matches(admin_client, records):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "re",
            "app_label": "inventory",
            "model_name": "stocklevel",
            "field_name": "warehouse",
        },
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["RENO - Reno DC"]


def test_admin_refuses_a_time_zone_that_does_not_exist(admin_client):
    warehouse = WarehouseFactory(code="RENO", timezone="America/Los_Angeles")

    response = admin_client.post(
        admin_url(Warehouse, "change", warehouse.pk), warehouse_form(timezone="America/New_Yrok")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["timezone"] == [
        "'America/New_Yrok' is not an IANA time zone."
    ]
    warehouse.refresh_from_db()
    assert warehouse.timezone == "America/Los_Angeles"


def test_admin_saves_a_known_time_zone(admin_client):
    warehouse = WarehouseFactory(code="RENO", timezone="UTC")

    response = admin_client.post(
        admin_url(Warehouse, "change", warehouse.pk), warehouse_form(timezone="America/New_York")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    warehouse.refresh_from_db()
    assert warehouse.timezone == "America/New_York"


def test_admin_adds_a_location_through_the_service(admin_client):
    response = admin_client.post(
        admin_url(Warehouse, "add"), warehouse_form(code="SPARKS", name="Sparks")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    added = Warehouse.objects.get(code="SPARKS")
    assert (added.name, added.timezone, added.ships_to_countries) == (
        "Sparks", "America/Los_Angeles", []
    )
