"""Admin list settings of locations and service levels: typed as text, stored as lists.

Ships-to countries, accepted freight classes and contact e-mails are entered as values
separated by commas or spaces ("US, CA"); empty saves as an empty list, and a bad value is
refused by name with nothing changed.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import ServiceLevelFactory, WarehouseFactory
from warehouses.models import ServiceLevel, Warehouse

pytestmark = pytest.mark.django_db


def change_form_data(client, url) -> dict:
    """The change form's current values, as a browser would post them back."""
    context = client.get(url).context
    form = context["adminform"].form
    data = {}
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in inline.formset.forms:
            for name, field in inline_form.fields.items():
                value = field.prepare_value(inline_form[name].value())
                if isinstance(value, bool):
                    if value:
                        data[inline_form.add_prefix(name)] = "on"
                    continue
                data[inline_form.add_prefix(name)] = "" if value is None else str(value)
    for name, field in form.fields.items():
        value = field.prepare_value(form[name].value())
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if value is None:
            value = ""
        data[name] = list(value) if isinstance(value, (list, tuple)) else str(value)
    return data


@pytest.fixture
def warehouse():
    return WarehouseFactory(
        code="RENO",
        ships_to_countries=["US"],
        accepted_freight_classes=["hazmat"],
        contact_emails=["reno@example.com"],
    )


def warehouse_url(warehouse) -> str:
    return reverse("admin:warehouses_warehouse_change", args=[warehouse.pk])


def test_warehouse_change_form_shows_lists_as_comma_separated_text(admin_client, warehouse):
    warehouse.ships_to_countries = ["US", "CA"]
    warehouse.save()
    data = change_form_data(admin_client, warehouse_url(warehouse))
    assert data["ships_to_countries"] == "US, CA"
    assert data["accepted_freight_classes"] == "hazmat"
    assert data["contact_emails"] == "reno@example.com"


@pytest.mark.parametrize(
    "field", ["ships_to_countries", "accepted_freight_classes", "contact_emails"]
)
def test_warehouse_admin_clearing_a_list_field_saves_an_empty_list(
    admin_client, warehouse, field
):
    url = warehouse_url(warehouse)
    data = change_form_data(admin_client, url)
    data[field] = ""

    response = admin_client.post(url, data)

    assert response.status_code == 302, "clearing a list setting was not saved"
    warehouse.refresh_from_db()
    assert getattr(warehouse, field) == []


def test_warehouse_admin_normalises_list_values(admin_client, warehouse):
    url = warehouse_url(warehouse)
    data = change_form_data(admin_client, url)
    data["ships_to_countries"] = "us, CA de  US"
    data["accepted_freight_classes"] = "Cold,hazmat, cold"
    data["contact_emails"] = "ops@example.com; lead@example.com ops@example.com"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    warehouse.refresh_from_db()
    assert warehouse.ships_to_countries == ["US", "CA", "DE"]
    assert warehouse.accepted_freight_classes == ["cold", "hazmat"]
    assert warehouse.contact_emails == ["ops@example.com", "lead@example.com"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ships_to_countries", '"US"', "'\"US\"' is not an ISO 3166-1 country code."),
        ("ships_to_countries", '{"a": 1}', "'{\"A\":' is not an ISO 3166-1 country code."),
        ("ships_to_countries", "US, XX", "'XX' is not an ISO 3166-1 country code."),
        ("accepted_freight_classes", "5", "'5' is not a freight class; use"),
        ("accepted_freight_classes", "standard", "'standard' is not a freight class; use"),
        ("contact_emails", "ops@example.com, nobody", "'nobody' is not a valid e-mail address."),
    ],
)
def test_warehouse_admin_refuses_a_bad_list_value_by_name(
    admin_client, warehouse, field, value, message
):
    url = warehouse_url(warehouse)
    data = change_form_data(admin_client, url)
    data[field] = value

    response = admin_client.post(url, data)

    assert response.status_code == 200, "a bad list value was accepted"
    errors = response.context["adminform"].form.errors[field]
    assert any(error.startswith(message) for error in errors), errors
    warehouse.refresh_from_db()
    assert warehouse.ships_to_countries == ["US"]
    assert warehouse.accepted_freight_classes == ["hazmat"]
    assert warehouse.contact_emails == ["reno@example.com"]


