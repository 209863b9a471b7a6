"""The daily accounting journal: sales, cancellations and refunds per channel, JSON and CSV."""

from decimal import Decimal

import pytest
from django.utils import timezone

from oms_project.models import OutboxEvent
from orders.services import order_cancel
from orders.services.customer_notices import refund_notify
from tests.factories import SalesChannelFactory
from tests.orders.shipping import paid_order

pytestmark = pytest.mark.django_db


def two_line_order(shop, stock, *, b_units: int, shipping: str, tax: str, paid: str):
    """4 x A and `b_units` x B at 10.00, with `paid` captured at creation."""
    from orders.services import order_create
    from tests.orders.conftest import order_data

    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    return order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            lines=[
                {"sku": "A", "quantity": 4, "unit_price": Decimal("10.00")},
                {"sku": "B", "quantity": b_units, "unit_price": Decimal("10.00")},
            ],
            shipping_total=Decimal(shipping),
            tax_total=Decimal(tax),
            payment={"method": "card", "amount": Decimal(paid), "status": "captured",
                     "reference": "p1"},
        ),
    )


@pytest.fixture
def day_of_business(shop, stock):
    """Two paid orders (27.00 and 37.00), one cancelled in full, one refund of 5.00."""
    first = paid_order(shop, stock, quantity_a=2)
    second = paid_order(shop, stock, quantity_a=3, channel_order_id="WEB-2")
    order_cancel(order=second, actor="test", reason="customer changed mind")
    refund_notify(
        order=first, refund_reference="R-1", amount=Decimal("5.00"), actor="test",
        tax_amount=Decimal("0.50"), shipping_amount=Decimal("0.00"),
    )
    return timezone.localdate()


def test_journal_sums_the_day_per_channel(day_of_business):
    from orders.accounting import accounting_journal

    [row] = accounting_journal(day=day_of_business)
    assert row == {
        "date": day_of_business.isoformat(),
        "channel": "web",
        "currency": "USD",
        "sales_count": 2,
        "sales_total": "64.00",
        "sales_tax": "4.00",
        "sales_shipping": "10.00",
        "sales_discount": "0.00",
        "sales_exchange_credit": "0.00",
        "cancellations_count": 1,
        "cancellations_refund_due": "37.00",
        "refunds_count": 1,
        "refunds_total": "5.00",
        "refunds_tax": "0.50",
        "refunds_shipping": "0.00",
        "refunds_exchange_credit": "0.00",
        "refunds_part_payments": "0.00",
        "net_total": "59.00",
    }


def test_a_sale_is_booked_net_of_units_cancelled_before_it_was_paid(shop, stock):
    """4 x A and 2 x B at 10.00, shipping 7.00, tax 6.00 (73.00); 40.00 paid, then the two B
    units (20.00 and a third of the tax: 22.00) are cancelled, leaving 51.00, which a second
    payment of 11.00 completes. The sale is 51.00, of which 4.00 tax and 7.00 shipping."""
    from orders.accounting import accounting_journal
    from orders.services import payment_apply

    order = two_line_order(shop, stock, b_units=2, shipping="7.00", tax="6.00", paid="40.00")
    line_b = order.lines.get(sku="B")
    order_cancel(order=order, actor="test", lines={line_b.pk: 2})
    payment_apply(order=order, method="card", amount=Decimal("11.00"), status="captured",
                  reference="p2", actor="test")
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["sales_count"], row["sales_total"], row["sales_tax"], row["sales_shipping"]) == (
        1, "51.00", "4.00", "7.00"
    )
    assert row["cancellations_refund_due"] == "0.00"  # nothing was paid for the B units


