"""Reads of orders, confined to a channel when the caller is a channel."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from inventory.models import StockReservation
from orders import pricing
from orders.models import MONEY, ZERO, Order, OrderLine, Payment


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


DETAIL_RELATED = ("lines", "payments", "events")


def order_attach_related(order: Order, **related: list) -> Order:
    """Give an order just written its related rows (lists in id order) as
    `orders_visible(with_events=True)` would prefetch them, so it renders without a re-read."""
    cache = getattr(order, "_prefetched_objects_cache", None) or {}
    for name, rows in related.items():
        # What Django's prefetching stores: the related manager's queryset, already evaluated.
        queryset = getattr(order, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        cache[name] = queryset
    order._prefetched_objects_cache = cache
    return order


def order_attach_allocations(order: Order, allocations: dict[int, list[dict]]) -> Order:
    """Give an order just written where its lines' units were reserved, as
    `allocations_for_orders` would read them ({line id: [{warehouse, quantity}]})."""
    order._allocations_written = allocations
    return order


def order_has_detail_related(order: Order) -> bool:
    cache = getattr(order, "_prefetched_objects_cache", None) or {}
    return all(name in cache for name in DETAIL_RELATED)


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
    """Orders routed to (a fulfillment order at) or shipped from a warehouse."""
    from orders.models import FulfillmentOrder, Shipment

    routed = FulfillmentOrder.objects.filter(order=OuterRef("pk"), warehouse__code=warehouse_code)
    shipped = Shipment.objects.filter(order=OuterRef("pk"), warehouse__code=warehouse_code)
    return queryset.filter(Exists(routed) | Exists(shipped))


def allocations_for_orders(orders) -> dict[int, list[dict]]:
    """Where each line's allocated units sit: {line id: [{warehouse, quantity}]} (one query,
    none when every order carries what its writer reserved)."""
    written = [getattr(order, "_allocations_written", None) for order in orders]
    if written and all(item is not None for item in written):
        return {line_id: rows for item in written for line_id, rows in item.items()}
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


def order_lifetime_value(
    *, order: Order, lines: Iterable[OrderLine], cancelling: dict[int, int] | None = None
) -> Decimal:
    """What the order adds to its customer's lifetime value before refunds: its total less the
    value of its cancelled units (`cancelling` {line id: units} counted as cancelled too), and
    nothing once every unit is cancelled.

    All cancelled units of a line are valued together, so a line cancelled in several steps
    takes off what it would at once, and an order cancelled in full takes off its whole total.
    """
    cancelling = cancelling or {}
    cancelled_value, is_kept = pricing.money(0), False
    for line in lines:
        cancelled = line.quantity_cancelled + cancelling.get(line.pk, 0)
        is_kept = is_kept or cancelled < line.quantity
        cancelled_value += pricing.line_units_value(order=order, line=line, units=cancelled)
    if not is_kept:
        return pricing.money(0)
    return max(order.total - cancelled_value, pricing.money(0))


def cancellation_preview(order: Order) -> dict:
    """What cancelling the whole order would do now: units per line, stock freed, refund."""
    from orders import pricing
    from orders.services.cancellation import NOT_CANCELLABLE

    if order.status in NOT_CANCELLABLE:
        return {"order": order, "allowed": False,
                "reason": f"It is {order.get_status_display().lower()}.", "lines": []}
    lines, refund = [], pricing.money(0)
    for line in order.lines.all():
        units = line.quantity - line.quantity_shipped - line.quantity_cancelled
        if units <= 0:
            continue
        released = max(units - line.quantity_open, 0)
        lines.append({"sku": line.sku, "units": units, "released": released,
                      "shipped": line.quantity_shipped})
        # Valued as cancelling values them: all cancelled units of the line together.
        refund += pricing.line_units_value(
            order=order, line=line, units=line.quantity_cancelled + units
        ) - pricing.line_units_value(order=order, line=line, units=line.quantity_cancelled)
    if not lines:
        return {"order": order, "allowed": False,
                "reason": "Every unit is already shipped or cancelled.", "lines": []}
    if all(line.quantity_shipped == 0 for line in order.lines.all()):
        refund = order.total - order.cancelled_total  # all that is left, shipping included
    refund = pricing.cancellation_refund(
        total=order.total,
        cancelled_total=order.cancelled_total,
        paid_total=order.paid_total,
        cancelling=refund,
        refundable=order_refundable_now(order),
    )
    return {"order": order, "allowed": True, "reason": "", "lines": lines, "refund": refund}


def order_refundable_now(order: Order) -> Decimal:
    """What of its payments the order still holds and does not owe back yet: paid, less every
    refund (goodwill included) and exchange credit its returns moved out, less the refund due
    (`returns.selectors.order_refundable`). A cancellation owes back no more, so a goodwill
    refund made before it is not paid back a second time."""
    # Refunds belong to the returns app, above orders: read here, where cancelling needs them.
    from returns.selectors import order_refundable

    return order_refundable(order=order)


# New columns go last, so a spreadsheet that reads the file by position keeps working.
# `refunded_total` is annotated (`_refunded_total`); the others are the order's fields.
ORDER_EXPORT_COLUMNS = (
    "number", "channel__code", "channel_order_id", "status", "placed_at", "email",
    "fulfillment_method", "payment_method", "shipping_method__code", "currency", "subtotal",
    "discount_total", "shipping_total", "tax_total", "total", "paid_total", "refund_due",
    "cancelled_total", "refunded_total",
)
LINE_EXPORT_COLUMNS = (
    "order__number", "order__channel__code", "order__status", "order__placed_at",
    "order__email", "id", "sku", "name", "quantity", "quantity_shipped", "quantity_cancelled",
    "quantity_returned", "unit_price", "discount", "line_total",
)


def order_export_rows(orders: QuerySet[Order], *, per_line: bool):
    """Header and a lazy row iterator for a CSV export of `orders` (streamed in chunks)."""
    if per_line:
        rows = (OrderLine.objects.filter(order__in=orders.values("pk"))
                .order_by("order_id", "id").values_list(*LINE_EXPORT_COLUMNS))
        header = [column.replace("order__", "order_").replace("__code", "") if column != "id"
                  else "line_id" for column in LINE_EXPORT_COLUMNS]
    else:
        rows = (orders.annotate(refunded_total=_refunded_total()).order_by("-placed_at", "-id")
                .values_list(*ORDER_EXPORT_COLUMNS))
        header = [column.replace("__code", "") for column in ORDER_EXPORT_COLUMNS]
        return header, (_refunded_to_the_cent(row) for row in rows.iterator(chunk_size=5000))
    return header, rows.iterator(chunk_size=5000)


def _refunded_total() -> Coalesce:
    """Sum each order's refunds (every recorded refund: each is reported as `refund.completed`,
    and the returns API's `refunded_total` sums them alike) in a subquery on the refunds'
    (order, id) index, so the export stays one query however many orders it streams."""
    from returns.models import Refund

    refunds = (Refund.objects.filter(order=OuterRef("pk")).order_by().values("order")
               .annotate(total=Sum("amount")).values("total"))
    return Coalesce(Subquery(refunds), Value(ZERO), output_field=DecimalField(**MONEY))


_REFUNDED_AT = ORDER_EXPORT_COLUMNS.index("refunded_total")


def _refunded_to_the_cent(row: tuple) -> tuple:
    # SQLite sums decimals as floats, and a computed sum is not quantized when read (73 -> "73").
    at = _REFUNDED_AT
    return (*row[:at], pricing.money(row[at]), *row[at + 1:])
