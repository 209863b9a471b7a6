"""Reads of returns and refunds, and what an order still allows to return or refund."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum

from orders import pricing
from orders.models import Order, OrderEvent, OrderLine, Shipment
from orders.refund_methods import EXCHANGE_CREDIT, paid_tenders
from orders.selectors import order_lifetime_value
from orders.states import OrderStatus
from returns.models import (
    Refund,
    RefundLine,
    ReturnEvent,
    ReturnExchangeItem,
    ReturnLine,
    ReturnRequest,
)
from returns.states import OPEN_STATUSES
from warehouses.models import Warehouse

ZERO = Decimal("0.00")


class OrderReturnStatus:
    """How much of an order came back, read from its lines (the order status is untouched)."""

    NOT_RETURNED = "not_returned"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"


def returns_visible(*, channel=None, with_details: bool = False) -> QuerySet[ReturnRequest]:
    """Returns, confined to a channel's own when the caller is a channel."""
    queryset = ReturnRequest.objects.select_related("order", "channel", "exchange_order")
    prefetches = [
        Prefetch(
            "lines",
            queryset=ReturnLine.objects.select_related("order_line", "restock_location").order_by(
                "id"
            ),
        ),
        Prefetch(
            "exchange_items",
            queryset=ReturnExchangeItem.objects.select_related("product").order_by("id"),
        ),
        Prefetch("refunds", queryset=Refund.objects.order_by("id")),
    ]
    if with_details:
        prefetches.append(Prefetch("events", queryset=ReturnEvent.objects.order_by("id")))
    queryset = queryset.prefetch_related(*prefetches)
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    return queryset


def return_restock_locations(*, return_request: ReturnRequest) -> QuerySet[Warehouse]:
    """Where staff may put a return's resellable units back on sale: the active locations
    that serve the return's channel, drop-ship vendors excepted (they hold no stock of ours)."""
    return (
        Warehouse.objects.filter(channels=return_request.channel_id, is_active=True)
        .exclude(kind=Warehouse.Kind.DROPSHIP)
        .order_by("code")
    )


def channel_location_codes(*, channel) -> frozenset[str]:
    """Codes of the locations that serve a channel: where its returns may be restocked."""
    return frozenset(channel.warehouses.values_list("code", flat=True))


def refunds_visible(*, channel=None) -> QuerySet[Refund]:
    queryset = Refund.objects.select_related("order", "order__channel", "return_request")
    queryset = queryset.prefetch_related(
        Prefetch("lines", queryset=RefundLine.objects.order_by("id"))
    )
    if channel is not None:
        queryset = queryset.filter(order__channel=channel)
    return queryset


def order_return_status(lines) -> str:
    """`not_returned`, `partially_returned` or `returned` (every shipped unit came back)."""
    shipped = sum(line.quantity_shipped for line in lines)
    returned = sum(line.quantity_returned for line in lines)
    if not returned:
        return OrderReturnStatus.NOT_RETURNED
    if returned >= shipped:
        return OrderReturnStatus.RETURNED
    return OrderReturnStatus.PARTIALLY_RETURNED


def units_held_by_open_returns(*, order: Order, exclude_pk: int | None = None) -> dict[int, int]:
    """Units of each line named by returns still on their way (requested or approved)."""
    rows = ReturnLine.objects.filter(
        return_request__order=order, return_request__status__in=OPEN_STATUSES
    )
    if exclude_pk is not None:
        rows = rows.exclude(return_request_id=exclude_pk)
    held: dict[int, int] = defaultdict(int)
    for line_id, units in rows.values_list("order_line_id", "quantity"):
        held[line_id] += units
    return held


def returnable_quantities(*, order: Order, lines=None) -> dict[int, int]:
    """Units of each line that may still be returned: shipped, minus returned, minus held."""
    lines = lines if lines is not None else OrderLine.objects.filter(order=order)
    held = units_held_by_open_returns(order=order)
    return {
        line.pk: max(line.quantity_shipped - line.quantity_returned - held.get(line.pk, 0), 0)
        for line in lines
    }


