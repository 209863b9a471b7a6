"""The admin as ops staff use it (found in a day's walk-through): a ready pickup's page offers
the hand-over without code, and a sent purchase order is never deleted (Cancel re-dates the
backorders waiting for it; a delete skipped that)."""

import pytest
from django.urls import reverse

from inventory.models import PurchaseOrder
from inventory.purchasing.services import PurchaseItem, purchase_order_create, purchase_order_send
from tests.factories import WarehouseFactory
from tests.factories.purchasing import SupplierProductFactory
from tests.orders.pickups import on_the_shelf, pickup_order

pytestmark = pytest.mark.django_db


def test_a_ready_pickups_page_offers_the_hand_over_without_code(admin_client, shop, stock):
    fulfillment_order = pickup_order(shop, stock)
    change_url = reverse("admin:orders_fulfillmentorder_change", args=[fulfillment_order.pk])
    hand_over_url = reverse("admin:orders_fulfillmentorder_hand_over", args=[fulfillment_order.pk])
    assert hand_over_url not in admin_client.get(change_url).content.decode()  # not ready yet
    on_the_shelf(fulfillment_order)
    assert hand_over_url in admin_client.get(change_url).content.decode()


def purchase_order(*, sent: bool) -> PurchaseOrder:
    offer = SupplierProductFactory()
    created = purchase_order_create(
        supplier=offer.supplier, warehouse=WarehouseFactory(code="MAIN"),
        items=[PurchaseItem(product=offer.product, quantity=5)], actor="t",
    )
    if sent:
        purchase_order_send(purchase_order=created, actor="t")
    return created


def test_a_sent_purchase_order_is_not_deleted_from_the_admin(admin_client):
    sent = purchase_order(sent=True)
    url = reverse("admin:inventory_purchaseorder_delete", args=[sent.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:inventory_purchaseorder_changelist")
    admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [sent.pk],
                                   "post": "yes"})
    assert PurchaseOrder.objects.filter(pk=sent.pk).exists()


def test_a_draft_purchase_order_may_be_deleted(admin_client):
    draft = purchase_order(sent=False)
    url = reverse("admin:inventory_purchaseorder_delete", args=[draft.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not PurchaseOrder.objects.filter(pk=draft.pk).exists()