def test_service_level_admin_clearing_freight_classes_saves_an_empty_list(admin_client):
    service_level = ServiceLevelFactory(code="ground", accepted_freight_classes=["hazmat"])
    url = reverse("admin:warehouses_servicelevel_change", args=[service_level.pk])
    data = change_form_data(admin_client, url)
    data["accepted_freight_classes"] = ""

    response = admin_client.post(url, data)

    assert response.status_code == 302, "clearing freight classes was not saved"
    service_level.refresh_from_db()
    assert service_level.accepted_freight_classes == []


def test_service_level_admin_refuses_an_unknown_freight_class(admin_client):
    service_level = ServiceLevelFactory(code="ground", accepted_freight_classes=["hazmat"])
    url = reverse("admin:warehouses_servicelevel_change", args=[service_level.pk])
    data = change_form_data(admin_client, url)
    data["accepted_freight_classes"] = "hazmat, 5"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["accepted_freight_classes"][0].startswith(
        "'5' is not a freight class"
    )
    service_level.refresh_from_db()
    assert service_level.accepted_freight_classes == ["hazmat"]


def _inline_prefix(response) -> str:
    return response.context["inline_admin_formsets"][0].formset.prefix


def test_carrier_inline_clearing_freight_classes_saves_an_empty_list(admin_client):
    service_level = ServiceLevelFactory(code="ground", accepted_freight_classes=["cold"])
    url = reverse("admin:warehouses_carrier_change", args=[service_level.carrier.pk])
    data = change_form_data(admin_client, url)
    prefix = _inline_prefix(admin_client.get(url))
    assert data[f"{prefix}-0-accepted_freight_classes"] == "cold"
    data[f"{prefix}-0-accepted_freight_classes"] = ""

    response = admin_client.post(url, data)

    assert response.status_code == 302, "clearing freight classes in the inline was not saved"
    service_level.refresh_from_db()
    assert service_level.accepted_freight_classes == []


def test_carrier_inline_refuses_an_unknown_freight_class(admin_client):
    service_level = ServiceLevelFactory(code="ground", accepted_freight_classes=["cold"])
    url = reverse("admin:warehouses_carrier_change", args=[service_level.carrier.pk])
    data = change_form_data(admin_client, url)
    prefix = _inline_prefix(admin_client.get(url))
    data[f"{prefix}-0-accepted_freight_classes"] = '{"a": 1}'

    response = admin_client.post(url, data)

    assert response.status_code == 200
    service_level.refresh_from_db()
    assert service_level.accepted_freight_classes == ["cold"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ships_to_countries", "US"),
        ("ships_to_countries", ["US", "XX"]),
        ("accepted_freight_classes", 5),
        ("accepted_freight_classes", {"a": 1}),
        ("contact_emails", ["nobody"]),
    ],
)
def test_warehouse_full_clean_refuses_a_list_setting_that_is_not_a_valid_list(field, value):
    warehouse = Warehouse(code="RENO", name="Reno", country="US", **{field: value})
    with pytest.raises(ValidationError) as raised:
        warehouse.full_clean()
    assert field in raised.value.message_dict


def test_service_level_full_clean_refuses_freight_classes_that_are_not_a_list():
    service_level = ServiceLevelFactory(code="ground")
    service_level.accepted_freight_classes = "hazmat"
    with pytest.raises(ValidationError) as raised:
        service_level.full_clean()
    assert "accepted_freight_classes" in raised.value.message_dict
    assert ServiceLevel.objects.get(pk=service_level.pk).accepted_freight_classes == []
