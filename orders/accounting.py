"""The daily accounting journal: sales, cancellations and refunds per channel and currency.

It is read from the day's outbox events, the same documented stream accounting systems
receive (`docs/events.md`): a sale is an `order.paid` event, a cancellation after payment an
`order.cancelled` event with a `refund_due`, a refund a `refund.completed` event. A refund of
money no sale had booked yet (`of_sale` false) is a part payment returned; when the order's
`order.paid` follows all the same (a goodwill refund made while it was part-paid), the sale's
day books it again as a refund of that sale and takes it off the part payments, so any run of
days nets to the money kept. Days are calendar days in `settings.TIME_ZONE`.
"""

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from oms_project.models import OutboxEvent
from orders.refund_methods import EXCHANGE_CREDIT

SALE, CANCELLATION, REFUND = "order.paid", "order.cancelled", "refund.completed"
ZERO = Decimal("0.00")
COLUMNS = [
    "date", "channel", "currency", "sales_count", "sales_total", "sales_tax",
    "sales_shipping", "sales_discount", "sales_exchange_credit", "cancellations_count",
    "cancellations_refund_due", "refunds_count", "refunds_total", "refunds_tax",
    "refunds_shipping", "refunds_exchange_credit", "refunds_part_payments", "net_total",
]


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except (InvalidOperation, ValueError):
        return ZERO


def neighbouring_days(day: date) -> tuple[date | None, date | None]:
    """The days before and after `day` (None past either end of the calendar), for the
    journal page's previous- and next-day links."""
    return (
        day - timedelta(days=1) if day > date.min else None,
        day + timedelta(days=1) if day < date.max else None,
    )


def _day_bounds(day: date) -> tuple[datetime | None, datetime | None]:
    """The day's first moment and the next day's; None where that lies past either end of
    what a datetime can hold (in `settings.TIME_ZONE` or in UTC), as no event lies there."""
    zone = timezone.get_default_timezone()
    _before, after = neighbouring_days(day)
    return _start_of(day, zone), _start_of(after, zone) if after else None


def _start_of(day: date, zone) -> datetime | None:
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    try:
        start.astimezone(UTC)
    except OverflowError:
        return None
    return start


def accounting_journal(*, day: date) -> list[dict]:
    """One row per (channel, currency) with the day's totals, amounts as strings.

    Reads the day's events in chunks, so memory stays flat however busy the day was.
    """
    start, end = _day_bounds(day)
    bounds = {"created_at__gte": start, "created_at__lt": end}
    totals: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(Decimal))
    events = (
        OutboxEvent.objects.filter(
            topic__in=[SALE, CANCELLATION, REFUND],
            **{lookup: moment for lookup, moment in bounds.items() if moment is not None},
        )
        .order_by("pk")
        .values_list("pk", "topic", "reference", "payload")
    )
    sales: dict[str, int] = {}
    for pk, topic, reference, payload in events.iterator(chunk_size=2000):
        if not isinstance(payload, dict):
            continue
        row = totals[(str(payload.get("channel", "")), str(payload.get("currency", "")))]
        if topic == SALE:
            # What the customer pays for: less what units cancelled before payment took off
            # (events written before the `sale` part was added carry the order's figures).
            sale = payload.get("sale") if isinstance(payload.get("sale"), dict) else payload
            row["sales_count"] += 1
            row["sales_total"] += _amount(sale.get("total"))
            row["sales_tax"] += _amount(sale.get("tax_total"))
            row["sales_shipping"] += _amount(sale.get("shipping_total"))
            row["sales_discount"] += _amount(sale.get("discount_total"))
            row["sales_exchange_credit"] += _amount(sale.get("exchange_credit"))
            if reference:
                sales.setdefault(reference, pk)
        elif topic == CANCELLATION:
            row["cancellations_count"] += 1
            row["cancellations_refund_due"] += _amount(payload.get("refund_due"))
        elif payload.get("method") == EXCHANGE_CREDIT:
            # Back to a return's exchange credit, not to the customer: no money moves.
            row["refunds_exchange_credit"] += _amount(payload.get("amount"))
        elif payload.get("of_sale") is False:
            # Money no sale had booked yet (a part payment of an order cancelled before it
            # was paid in full, or a goodwill refund before the order was): no refund of sales.
            row["refunds_part_payments"] += _amount(payload.get("amount"))
        else:
            _book_refund_of_sales(row, payload)
    for payload in _refunds_before_sales(sales):
        # The sale now books money these refunds gave back: they become refunds of it.
        row = totals[(str(payload.get("channel", "")), str(payload.get("currency", "")))]
        row["refunds_part_payments"] -= _amount(payload.get("amount"))
        _book_refund_of_sales(row, payload)
    rows = []
    for (channel, currency), values in sorted(totals.items()):
        row = {"date": day.isoformat(), "channel": channel, "currency": currency}
        for column in COLUMNS[3:-1]:
            value = values.get(column, 0)
            row[column] = int(value) if column.endswith("_count") else str(_money(value))
        row["net_total"] = str(
            _money(
                values["sales_total"] - values["sales_exchange_credit"] - values["refunds_total"]
            )
        )
        rows.append(row)
    return rows


def _book_refund_of_sales(row: dict, payload: dict) -> None:
    row["refunds_count"] += 1
    row["refunds_total"] += _amount(payload.get("amount"))
    row["refunds_tax"] += _amount(payload.get("tax_amount"))
    row["refunds_shipping"] += _amount(payload.get("shipping_amount"))


def _refunds_before_sales(sales: dict[str, int]) -> list[dict]:
    """The `refund.completed` payloads, with `of_sale` false and paid to the customer, of the
    orders whose `order.paid` event (of pk `sales[order number]`) came after them: money
    given back (a goodwill gesture) while the order was not yet paid in full, which its sale
    then books. One query per 500 sales."""
    references = list(sales)
    found = []
    for start in range(0, len(references), 500):
        events = (
            OutboxEvent.objects.filter(topic=REFUND, reference__in=references[start : start + 500])
            .order_by("pk")
            .values_list("pk", "reference", "payload")
        )
        found += [
            payload
            for pk, reference, payload in events
            if pk < sales[reference]
            and isinstance(payload, dict)
            and payload.get("of_sale") is False
            and payload.get("method") != EXCHANGE_CREDIT
        ]
    return found


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def accounting_journal_csv(rows: list[dict]) -> str:
    """The journal as CSV text with a header row (values are codes and numbers only)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _neutralise(row[column]) for column in COLUMNS})
    return buffer.getvalue()


def _neutralise(value):
    text = str(value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return value


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
