"""Filling backorders when stock arrives (purchase receipts, return restocks, transfers)."""

from django.db import transaction
from django.db.models import F

from orders.models import Order, OrderLine
from orders.services.locks import order_lock
from orders.states import OrderStatus

WAITING_STATUSES = (OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED)


def _open_waiting_lines():
    return OrderLine.objects.filter(
        order__status__in=WAITING_STATUSES,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled"),
    )


def backorders_waiting_products(product_ids) -> list[int]:
    """Those of these products that paid orders are waiting for (one query, whatever the
    number of products: a stock file of 100,000 SKUs is narrowed to the few on backorder
    without binding 100,000 parameters)."""
    waiting = set(_open_waiting_lines().values_list("product_id", flat=True).distinct())
    return sorted(waiting.intersection(product_ids))


def backorders_waiting(*, product_ids, limit: int = 500) -> list[int]:
    """Ids of paid orders with open units of these products, oldest placed first."""
    open_lines = _open_waiting_lines().filter(product_id__in=product_ids)
    return list(
        Order.objects.filter(pk__in=open_lines.values("order_id"))
        .order_by("placed_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def backorders_allocate(
    *, product_ids, actor: str, limit: int = 500, cause: str = ""
) -> dict:
    """Allocate newly available stock to waiting orders, oldest first.

    Each order is allocated in its own transaction (routing decides where from); an order
    whose units are now all allocated moves from backordered to processing, with `cause`
    (what freed the stock, e.g. "PO000001 received") in the reason when given. Returns
    {"orders": [numbers touched], "filled": [numbers now fully allocated]}.
    """
    from orders.services.allocation import order_allocate
    from orders.services.lifecycle import order_transition

    reason = "Backordered units are now allocated" + (f" ({cause})" if cause else "")
    touched, filled = [], []
    for order_id in backorders_waiting(product_ids=product_ids, limit=limit):
        with transaction.atomic():
            order = order_lock(order_id)
            if order.status not in WAITING_STATUSES:
                continue
            result = order_allocate(order=order, actor=actor, allow_backorder=True)
            if not result["allocated"]:
                continue
            touched.append(order.number)
            if not result["short"]:
                filled.append(order.number)
                if order.status == OrderStatus.BACKORDERED:
                    order_transition(
                        order=order,
                        to_status=OrderStatus.PROCESSING,
                        actor=actor,
                        reason=reason,
                    )
    return {"orders": touched, "filled": filled}
