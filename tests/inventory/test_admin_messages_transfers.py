"""Transfers in the admin: bad input is a field error in words, not a constraint's name, and
the admin refuses what `transfer_create` refuses."""

import pytest
from django.urls import reverse

from inventory.models import StockLevel, StockMovement, Transfer, TransferLine
from inventory.services import stock_receive
from tests.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:inventory_transfer_add")


def transfer_form(source, destination, lines=()) -> dict:
    data = {
        "number": "TR-9", "source": source.pk, "destination": destination.pk, "note": "",
        "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": 0,
        "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
    }
    for index, (product, quantity) in enumerate(lines):
        data[f"lines-{index}-product"] = product.pk
        data[f"lines-{index}-quantity"] = quantity
    return data


def test_a_transfer_to_its_own_source_is_refused_on_the_destination(admin_client):
    reno = WarehouseFactory(code="RENO")
    mug = ProductFactory(sku="MUG")
    response = admin_client.post(ADD_URL, transfer_form(reno, reno, [(mug, 2)]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "destination": ["The destination must differ from the source."]
    }
    assert "transfer_distinct_locations" not in response.content.decode()
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_line_without_units_is_refused_on_its_quantity(admin_client, quantity):
    mug = ProductFactory(sku="MUG")
    response = admin_client.post(
        ADD_URL,
        transfer_form(WarehouseFactory(code="RENO"), WarehouseFactory(code="SPARKS"),
                      [(mug, quantity)]),
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors == [{"quantity": ["Transfer at least one unit."]}]
    assert "transfer_line_positive" not in response.content.decode()
    assert not Transfer.objects.exists()
    assert not TransferLine.objects.exists()


def test_a_good_transfer_is_saved_as_a_draft(admin_client):
    mug = ProductFactory(sku="MUG")
    response = admin_client.post(
        ADD_URL,
        transfer_form(WarehouseFactory(code="RENO"), WarehouseFactory(code="SPARKS"),
                      [(mug, 2)]),
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.status, list(transfer.lines.values_list("quantity", flat=True))) == (
        "draft", [2]
    )


@pytest.fixture
def network(db):
    """RENO holds 20 MUGs; SPARKS is empty."""
    reno, sparks = WarehouseFactory(code="RENO"), WarehouseFactory(code="SPARKS")
    mug = ProductFactory(sku="MUG")
    stock_receive(product=mug, warehouse=reno, quantity=20, actor="test")
    return reno, sparks, mug


def test_a_transfer_without_lines_is_refused(admin_client, network):
    """The service refuses a transfer without lines; one saved anyway could be shipped and
    'received' with nothing in it."""
    reno, sparks, _mug = network
    response = admin_client.post(ADD_URL, transfer_form(reno, sparks, []))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == ["A transfer needs at least one line."]
    assert "A transfer needs at least one line." in response.content.decode()
    assert not Transfer.objects.exists()


def test_a_transfer_whose_only_line_is_deleted_is_refused(admin_client, network):
    reno, sparks, mug = network
    data = transfer_form(reno, sparks, [(mug, 2)])
    data["lines-0-DELETE"] = "on"
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors() == [
        "A transfer needs at least one line."
    ]
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("field", ["source", "destination"])
def test_a_transfer_from_or_to_an_inactive_location_is_refused(admin_client, network, field):
    """As over the API: a field error on the inactive location, nothing saved or moved."""
    reno, sparks, mug = network
    location = {"source": reno, "destination": sparks}[field]
    location.is_active = False
    location.save()
    response = admin_client.post(ADD_URL, transfer_form(reno, sparks, [(mug, 1)]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        field: [f"Warehouse {location.code} is inactive."]
    }
    assert not Transfer.objects.exists()
    assert StockLevel.objects.get(warehouse=reno).on_hand == 20
    assert StockMovement.objects.count() == 1  # the receipt of the fixture only


def test_a_draft_whose_location_was_deactivated_can_still_be_edited(admin_client, network):
    """Only choosing an inactive location is refused: a note can still be changed (shipping
    refuses the transfer until the location is active again)."""
    reno, sparks, mug = network
    admin_client.post(ADD_URL, transfer_form(reno, sparks, [(mug, 2)]))
    transfer = Transfer.objects.get()
    sparks.is_active = False
    sparks.save()
    line = transfer.lines.get()
    data = {
        **transfer_form(reno, sparks, []), "note": "call first",
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 1,
        "lines-0-id": line.pk, "lines-0-transfer": transfer.pk,
        "lines-0-product": mug.pk, "lines-0-quantity": 2,
    }
    response = admin_client.post(
        reverse("admin:inventory_transfer_change", args=[transfer.pk]), data
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    transfer.refresh_from_db()
    assert transfer.note == "call first"


def test_a_refusal_the_form_could_not_foresee_is_reported_and_saves_nothing(
    admin_client, network, monkeypatch
):
    """The form checks what `transfer_create` checks; should the service still refuse (a
    location deactivated in between), staff read why and nothing is saved."""
    from inventory import admin as inventory_admin
    from oms_project.errors import ValidationFailed

    def refuse(**kwargs):
        raise ValidationFailed(
            "The transfer is not valid.", errors={"destination": ["Warehouse SPARKS is inactive."]}
        )

    monkeypatch.setattr(inventory_admin, "transfer_create", refuse)
    reno, sparks, mug = network
    response = admin_client.post(ADD_URL, transfer_form(reno, sparks, [(mug, 1)]), follow=True)
    assert (
        "Transfer not saved: The transfer is not valid. destination: Warehouse SPARKS is inactive."
        in response.content.decode()
    )
    assert not Transfer.objects.exists()
