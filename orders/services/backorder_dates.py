"""Backorders with dates: which purchase order fills each waiting line, and when.

Waiting lines (open units of backordered or partially shipped orders) take the units still to
come on purchase orders sent to the supplier and not yet fully received (never a draft: a
draft is only a plan, and a date from it is a promise nobody made), oldest order first, from
the soonest expected purchase order whose ship-to warehouse can serve the order (a warehouse
of its channel that ships, or the chosen pickup store). A line whose open units are all
covered is tied to the last purchase order it needs and carries that order's expected date; a
line not covered has no date. A purchase order expected before today is late: the line stays
tied to it but has no date (nobody is promised a day already past). Sending a purchase order
dates the lines it covers; cancelling or closing one moves its lines to another or takes their
date away.

The customer gets a delay notice with the date when a line first gets one and again whenever
it changes, once per date (`CustomerNotice` key `backorder_date:<line id>:<date>`, unique per
order). Each dated notice also records the undated `backorder:<line id>` cause, so the hourly
generic delay notice does not repeat what the customer already knows. A line that loses a
date its customer was given (the purchase order is late, cancelled or closed, and no other
covers it) is announced once too (key `backorder_date_lapsed:<line id>:<date>`), in the same
e-mail as the order's new dates; a line that never had a date gets the hourly undated notice.

`backordered_demand` gives inventory's projection its backordered units per (SKU, warehouse):
a line counts at the warehouse of the purchase order it is tied to, otherwise at the first
warehouse (by priority, then code) that would ship it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.purchasing.selectors import IncomingSupply, incoming_supply
from oms_project.changes import update_changed
from orders.events import order_event_record
from orders.models import CustomerNotice, FulfillmentMethod, Order, OrderLine, SalesChannel
from orders.services.backorders import WAITING_STATUSES
from orders.services.locks import order_lock

BATCH = 5000


def waiting_lines(*, product_ids: Iterable[int] | None = None):
    """Order lines with units waiting for stock, oldest order first."""
    lines = OrderLine.objects.filter(
        order__status__in=WAITING_STATUSES,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    return lines.select_related("order").order_by("order__placed_at", "order_id", "pk")


def _shipping_warehouses(channel_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active shipping warehouses per channel, first choice first (one query)."""
    rows = (
        SalesChannel.warehouses.through.objects.filter(
            saleschannel_id__in=list(channel_ids),
            warehouse__is_active=True,
            warehouse__can_ship=True,
        )
        .order_by("warehouse__priority", "warehouse__code")
        .values_list("saleschannel_id", "warehouse_id")
    )
    warehouses: dict[int, list[int]] = defaultdict(list)
    for channel_id, warehouse_id in rows:
        warehouses[channel_id].append(warehouse_id)
    return warehouses


def _eligible_warehouses(order: Order, shipping: dict[int, list[int]]) -> list[int]:
    if order.fulfillment_method == FulfillmentMethod.PICKUP:
        return [order.pickup_location_id] if order.pickup_location_id else []
    return shipping.get(order.channel_id, [])


