"""Transfers in the admin: bad input is a field error in words, not a constraint's name."""

import pytest
from django.urls import reverse

from inventory.models import Transfer, TransferLine
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