def return_window_opened_at(*, order: Order) -> datetime:
    """When the return window started: the last delivery (or dispatch) of the order's parcels;
    for collected pickup orders the collection; otherwise when the order was placed."""
    moments = [
        delivered or shipped
        for delivered, shipped in Shipment.objects.filter(order=order).values_list(
            "delivered_at", "shipped_at"
        )
    ]
    if moments:
        return max(moments)
    completed = (
        OrderEvent.objects.filter(order=order, to_status=OrderStatus.COMPLETE)
        .order_by("-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return completed or order.placed_at


def return_window_closes_at(*, order: Order) -> datetime:
    return return_window_opened_at(order=order) + timedelta(days=order.channel.return_window_days)


def units_refunded(*, order: Order) -> dict[int, int]:
    """Units of each line already paid back by refunds."""
    refunded: dict[int, int] = defaultdict(int)
    rows = RefundLine.objects.filter(refund__order=order).values_list("order_line_id", "quantity")
    for line_id, units in rows:
        refunded[line_id] += units
    return refunded


def units_valued_before(*, order: Order) -> dict[int, int]:
    """Units of each line whose value already left the order, counted from the line's first
    unit: those cancelled (a cancellation values them first, `orders.services.order_cancel`)
    and those paid back by refunds other than for cancelled units. The next returned units are
    valued after these (`refund_pricing.line_refund`), so the parts add up to the line."""
    valued: dict[int, int] = defaultdict(int)
    for line_id, cancelled in OrderLine.objects.filter(
        order=order, quantity_cancelled__gt=0
    ).values_list("pk", "quantity_cancelled"):
        valued[line_id] += cancelled
    rows = (
        RefundLine.objects.filter(refund__order=order)
        .exclude(refund__kind=Refund.Kind.CANCELLATION)
        .values_list("order_line_id", "quantity")
    )
    for line_id, units in rows:
        valued[line_id] += units
    return valued


def refunded_totals(*, order: Order) -> dict[str, Decimal]:
    """What was refunded on the order so far: `amount` and its `shipping_amount`."""
    totals = Refund.objects.filter(order=order).aggregate(
        amount=Sum("amount"), shipping_amount=Sum("shipping_amount")
    )
    # Money to the cent: SQLite sums decimals as floats (0.1 + 0.2 = 0.30000000000000004).
    return {key: pricing.money(value or ZERO) for key, value in totals.items()}


def order_paid_back(*, order: Order) -> Decimal:
    """What of the order's payments went back to the customer: every refund (for returns,
    cancelled units and goodwill) and the exchange credit its returns gave to replacement
    orders and that those kept (value that went back as goods; credit a cancelled replacement
    gave back is the order's to refund again)."""
    kept = exchange_credit_kept(order_ids=[order.pk]).get(order.pk, ZERO)
    return refunded_totals(order=order)["amount"] + kept


def order_refundable(*, order: Order) -> Decimal:
    """What may still be refunded for returns and as goodwill, and what a cancellation may
    still owe back: what was paid, less what went back (`order_paid_back`), and less
    `Order.refund_due`, the money already owed back for cancelled units (a refund of those
    may use it, within what was paid and not yet given back)."""
    return max(order.paid_total - order_paid_back(order=order) - order.refund_due, ZERO)


def return_exchange_credit_kept(*, return_request: ReturnRequest) -> Decimal:
    """The exchange credit of one return that its replacement order still keeps: the credit
    that paid it less what a cancelled or returned replacement gave back to the credit."""
    if not return_request.exchange_credit or not return_request.exchange_order_id:
        return ZERO
    back = Refund.objects.filter(
        order_id=return_request.exchange_order_id, method=EXCHANGE_CREDIT
    ).aggregate(total=Sum("amount"))["total"] or ZERO
    return pricing.money(max(return_request.exchange_credit - back, ZERO))


def exchange_credit_kept(*, order_ids: list[int]) -> dict[int, Decimal]:
    """Per order, the exchange credit its returns gave to replacement orders that those still
    keep: what each return's credit paid less what a cancelled replacement gave back to it
    (refunds of the replacement with method `exchange_credit`). Two queries."""
    rows = list(
        ReturnRequest.objects.filter(order_id__in=order_ids, exchange_credit__gt=0).values_list(
            "order_id", "exchange_credit", "exchange_order_id"
        )
    )
    back = _sums_by_order(
        Refund.objects.filter(
            order_id__in=[replacement for _o, _c, replacement in rows if replacement],
            method=EXCHANGE_CREDIT,
        ),
        "amount",
    ) if rows else {}
    kept: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, credit, replacement in rows:
        kept[order_id] += max(credit - back.get(replacement, ZERO), ZERO)
    return {order_id: pricing.money(total) for order_id, total in kept.items()}


@dataclass(frozen=True)
class ExchangeTenders:
    """What an order paid partly or wholly with a return's exchange credit can still give back
    to that credit and to the customer's other payments (card, bank, ...)."""

    credit_paid: Decimal
    credit_left: Decimal
    other_paid: Decimal
    other_left: Decimal
    other_method: str  # the method of its last captured other payment, "" if none


def exchange_tenders(*, order: Order) -> ExchangeTenders | None:
    """None unless the order was paid (partly) with exchange credit."""
    paid = paid_tenders(order)
    if not paid.credit_paid:
        return None
    refunded = {True: ZERO, False: ZERO}
    for method, amount in Refund.objects.filter(order=order).values_list("method", "amount"):
        refunded[method == EXCHANGE_CREDIT] += amount
    return ExchangeTenders(
        credit_paid=pricing.money(paid.credit_paid),
        credit_left=pricing.money(max(paid.credit_paid - refunded[True], ZERO)),
        other_paid=pricing.money(paid.other_paid),
        other_left=pricing.money(max(paid.other_paid - refunded[False], ZERO)),
        other_method=paid.other_method,
    )


def order_lifetime_value_left(*, order: Order) -> Decimal:
    """What the order still adds to its customer's lifetime value (`orders_lifetime_value_left`
    for one order)."""
    lines = list(OrderLine.objects.filter(order=order))
    return orders_lifetime_value_left(orders=[(order, lines)])[order.pk]


def orders_lifetime_value_left(
    *, orders: list[tuple[Order, list[OrderLine]]]
) -> dict[int, Decimal]:
    """What each order still adds to its customer's lifetime value: its value after
    cancellations less what refunds for returns and goodwill paid back and what exchange credit
    moved to replacement orders and stayed there (they count it on their own). Refunds for
    cancelled units are not taken again: the cancellation took their value off.

    `orders` pairs each order with its lines; the refunds and returns of all the orders are
    read in three queries."""
    ids = [order.pk for order, _lines in orders]
    paid_back = _sums_by_order(
        Refund.objects.filter(order_id__in=ids).exclude(kind=Refund.Kind.CANCELLATION), "amount"
    )
    moved = exchange_credit_kept(order_ids=ids)
    return {
        order.pk: max(
            order_lifetime_value(order=order, lines=lines)
            - paid_back.get(order.pk, ZERO)
            - moved.get(order.pk, ZERO),
            ZERO,
        )
        for order, lines in orders
    }


def _sums_by_order(queryset, field: str) -> dict[int, Decimal]:
    rows = queryset.values("order_id").annotate(total=Sum(field)).values_list("order_id", "total")
    # Money to the cent: SQLite sums decimals as floats.
    return {order_id: pricing.money(total or ZERO) for order_id, total in rows}


def order_returns_summary(*, order: Order) -> dict:
    """The order's return status, per-line quantities and its returns (for the API)."""
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    returnable = returnable_quantities(order=order, lines=lines)
    return {
        "order": order.number,
        "return_status": order_return_status(lines),
        "return_window_closes_at": return_window_closes_at(order=order),
        "refund_due": order.refund_due,
        "refunded_total": refunded_totals(order=order)["amount"],
        "refundable": order_refundable(order=order),
        "lines": [
            {
                "line_id": line.pk,
                "sku": line.sku,
                "quantity": line.quantity,
                "quantity_shipped": line.quantity_shipped,
                "quantity_returned": line.quantity_returned,
                "quantity_returnable": returnable[line.pk],
            }
            for line in lines
        ],
    }


def order_return_statuses(order_ids) -> dict[int, str]:
    """Return status of many orders in one query (for lists and admin pages)."""
    by_order: dict[int, list] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=list(order_ids)).only(
        "order_id", "quantity_shipped", "quantity_returned"
    ):
        by_order[line.order_id].append(line)
    return {order_id: order_return_status(lines) for order_id, lines in by_order.items()}