def backordered_demand(product_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Backordered units per (product id, warehouse id), for inventory's projected stock."""
    lines = list(
        waiting_lines(product_ids=product_ids).select_related("backorder_purchase_order")[:BATCH]
    )
    shipping = _shipping_warehouses({line.order.channel_id for line in lines})
    demand: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        eligible = _eligible_warehouses(line.order, shipping)
        tied = line.backorder_purchase_order
        if tied is not None and tied.warehouse_id in eligible:
            warehouse_id = tied.warehouse_id
        elif eligible:
            warehouse_id = eligible[0]
        else:
            continue
        demand[(line.product_id, warehouse_id)] += line.quantity_open
    return dict(demand)


@dataclass
class _Slot:
    supply: IncomingSupply
    remaining: int


def _plan_dates(lines: list[OrderLine]) -> dict[int, tuple[int | None, date | None]]:
    """(purchase order id, expected date) for each line, oldest order first; no date from a
    purchase order expected before today."""
    today = timezone.localdate()
    slots: dict[int, list[_Slot]] = defaultdict(list)
    for supply in incoming_supply(product_ids={line.product_id for line in lines}):
        slots[supply.product_id].append(_Slot(supply, supply.quantity))
    shipping = _shipping_warehouses({line.order.channel_id for line in lines})
    plan = {}
    for line in lines:
        eligible = set(_eligible_warehouses(line.order, shipping))
        need, last = line.quantity_open, None
        for slot in slots[line.product_id]:
            if need == 0:
                break
            if slot.remaining == 0 or slot.supply.warehouse_id not in eligible:
                continue
            take = min(need, slot.remaining)
            slot.remaining -= take
            need -= take
            last = slot.supply
        if need > 0 or last is None:
            plan[line.pk] = (None, None)
        else:
            is_late = last.expected_date < today
            plan[line.pk] = (last.purchase_order_id, None if is_late else last.expected_date)
    return plan


def backorder_dates_refresh(
    *, product_ids: Iterable[int] | None = None, actor: str = "system"
) -> dict:
    """Tie waiting lines to the purchase orders expected to fill them and tell customers
    about new dates and about dates they were given that no longer hold (once per line and
    date).

    Lines that stopped waiting lose their tie. Returns {"dated": lines whose tie or date
    changed, "notices": e-mails queued}.
    """
    product_ids = None if product_ids is None else list(product_ids)
    _untie_finished(product_ids)
    lines = list(waiting_lines(product_ids=product_ids)[:BATCH])
    plan = _plan_dates(lines)
    changed: dict[int, list[tuple[OrderLine, int | None, date | None]]] = defaultdict(list)
    for line in lines:
        purchase_order_id, expected = plan[line.pk]
        current = (line.backorder_purchase_order_id, line.backorder_expected_date)
        if current != (purchase_order_id, expected):
            changed[line.order_id].append((line, purchase_order_id, expected))
    notices = sum(
        _order_lines_date(order_id, entries, actor) for order_id, entries in changed.items()
    )
    return {"dated": sum(len(entries) for entries in changed.values()), "notices": notices}


def _untie_finished(product_ids: list[int] | None) -> None:
    finished = OrderLine.objects.filter(
        Q(backorder_purchase_order__isnull=False) | Q(backorder_expected_date__isnull=False)
    ).filter(
        ~Q(order__status__in=WAITING_STATUSES)
        | Q(
            quantity__lte=F("quantity_allocated") + F("quantity_shipped")
            + F("quantity_cancelled")
        )
    )
    if product_ids is not None:
        finished = finished.filter(product_id__in=product_ids)
    order_ids = set(finished.values_list("order_id", flat=True))
    if order_ids:
        finished.update(backorder_purchase_order=None, backorder_expected_date=None)
        # The lines' dates are part of the order as the API shows it.
        update_changed(Order.objects.filter(pk__in=order_ids))


def _order_lines_date(order_id: int, entries: list, actor: str) -> int:
    """Store the new ties of one order's lines, log them, and send one notice for the new
    dates and the announced dates that lapsed."""
    try:
        with transaction.atomic():
            order = order_lock(order_id)
            lapsed = []
            for line, purchase_order_id, expected in entries:
                previous = line.backorder_expected_date
                OrderLine.objects.filter(pk=line.pk).update(
                    backorder_purchase_order_id=purchase_order_id,
                    backorder_expected_date=expected,
                )
                line.backorder_purchase_order_id = purchase_order_id
                line.backorder_expected_date = expected
                if expected is None and previous is not None:
                    line.previous_expected_date = previous
                    lapsed.append(line)
            update_changed(Order.objects.filter(pk=order.pk))  # its lines' dates changed
            _dated_event_record(order, entries, actor)
            dated = [line for line, _, expected in entries if expected is not None]
            return _date_notice_send(order, dated, lapsed)
    except IntegrityError:  # a concurrent refresh announced these dates a moment ago
        return 0


def _dated_event_record(order: Order, entries: list, actor: str) -> None:
    order_event_record(
        order=order, type="backorder_dated", actor=actor,
        message="; ".join(
            f"{line.sku}: expected {expected.isoformat() if expected else 'date unknown'}"
            for line, _, expected in entries
        ),
        data={
            "lines": [
                {
                    "line_id": line.pk,
                    "purchase_order_id": purchase_order_id,
                    "expected_date": expected.isoformat() if expected else None,
                }
                for line, purchase_order_id, expected in entries
            ]
        },
    )


def _date_notice_send(order: Order, dated: list[OrderLine], lapsed: list[OrderLine]) -> int:
    """E-mail the new dates and the lapsed dates the customer was told, unless already told;
    record each as a notice. Returns 1 when a notice was recorded."""
    from orders.notifications import order_email

    new = _new_notice_keys(order, dated)
    new_lapsed = _lapsed_notice_keys(order, lapsed)
    if not new and not new_lapsed:
        return 0
    keys = sorted({**new, **new_lapsed})
    CustomerNotice.objects.bulk_create(
        CustomerNotice(order=order, kind=CustomerNotice.Kind.DELAY, key=key) for key in keys
    )
    CustomerNotice.objects.bulk_create(
        [
            CustomerNotice(
                order=order, kind=CustomerNotice.Kind.DELAY, key=f"backorder:{line.pk}"
            )
            for line in new.values()
        ],
        ignore_conflicts=True,
    )
    message = order_email(
        order=order, template="backorder_delay",
        extra={
            "dated_lines": sorted(new.values(), key=lambda line: line.pk),
            "lapsed_lines": sorted(new_lapsed.values(), key=lambda line: line.pk),
        },
    )
    if message is not None:
        CustomerNotice.objects.filter(order=order, key__in=keys).update(email_id=message.pk)
    return 1


def notice_key(line: OrderLine) -> str:
    return f"backorder_date:{line.pk}:{line.backorder_expected_date.isoformat()}"


def lapsed_notice_key(line: OrderLine) -> str:
    return f"backorder_date_lapsed:{line.pk}:{line.previous_expected_date.isoformat()}"


def _new_notice_keys(order: Order, lines: list[OrderLine]) -> dict[str, OrderLine]:
    keys = {notice_key(line): line for line in lines}
    known = _known_keys(order, keys)
    return {key: line for key, line in keys.items() if key not in known}


def _lapsed_notice_keys(order: Order, lines: list[OrderLine]) -> dict[str, OrderLine]:
    """Lapsed-date notices still to send: only for dates the customer was told, once each."""
    announced = {
        f"backorder_date:{line.pk}:{line.previous_expected_date.isoformat()}": line
        for line in lines
    }
    told = _known_keys(order, announced)
    keys = {lapsed_notice_key(line): line for key, line in announced.items() if key in told}
    known = _known_keys(order, keys)
    return {key: line for key, line in keys.items() if key not in known}


def _known_keys(order: Order, keys) -> set[str]:
    if not keys:
        return set()
    return set(
        CustomerNotice.objects.filter(
            order=order, kind=CustomerNotice.Kind.DELAY, key__in=list(keys)
        ).values_list("key", flat=True)
    )
