"""The purchase order state machine: every allowed and every forbidden move, and the audit
row each allowed move writes."""

import itertools

import pytest

from inventory.models import PurchaseOrder, PurchaseOrderEvent
from inventory.purchasing.services import (
    PurchaseItem,
    purchase_order_create,
    purchase_order_transition,
)
from inventory.purchasing.states import TRANSITIONS, PurchaseOrderStatus
from oms_project.errors import InvalidTransition
from tests.factories import ProductFactory, WarehouseFactory
from tests.factories.purchasing import SupplierFactory

pytestmark = pytest.mark.django_db

PAIRS = list(itertools.product(PurchaseOrderStatus.values, repeat=2))


def order_in(status: str) -> PurchaseOrder:
    purchase_order = purchase_order_create(
        supplier=SupplierFactory(code="ACME"), warehouse=WarehouseFactory(code="MAIN"),
        items=[PurchaseItem(product=ProductFactory(sku="SKU-A"), quantity=1, unit_cost=1)],
    )
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(status=status)
    purchase_order.refresh_from_db()
    return purchase_order


@pytest.mark.parametrize(
    ("from_status", "to_status"), [pair for pair in PAIRS if pair[1] in TRANSITIONS[pair[0]]]
)
def test_allowed_moves_change_the_status_and_are_audited(from_status, to_status):
    purchase_order = order_in(from_status)
    purchase_order_transition(purchase_order=purchase_order, to_status=to_status, actor="test")
    purchase_order.refresh_from_db()
    assert purchase_order.status == to_status
    event = PurchaseOrderEvent.objects.filter(purchase_order=purchase_order).last()
    assert (event.type, event.from_status, event.to_status, event.actor) == (
        "status_changed", from_status, to_status, "test",
    )
    if to_status == "sent":
        assert purchase_order.sent_at is not None
    if to_status in {"closed", "cancelled"}:
        assert purchase_order.closed_at is not None


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [pair for pair in PAIRS if pair[1] not in TRANSITIONS[pair[0]]],
)
def test_forbidden_moves_are_refused_and_change_nothing(from_status, to_status):
    purchase_order = order_in(from_status)
    events = PurchaseOrderEvent.objects.count()
    with pytest.raises(InvalidTransition) as raised:
        purchase_order_transition(purchase_order=purchase_order, to_status=to_status, actor="t")
    assert raised.value.code == "invalid_transition"
    purchase_order.refresh_from_db()
    assert purchase_order.status == from_status
    assert PurchaseOrderEvent.objects.count() == events
