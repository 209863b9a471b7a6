"""Reads of orders, confined to a channel when the caller is a channel."""

from collections import defaultdict

from django.db.models import Prefetch, Q, QuerySet

from inventory.models import StockReservation
from orders.models import Order, OrderLine, Payment


def orders_visible(*, channel=None, with_events: bool = False) -> QuerySet[Order]:
    queryset = Order.objects.select_related("channel", "pickup_location", "shipping_method")
    prefetches = [
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    ]
    if with_events:
        prefetches.append("events")
    queryset = queryset.prefetch_related(*prefetches)
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    return queryset


def order_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """Exact order number or channel order id, or the customer's e-mail (indexed lookups)."""
    term = term.strip()
    if not term:
        return queryset
    condition = Q(number=term) | Q(channel_order_id=term)
    if "@" in term:
        condition |= Q(email=term.lower())
    return queryset.filter(condition)


def orders_at_warehouse(queryset: QuerySet[Order], warehouse_code: str) -> QuerySet[Order]:
    """Orders with units allocated at, or shipped from, a warehouse."""
    references = StockReservation.objects.filter(
        stock_level__warehouse__code=warehouse_code, reference__startswith="order_line:"
    ).values_list("reference", flat=True)
    line_ids = [int(reference.split(":", 1)[1]) for reference in references]
    return queryset.filter(
        Q(lines__id__in=line_ids) | Q(shipments__warehouse__code=warehouse_code)
    ).distinct()


def allocations_for_orders(orders) -> dict[int, list[dict]]:
    """Where each line's allocated units sit: {line id: [{warehouse, quantity}]} (one query)."""
    references = [f"order_line:{line.pk}" for order in orders for line in order.lines.all()]
    result: dict[int, list[dict]] = defaultdict(list)
    if not references:
        return result
    rows = (
        StockReservation.objects.filter(reference__in=references)
        .values_list("reference", "stock_level__warehouse__code", "quantity")
        .order_by("reference", "id")
    )
    for reference, warehouse, quantity in rows:
        result[int(reference.split(":", 1)[1])].append(
            {"warehouse": warehouse, "quantity": quantity}
        )
    return result
