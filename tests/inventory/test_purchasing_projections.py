"""Projected stock arithmetic and reorder quantities (pack sizes, minimums)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.models import PurchaseOrderLine, StockLevel
from inventory.purchasing.projections import (
    projected_stock,
    reorder_quantity_suggest,
    stock_projections,
)
from inventory.purchasing.receiving import ReceiptItem, purchase_order_receive
from inventory.purchasing.services import (
    PurchaseItem,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
)
from inventory.services import Hold, stock_allocate
from tests.factories.purchasing import SupplierFactory


def test_projected_stock_subtracts_allocated_and_backorders_and_adds_open_purchases():
    assert projected_stock(on_hand=10, allocated=4, on_order=20, backordered=7) == 19
    assert projected_stock(on_hand=0, allocated=0, on_order=0, backordered=3) == -3


@pytest.mark.parametrize(
    ("projected", "point", "quantity", "pack", "minimum", "expected"),
    [
        (11, 10, 50, 1, 1, 0),  # above the reorder point: nothing
        (10, 10, 50, 1, 1, 51),  # at the point: back above point + quantity
        (5, 10, 50, 1, 1, 56),
        (5, 10, 50, 12, 1, 60),  # 56 rounded up to 5 packs of 12
        (5, 10, 10, 12, 30, 36),  # need 16, minimum 30, packs of 12 -> 36
        (-4, 0, 0, 1, 1, 4),  # no settings: exactly what the backorders lack
        (-4, 0, 0, 6, 1, 6),
        (0, 0, 0, 1, 1, 0),  # no settings and nothing short: nothing
        (-3, 2, 0, 1, 1, 6),  # short of backorders and below the point
    ],
)
def test_reorder_quantity(projected, point, quantity, pack, minimum, expected):
    assert (
        reorder_quantity_suggest(
            projected=projected, reorder_point=point, reorder_quantity=quantity,
            pack_size=pack, minimum_quantity=minimum,
        )
        == expected
    )


@given(
    projected=st.integers(-1000, 1000),
    point=st.integers(0, 500),
    quantity=st.integers(0, 500),
    pack=st.integers(1, 48),
    minimum=st.integers(1, 200),
)
def test_a_reorder_is_whole_packs_at_least_the_minimum_and_ends_above_the_point(
    projected, point, quantity, pack, minimum
):
    units = reorder_quantity_suggest(
        projected=projected, reorder_point=point, reorder_quantity=quantity,
        pack_size=pack, minimum_quantity=minimum,
    )
    if units == 0:
        assert projected > point or (point == quantity == 0 and projected >= 0)
        return
    assert units % pack == 0
    assert units >= minimum
    assert units - pack < max(minimum, point + quantity + 1 - projected, -projected)
    assert projected + units >= 0
    if point or quantity:
        assert projected + units > point + quantity


@pytest.mark.django_db
def test_projection_counts_open_purchase_orders_only(stock):
    level = stock("SKU-P", "MAIN", on_hand=10, reorder_point=5, reorder_quantity=20)
    stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 4, "order_line:1")])
    supplier = SupplierFactory(code="ACME")
    item = [PurchaseItem(product=level.product, quantity=12, unit_cost=1)]
    sent = purchase_order_create(supplier=supplier, warehouse=level.warehouse, items=item)
    purchase_order_send(purchase_order=sent)
    purchase_order_receive(
        purchase_order=sent, items=[ReceiptItem(product=level.product, quantity_received=5,
                                                quantity_damaged=1)],
    )
    cancelled = purchase_order_create(supplier=supplier, warehouse=level.warehouse, items=item)
    purchase_order_cancel(purchase_order=cancelled)
    purchase_order_create(supplier=supplier, warehouse=level.warehouse, items=item)  # a draft

    key = (level.product_id, level.warehouse_id)
    [projection] = stock_projections(backordered={key: 3}, product_ids=[level.product_id])

    # on hand 10 + 5 received; 4 allocated; 6 still to come on the sent order + 12 on the
    # draft; the cancelled order counts for nothing; 3 backordered.
    assert (projection.on_hand, projection.allocated) == (15, 4)
    assert (projection.on_order, projection.backordered) == (18, 3)
    assert projection.projected == 15 - 4 + 18 - 3 == 26
    assert not projection.needs_reorder
    assert PurchaseOrderLine.objects.count() == 3


@pytest.mark.django_db
def test_projection_without_product_filter_skips_unmanaged_levels(stock):
    managed = stock("SKU-M", "MAIN", reorder_point=2)
    stock("SKU-U", "MAIN", on_hand=0)
    demand_only = stock("SKU-D", "MAIN")
    StockLevel.objects.filter(pk=demand_only.pk).delete()
    projections = stock_projections(backordered={(demand_only.product_id, managed.warehouse_id): 2})
    assert [(p.product_id, p.projected, p.needs_reorder) for p in projections] == [
        (managed.product_id, 0, True),
        (demand_only.product_id, -2, True),
    ]
