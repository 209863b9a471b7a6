"""Transfer numbers are given by `transfer_create` (`TR<pk>`), in the admin as over the API,
and never clash with a number an older transfer already carries."""

import pytest
from django.urls import reverse

from inventory.models import Transfer
from inventory.transfers import TransferItem, transfer_create
from tests.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:inventory_transfer_add")


@pytest.fixture
def network(db):
    return WarehouseFactory(code="RENO"), WarehouseFactory(code="SPARKS"), ProductFactory(sku="MUG")


def admin_form(source, destination, product, **extra) -> dict:
    return {
        "source": source.pk, "destination": destination.pk, "note": "",
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 0,
        "lines-MIN_NUM_FORMS": 1, "lines-MAX_NUM_FORMS": 1000,
        "lines-0-product": product.pk, "lines-0-quantity": 1, **extra,
    }


def create(network) -> Transfer:
    reno, sparks, mug = network
    return transfer_create(
        source=reno, destination=sparks, items=[TransferItem(mug, 1)], actor="test"
    )


def test_the_admin_numbers_a_transfer_as_the_api_does(admin_client, admin_user, network):
    """A number typed into the form is ignored: the field is read-only."""
    response = admin_client.post(ADD_URL, admin_form(*network, number="TR000002"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    transfer = Transfer.objects.get()
    assert transfer.number == f"TR{transfer.pk:06d}"
    assert transfer.created_by == f"user:{admin_user.username}"
    assert list(transfer.lines.values_list("product__sku", "quantity")) == [("MUG", 1)]
    page = admin_client.get(reverse("admin:inventory_transfer_add")).content.decode()
    assert 'name="number"' not in page


def test_api_transfer_after_an_admin_transfer_is_created(admin_client, make_client, network):
    admin_client.post(ADD_URL, admin_form(*network, number="TR000002"))
    client = make_client(scopes=["inventory:write"])
    response = client.post(
        "/api/v1/transfers/",
        {"source": "RENO", "destination": "SPARKS", "lines": [{"sku": "MUG", "quantity": 2}]},
        format="json", HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert response.status_code == 201, response.content
    first, second = Transfer.objects.order_by("pk")
    assert second.number == response.json()["number"] == f"TR{second.pk:06d}"
    assert first.number == f"TR{first.pk:06d}"


def test_a_number_an_older_transfer_carries_is_skipped(network):
    """Transfers typed in by hand before numbers were assigned may hold `TR<pk>` of a later
    transfer: it gets the first free `TR<pk>-<n>` instead of failing on the unique number."""
    reno, sparks, _mug = network
    drafts = [create(network) for _ in range(3)]
    last = drafts[-1].pk
    # Two hand-numbered rows in the first two's places (below the last id, so the next id
    # stays last + 1 on every backend), holding the next transfer's number and its first
    # alternative.
    Transfer.objects.filter(pk__in=[drafts[0].pk, drafts[1].pk]).delete()
    for pk, number in [(drafts[0].pk, f"TR{last + 1:06d}"), (drafts[1].pk, f"TR{last + 1:06d}-1")]:
        Transfer.objects.create(pk=pk, number=number, source=reno, destination=sparks)

    created = create(network)

    assert (created.pk, created.number) == (last + 1, f"TR{last + 1:06d}-2")
    assert Transfer.objects.get(pk=created.pk).number == created.number
    assert create(network).number == f"TR{last + 2:06d}"
