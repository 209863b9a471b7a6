"""Pickup orders for tests: a paid order to collect at STORE1, and putting its fulfillment
order on the shelf (picked, packed, ready, with its code)."""

from orders.models import FulfillmentOrder
from orders.services import order_create
from orders.services.fulfillment import (
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
)
from tests.orders.conftest import order_data


def pickup_order(shop, stock=None, *, channel_order_id: str = "WEB-1") -> FulfillmentOrder:
    """A paid pickup order of A x 2 at STORE1; its fulfillment order. With the `stock`
    fixture, STORE1 is stocked for it; without, the test stocked it beforehand."""
    if stock is not None:
        stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(channel_order_id=channel_order_id, fulfillment_method="pickup",
                        pickup_location="STORE1"),
        actor="test",
    )
    return FulfillmentOrder.objects.get(order=order)


def on_the_shelf(fulfillment_order: FulfillmentOrder, scans=("A", "A")):
    """Pick, pack (`scans`) and ready the fulfillment order: (fulfillment order, code)."""
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=list(scans), actor="t")
    return fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order, actor="t")
