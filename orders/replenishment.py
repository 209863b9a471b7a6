"""Replenishment seen from the orders: what the admin, the API and the periodic tasks call.

Inventory's purchasing services know nothing of orders; these wrappers join them to the
orders that wait: suggestions count backordered demand and the coming subscription runs, a
receipt fills backorders oldest first and tells their customers, and every change to what the
suppliers have (a sent, rescheduled, cancelled or closed purchase order, a receipt) re-dates
the waiting lines. Drafts give no dates: only a purchase order sent to the supplier does.
"""

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from inventory.arrivals import free_stock_batched
from inventory.models import Product, PurchaseOrder
from inventory.purchasing.receiving import ReceiptItem, purchase_order_receive
from inventory.purchasing.services import (
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_expected_date_set,
    purchase_order_send,
)
from inventory.purchasing.suggestions import replenishment_suggest
from orders.events import order_event_record
from orders.models import Order
from orders.services.backorder_dates import backorder_dates_refresh, backordered_demand
from orders.services.backorders import backorders_allocate
from orders.subscriptions.forecast import subscription_demand_by_warehouse
from warehouses.models import Warehouse


def expected_demand(product_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Units the orders side will need per (product id, warehouse id): backordered lines plus
    the subscription runs due in the next 30 days, for inventory's projected stock."""
    product_ids = None if product_ids is None else list(product_ids)
    demand = dict(backordered_demand(product_ids))
    for key, units in subscription_demand_by_warehouse(product_ids).items():
        demand[key] = demand.get(key, 0) + units
    return demand


def _product_ids(purchase_order: PurchaseOrder) -> list[int]:
    return list(purchase_order.lines.values_list("product_id", flat=True))


def replenishment_run(
    *, actor: str = "system", product_ids: Iterable[int] | None = None
) -> dict:
    """Re-date backorders, then suggest draft purchase orders for everything projected short.

    The drafts date nobody (customers hear a date once a purchase order is sent); the
    re-dating first ties waiting lines to what the suppliers have, which places their demand
    at those purchase orders' warehouses. Returns the suggestion result with SKUs and
    warehouse codes for the needs that have no preferred supplier, and the delay notices the
    re-dating queued.
    """
    product_ids = None if product_ids is None else list(product_ids)
    dates = backorder_dates_refresh(product_ids=product_ids, actor=actor)
    result = replenishment_suggest(
        backordered_demand=expected_demand, actor=actor, product_ids=product_ids
    ).as_dict()
    skus = dict(
        Product.objects.filter(
            pk__in={item["product_id"] for item in result["without_supplier"]}
        ).values_list("pk", "sku")
    )
    codes = dict(
        Warehouse.objects.filter(
            pk__in={item["warehouse_id"] for item in result["without_supplier"]}
        ).values_list("pk", "code")
    )
    result["without_supplier"] = [
        {
            "sku": skus.get(item["product_id"]),
            "warehouse": codes.get(item["warehouse_id"]),
            "projected": item["projected"],
        }
        for item in result["without_supplier"]
    ]
    result["notices"] = dates["notices"]
    return result


def purchase_order_receive_and_fill(
    *,
    purchase_order: PurchaseOrder,
    items: Iterable[ReceiptItem],
    reference: str = "",
    note: str = "",
    actor: str = "system",
) -> dict:
    """Receive a delivery, then give the new stock to waiting orders oldest first.

    The receipt commits on its own (stock that arrived is a fact); each waiting order is then
    allocated in its own transaction in the receipt's name (the purchase order and `actor`
    in its history), moves on when complete, and its customer is told which items are on
    their way. Only then does the stock-arrival background fill hear of the stock (it takes
    whatever is left, e.g. past the first 500 orders), so this fill is the one reported.
    Raises what `purchase_order_receive` raises, with nothing written. Returns
    {"receipt", "orders": numbers that got stock, "filled": numbers now complete}.
    """
    with free_stock_batched():
        receipt = purchase_order_receive(
            purchase_order=purchase_order, items=items, reference=reference, note=note,
            actor=actor,
        )
        product_ids = list(
            receipt.lines.filter(quantity_received__gt=0).values_list(
                "line__product_id", flat=True
            )
        )
        fill = {"orders": [], "filled": []}
        if product_ids:
            fill = backorders_fill(
                product_ids=product_ids,
                actor=actor,
                source=f"Stock received on purchase order {purchase_order.number}",
                cause=f"{purchase_order.number} received",
                data={"purchase_order": purchase_order.number, "receipt": receipt.pk},
            )
    backorder_dates_refresh(product_ids=_product_ids(purchase_order), actor=actor)
    return {"receipt": receipt, **fill}


def backorders_fill(
    *,
    product_ids: list[int],
    actor: str,
    source: str,
    cause: str = "",
    data: dict | None = None,
) -> dict:
    """Give free stock of these products to waiting orders oldest first
    (`backorders_allocate`), and tell each customer what is now on its way. `source` says
    where the stock came from and `cause` what freed it ("PO000001 received"), for the
    order's history."""
    fill = backorders_allocate(product_ids=product_ids, actor=actor, cause=cause)
    for number in fill["orders"]:
        _tell_customer(number, source, data or {}, actor, is_filled=number in fill["filled"])
    return fill


def _tell_customer(number: str, source: str, data: dict, actor: str, is_filled: bool):
    from orders.notifications import order_email

    with transaction.atomic():
        order = Order.objects.select_related("channel", "customer").get(number=number)
        order_event_record(
            order=order, type="backorder_filled", actor=actor,
            message=f"{source} allocated"
            + ("; nothing is waiting any more." if is_filled else "; some units still wait."),
            data={**data, "is_filled": is_filled},
        )
        order_email(order=order, template="backorder_filled", extra={"is_filled": is_filled})


def purchase_order_send_and_date(
    *, purchase_order: PurchaseOrder, actor: str = "system", accept_below_minimum: bool = False
) -> PurchaseOrder:
    """Send a draft to its supplier (`purchase_order_send`), then re-date waiting lines."""
    purchase_order = purchase_order_send(
        purchase_order=purchase_order, actor=actor, accept_below_minimum=accept_below_minimum
    )
    backorder_dates_refresh(product_ids=_product_ids(purchase_order), actor=actor)
    return purchase_order


def purchase_order_reschedule(
    *, purchase_order: PurchaseOrder, expected_date: date, actor: str = "system"
) -> PurchaseOrder:
    """Move an open purchase order's expected date; customers waiting on it hear of the new
    date (once per date)."""
    purchase_order, _ = purchase_order_expected_date_set(
        purchase_order=purchase_order, expected_date=expected_date, actor=actor
    )
    backorder_dates_refresh(product_ids=_product_ids(purchase_order), actor=actor)
    return purchase_order


def purchase_order_cancel_and_redate(
    *, purchase_order: PurchaseOrder, actor: str = "system", reason: str = ""
) -> PurchaseOrder:
    """Cancel a purchase order; lines that waited on it are tied to another or lose the date."""
    purchase_order = purchase_order_cancel(
        purchase_order=purchase_order, actor=actor, reason=reason
    )
    backorder_dates_refresh(product_ids=_product_ids(purchase_order), actor=actor)
    return purchase_order


def purchase_order_close_and_redate(
    *, purchase_order: PurchaseOrder, actor: str = "system", reason: str = ""
) -> PurchaseOrder:
    """Close a purchase order whose rest will not come; lines that waited on the rest are
    tied to another or lose the date."""
    purchase_order = purchase_order_close(
        purchase_order=purchase_order, actor=actor, reason=reason
    )
    backorder_dates_refresh(product_ids=_product_ids(purchase_order), actor=actor)
    return purchase_order