def test_journal_api_json_and_csv(day_of_business, make_client):
    client = make_client(scopes=["accounting:read"])
    day = day_of_business.isoformat()
    response = client.get(f"/api/v1/accounting/journal/?date={day}")
    assert response.status_code == 200
    assert response.json()["rows"][0]["sales_total"] == "64.00"
    csv_response = client.get(f"/api/v1/accounting/journal/?date={day}&format=csv")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response["Content-Disposition"] == f'attachment; filename="journal-{day}.csv"'
    lines = csv_response.content.decode().splitlines()
    assert lines[0].startswith("date,channel,currency,sales_count,sales_total")
    assert lines[1] == (
        f"{day},web,USD,2,64.00,4.00,10.00,0.00,0.00,1,37.00,1,5.00,0.50,0.00,0.00,0.00,59.00"
    )


def test_other_days_and_channels_are_separate(day_of_business, shop, stock):
    from orders.accounting import accounting_journal

    OutboxEvent.objects.create(
        topic="order.paid",
        payload={"channel": "market", "currency": "EUR", "total": "10.00", "tax_total": "1.00",
                 "shipping_total": "0.00", "discount_total": "0.00"},
    )
    SalesChannelFactory(code="market")
    rows = accounting_journal(day=day_of_business)
    assert [(row["channel"], row["currency"], row["sales_total"]) for row in rows] == [
        ("market", "EUR", "10.00"), ("web", "USD", "64.00")
    ]
    yesterday = day_of_business.fromordinal(day_of_business.toordinal() - 1)
    assert accounting_journal(day=yesterday) == []


@pytest.mark.parametrize("query", ["", "?date=", "?date=2026-02-30", "?date=yesterday"])
def test_journal_api_needs_a_valid_date(make_client, db, query):
    response = make_client(scopes=["accounting:read"]).get(f"/api/v1/accounting/journal/{query}")
    assert response.status_code == 400
    assert response.json()["errors"] == {"date": ["Use a date in the form YYYY-MM-DD."]}


def test_journal_api_needs_the_accounting_scope(make_client, channel):
    for client in (make_client(scopes=["orders:read"]), make_client(channel=channel)):
        response = client.get("/api/v1/accounting/journal/?date=2026-01-01")
        assert response.status_code == 403


def test_a_part_payment_left_over_by_a_cancellation_is_booked_then_refunded(shop, stock):
    """100.00 ordered, 80.00 paid, 60.00 of units cancelled: the order is paid and 40.00 is
    owed back. The sale books the 80.00 paid, the refund the 40.00: net 40.00, the cash."""
    from orders.accounting import accounting_journal
    from returns.services import order_refund

    order = two_line_order(shop, stock, b_units=6, shipping="0.00", tax="0.00", paid="80.00")
    order_cancel(order=order, actor="test", lines={order.lines.get(sku="B").pk: 6})
    order.refresh_from_db()
    assert (order.status, order.refund_due) == ("processing", Decimal("40.00"))
    order_refund(order=order, kind="cancellation", reason="", actor="test")
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["sales_total"], row["refunds_total"], row["net_total"]) == (
        "80.00", "40.00", "40.00"
    )


def test_a_part_payment_of_an_order_cancelled_unpaid_is_no_sale_and_no_refund_of_sales(
    shop, stock
):
    """20.00 of 37.00 paid, then everything cancelled: the 20.00 goes back. No sale was
    booked, so its refund is a part payment returned, not a refund of sales."""
    from orders.accounting import accounting_journal
    from orders.services import order_create
    from returns.services import order_refund
    from tests.orders.conftest import order_data

    stock("A", "EAST", 10)
    order = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(payment={"method": "card", "amount": Decimal("20.00"),
                                 "status": "captured", "reference": "p1"}),
    )
    order_cancel(order=order, actor="test")
    order_refund(order=order, kind="cancellation", reason="", actor="test")
    [row] = accounting_journal(day=timezone.localdate())
    assert (row["sales_total"], row["refunds_total"], row["refunds_part_payments"]) == (
        "0.00", "0.00", "20.00"
    )
    assert row["net_total"] == "0.00"
