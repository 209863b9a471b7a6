"""The admin's orders CSV export carries what finance reconciles with the API and the journal:
`cancelled_total` and `refunded_total` (the last two columns, existing ones keep their place)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.services import order_cancel, order_create
from returns.services.refunds import order_refund
from tests.orders.conftest import order_data, shop, stock  # noqa: F401  (fixtures)
from tests.orders.test_accounting import two_line_order

pytestmark = pytest.mark.django_db


def export(admin_client) -> list[dict]:
    response = admin_client.get(reverse("admin:orders_order_export"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_new_columns_come_last(admin_client):
    response = admin_client.get(reverse("admin:orders_order_export"))
    header = next(csv.reader(io.StringIO(
        b"".join(response.streaming_content).decode("utf-8-sig")
    )))
    assert header[-4:] == ["paid_total", "refund_due", "cancelled_total", "refunded_total"]


def test_cancelled_and_refunded_totals_are_exported(admin_client, shop, stock):  # noqa: F811
    """73.00 paid; 2 x B (22.00) cancelled, the 22.00 refunded, then 5.00 goodwill."""
    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="73.00")
    order_cancel(order=order, actor="test", lines={order.lines.get(sku="B").pk: 2})
    order_refund(order=order, kind="cancellation", reason="", actor="test")
    order_refund(order=order, kind="goodwill", amount=Decimal("0.10"), reason="Late",
                 actor="test")
    order_refund(order=order, kind="goodwill", amount=Decimal("0.20"), reason="Later",
                 actor="test")
    [row] = export(admin_client)
    assert (row["total"], row["paid_total"], row["refund_due"]) == ("73.00", "73.00", "0.00")
    assert (row["cancelled_total"], row["refunded_total"]) == ("22.00", "22.30")


def test_an_order_with_nothing_cancelled_or_refunded_shows_zeros(
    admin_client, shop, stock  # noqa: F811
):
    two_line_order(shop, stock, b_units=1, shipping="0.00", tax="0.00", paid="50.00")
    [row] = export(admin_client)
    assert (row["cancelled_total"], row["refunded_total"]) == ("0.00", "0.00")


def test_the_export_reads_orders_and_refunds_in_one_query(
    admin_client, shop, stock  # noqa: F811
):
    """Streamed over up to a million orders: the refunds are summed in the same query, not
    read per order."""
    stock("A", "EAST", 10)
    orders = [
        order_create(channel=shop["channel"], actor="test",
                     data=order_data(channel_order_id=f"WEB-{index}"))
        for index in range(3)
    ]
    for order in orders:
        order_refund(order=order, kind="goodwill", amount=Decimal("1.00"), reason="Sorry",
                     actor="test")
    response = admin_client.get(reverse("admin:orders_order_export"))
    with CaptureQueriesContext(connection) as queries:
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["refunded_total"] for row in rows] == ["1.00"] * 3
    refund_reads = [query["sql"] for query in queries if "returns_refund" in query["sql"]]
    assert len(refund_reads) == 1, refund_reads
    assert len(queries) == 1, [query["sql"] for query in queries]
