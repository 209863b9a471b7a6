"""Returns pages in the admin: a refusal reads as sentences on the field it concerns."""

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from returns.models import ReturnRequest
from returns.services import return_approve
from tests.returns.conftest import lines_by_sku
from tests.returns.test_admin import open_return

pytestmark = pytest.mark.django_db


def test_receiving_resellable_units_without_a_location_asks_for_one(admin_client, delivered):
    return_request = open_return(delivered, A=2)
    return_approve(return_request=return_request, actor="test")
    line = return_request.lines.get()
    on_hand = StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand
    url = reverse("admin:returns_returnrequest_receive", args=[return_request.pk])
    response = admin_client.post(url, {
        f"resellable_{line.pk}": 2, f"location_{line.pk}": "",
        f"damaged_{line.pk}": 0, f"missing_{line.pk}": 0,
    })
    assert response.status_code == 200
    assert response.context["form"].errors == {
        f"location_{line.pk}": ["Choose where the 2 resellable unit(s) of A go back on sale."]
    }
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "approved"
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand == on_hand


def test_receiving_a_wrong_count_names_the_line(admin_client, delivered):
    return_request = open_return(delivered, A=2, B=1)
    return_approve(return_request=return_request, actor="test")
    url = reverse("admin:returns_returnrequest_receive", args=[return_request.pk])
    data = {}
    for line in return_request.lines.all():
        data.update({
            f"resellable_{line.pk}": 0, f"location_{line.pk}": "",
            f"damaged_{line.pk}": 0, f"missing_{line.pk}": 1,
        })
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "__all__": [
            "Every unit of the return must be accounted for.",
            "Line 1 (A): The return has 2 unit(s) of A; 1 accounted for. Record every unit as "
            "resellable, damaged or missing.",
        ]
    }
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "approved"


def test_an_unknown_exchange_sku_is_named_by_its_row(admin_client, delivered):
    lines = lines_by_sku(delivered)
    url = reverse("admin:returns_returnrequest_add") + f"?order={delivered.number}"
    response = admin_client.post(url, {
        f"quantity_{lines['A'].pk}": 1, f"reason_{lines['A'].pk}": "defective",
        f"quantity_{lines['B'].pk}": 0, f"reason_{lines['B'].pk}": "other",
        "customer_note": "", "window_override_reason": "",
        "exchange_items": "A x 1\n\nNOSKU x 1",
    })
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["__all__"] == ["Some exchange items are invalid."]
    assert errors["exchange_items"][0] == "Row 3 (NOSKU): Unknown SKU 'NOSKU'."
    assert not ReturnRequest.objects.exists()


def test_too_many_units_of_a_line_is_a_sentence(admin_client, delivered):
    lines = lines_by_sku(delivered)
    url = reverse("admin:returns_returnrequest_add") + f"?order={delivered.number}"
    response = admin_client.post(url, {
        f"quantity_{lines['A'].pk}": 3, f"reason_{lines['A'].pk}": "defective",
        f"quantity_{lines['B'].pk}": 0, f"reason_{lines['B'].pk}": "other",
        "customer_note": "", "window_override_reason": "", "exchange_items": "",
    })
    assert response.status_code == 200
    text = " ".join(response.context["form"].non_field_errors())
    assert f"Line {lines['A'].pk} (A) has 2 unit(s) that can be returned" in text
    assert "{" not in text
    assert not ReturnRequest.objects.exists()
