"""Admin pages for warehouses, carriers and service levels."""

import pytest
from django.urls import reverse

from tests.factories import ServiceLevelFactory, WarehouseFactory
from warehouses.models import Carrier, ServiceLevel, Warehouse

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


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
