"""A purchase order receipt fills backorders in the name of the receipt: the orders' history
names the purchase order and who received it, and the admin and the API report what was
filled. The stock-arrival background fill still hears of the stock and finds nothing left."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.purchasing.receiving import ReceiptItem
from orders import replenishment
from orders.models import Order, OrderEvent
from orders.replenishment import purchase_order_receive_and_fill
from orders.tasks import backorders_fill_task
from tests.orders.test_backorder_dates import backordered, line_of, sent_order

# Real commits: the stock-arrival notification goes out the moment the receipt commits, as
# it does outside tests.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def background_fills(monkeypatch):
    """What the stock-arrival background fill was handed and did: it runs the moment it is
    enqueued, as eager mode or an idle worker would."""
    calls = []

    def run_now(product_ids):
        calls.append((product_ids, backorders_fill_task(product_ids)))

    monkeypatch.setattr("orders.tasks.backorders_fill_task.delay", run_now)
    return calls


@pytest.fixture
def waiting(shop):
    return [backordered(shop, "OLD", 3, days_ago=3), backordered(shop, "NEW", 3, days_ago=1)]


def filled_events(order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order, type="backorder_filled"))


def test_admin_receipt_reports_the_orders_it_filled_and_names_itself_in_their_history(
    admin_client, shop, waiting, background_fills
):
    purchase_order = sent_order(shop, 10)
    line = purchase_order.lines.get()
    url = reverse("admin:inventory_purchaseorder_receive", args=[purchase_order.pk])

    response = admin_client.post(url, {f"received_{line.pk}": "6", "reference": "DN-1"})

    assert response.status_code == 302
    numbers = ", ".join(order.number for order in waiting)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"{purchase_order}: received. Backordered orders that got stock: {numbers}; "
        f"complete now: {numbers}."
    ]
    for order in waiting:
        assert Order.objects.get(pk=order.pk).status == "processing"
        [event] = filled_events(order)
        assert (event.actor, event.message) == (
            "user:admin",
            f"Stock received on purchase order {purchase_order.number} allocated; "
            "nothing is waiting any more.",
        )
        assert event.data["purchase_order"] == purchase_order.number
        moved = OrderEvent.objects.get(order=order, type="status_changed", to_status="processing")
        assert (moved.actor, moved.message) == (
            "user:admin",
            f"Backordered units are now allocated ({purchase_order.number} received)",
        )
    # The stock-arrival fill hears of the stock after the receipt's own fill, when nobody
    # waits for it any more: no background task at all.
    assert background_fills == []


def test_receipt_reports_a_partly_filled_order_as_not_complete(
    shop, waiting, background_fills
):
    older, newer = waiting
    purchase_order = sent_order(shop, 10)

    result = purchase_order_receive_and_fill(
        purchase_order=purchase_order,
        items=[ReceiptItem(product=shop["products"]["A"], quantity_received=4)],
        reference="DN-1", actor="api:erp",
    )

    assert (result["orders"], result["filled"]) == ([older.number, newer.number], [older.number])
    [event] = filled_events(newer)
    assert (event.actor, event.message) == (
        "api:erp",
        f"Stock received on purchase order {purchase_order.number} allocated; "
        "some units still wait.",
    )
    assert event.data == {
        "purchase_order": purchase_order.number, "receipt": result["receipt"].pk,
        "is_filled": False,
    }
    assert line_of(newer).quantity_allocated == 1
    # The background fill still hears of the stock the newer order waits for, after the
    # receipt's own fill took it all.
    assert background_fills == [([shop["products"]["A"].pk], {"orders": [], "filled": []})]
    assert len(filled_events(newer)) == 1


def test_api_receipt_returns_the_orders_it_filled(
    staff_client, shop, waiting, background_fills
):
    purchase_order = sent_order(shop, 10)

    response = staff_client.post(
        f"/api/v1/purchase-orders/{purchase_order.number}/receipts/",
        {"reference": "DN-1", "lines": [{"sku": "A", "quantity_received": 6}]},
        format="json", HTTP_IDEMPOTENCY_KEY="receipt-1",
    )

    assert response.status_code == 201, response.content
    numbers = [order.number for order in waiting]
    assert (response.json()["orders"], response.json()["filled"]) == (numbers, numbers)


def test_a_receipt_whose_own_fill_fails_leaves_the_stock_to_the_background_fill(
    shop, waiting, background_fills, monkeypatch
):
    purchase_order = sent_order(shop, 10)

    fill = replenishment.backorders_fill

    def fill_failing_for_the_receipt(**kwargs):
        if kwargs.get("cause"):
            raise RuntimeError("the receipt's fill failed")
        return fill(**kwargs)

    monkeypatch.setattr(replenishment, "backorders_fill", fill_failing_for_the_receipt)
    with pytest.raises(RuntimeError):
        purchase_order_receive_and_fill(
            purchase_order=purchase_order,
            items=[ReceiptItem(product=shop["products"]["A"], quantity_received=6)],
            actor="user:admin",
        )

    purchase_order.refresh_from_db()
    assert purchase_order.status == "partially_received"  # the receipt stands
    numbers = [order.number for order in waiting]
    assert background_fills == [
        ([shop["products"]["A"].pk], {"orders": numbers, "filled": numbers})
    ]
