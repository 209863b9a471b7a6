"""Row locks of the fulfillment services: the order first, then its fulfillment order.

Order services (cancellation, shipments, allocation) lock the order and then its fulfillment
orders (`fulfillment_orders_sync`). A fulfillment service that locked its fulfillment order
first and the order second (to complete it, or only to write an order event, whose foreign
key takes a share lock on the order's row) would deadlock with them, so every fulfillment
service takes its locks through `fulfillment_order_lock`.
"""

from orders.models import FulfillmentOrder, Order


def fulfillment_order_lock(fulfillment_order: FulfillmentOrder) -> FulfillmentOrder:
    """Lock the fulfillment order's order, then the fulfillment order; return it fresh.

    Call inside a transaction. The returned fulfillment order carries its warehouse and
    service level, and its locked order with the order's channel, pickup location and
    shipping method. Only the two rows are locked (PostgreSQL refuses FOR UPDATE on the
    outer-joined, nullable relations).
    """
    order_id = fulfillment_order.order_id
    if order_id is None:  # an order never changes its fulfillment orders' order_id
        order_id = FulfillmentOrder.objects.values_list("order_id", flat=True).get(
            pk=fulfillment_order.pk
        )
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel", "pickup_location", "shipping_method")
        .get(pk=order_id)
    )
    current = (
        FulfillmentOrder.objects.select_for_update(of=("self",))
        .select_related("warehouse", "service_level")
        .get(pk=fulfillment_order.pk)
    )
    current.order = order
    return current
