"""Releasing a hold returns the order to the status it had before (service, API and admin)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent
from orders.services import order_create, order_hold, order_release_hold, shipment_create
from tests.orders.conftest import order_data
from tests.orders.shipping import line_ids, paid_order

pytestmark = pytest.mark.django_db


def partially_shipped(shop, stock) -> Order:
    """A paid order of 4 x A with 2 units shipped."""
    order = paid_order(shop, stock, quantity_a=4)
    shipment_create(order=order, reference="SH1", lines={line_ids(order)["A"]: 2}, actor="test")
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    return order


def status_events(order: Order) -> list[tuple[str, str]]:
    return list(
        OrderEvent.objects.filter(order=order, type="status_changed")
        .order_by("pk")
        .values_list("from_status", "to_status")
    )


def test_hold_records_the_status_it_interrupts_even_from_a_stale_copy(shop, stock):
    order = paid_order(shop, stock, quantity_a=4)
    stale = Order.objects.get(pk=order.pk)  # read while still processing
    shipment_create(order=order, reference="SH1", lines={line_ids(order)["A"]: 2}, actor="test")
    order_hold(order=stale, reason_code="address_issue", actor="test")
    event = OrderEvent.objects.filter(order=order, to_status="on_hold").get()
    assert event.from_status == "partially_shipped"
    assert event.data == {"hold_reason": "address_issue", "previous_status": "partially_shipped"}


def test_release_returns_a_partially_shipped_order_to_partially_shipped(shop, stock):
    order = partially_shipped(shop, stock)
    order_hold(order=order, reason_code="address_issue", actor="test")
    order_release_hold(order=order, actor="test")
    order.refresh_from_db()
    assert (order.status, order.hold_reason) == ("partially_shipped", "")
    assert status_events(order)[-2:] == [
        ("partially_shipped", "on_hold"),
        ("on_hold", "partially_shipped"),
    ]
    release = OrderEvent.objects.filter(order=order, type="status_changed").latest("pk")
    assert release.data["previous_status"] == "partially_shipped"
    line = order.lines.get()
    assert (line.quantity_shipped, line.quantity_allocated) == (2, 2)


def test_release_keeps_a_partially_shipped_order_waiting_for_stock_partially_shipped(
    shop, stock
):
    stock("A", "EAST", 2)
    order = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            lines=[{"sku": "A", "quantity": 4, "unit_price": Decimal("10.00")}],
            payment={"method": "card", "amount": Decimal("47.00"), "status": "captured"},
        ),
    )
    assert order.status == "backordered"
    shipment_create(order=order, reference="SH1", lines={line_ids(order)["A"]: 2}, actor="test")
    order_hold(order=order, reason_code="customer_request", actor="test")
    order_release_hold(order=order, actor="test")
    order.refresh_from_db()
    assert order.status == "partially_shipped"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [("processing", "processing"), ("backordered", "backordered"), ("created", "created")],
)
def test_release_returns_an_unshipped_order_to_its_status(shop, stock, setup, expected):
    if setup == "processing":
        stock("A", "EAST", 10)
    payment = None if setup == "created" else order_data()["payment"]
    order = order_create(channel=shop["channel"], actor="test", data=order_data(payment=payment))
    assert order.status == setup
    order_hold(order=order, reason_code="fraud_review", actor="test")
    order_release_hold(order=order, actor="test")
    order.refresh_from_db()
    assert order.status == expected
    assert status_events(order)[-2:] == [(setup, "on_hold"), ("on_hold", expected)]


def test_release_over_the_api_returns_to_partially_shipped(api, shop, stock):
    order = partially_shipped(shop, stock)
    base = f"/api/v1/orders/{order.number}"
    held = api.post(f"{base}/hold/", {"reason": "address_issue"}, format="json")
    assert held.status_code == 200, held.json()
    released = api.post(f"{base}/release-hold/", {"note": "address fixed"}, format="json")
    assert released.status_code == 200, released.json()
    assert released.json()["status"] == "partially_shipped"
    release = OrderEvent.objects.filter(order=order, type="status_changed").latest("pk")
    assert (release.from_status, release.to_status, release.message) == (
        "on_hold", "partially_shipped", "address fixed"
    )


def test_release_from_the_admin_returns_to_partially_shipped(admin_client, shop, stock):
    order = partially_shipped(shop, stock)
    order_hold(order=order, reason_code="address_issue", actor="test")
    url = reverse("admin:orders_order_object_action", args=[order.pk, "release_hold"])
    page = admin_client.post(url, follow=True).content.decode()
    assert "released, now partially shipped." in page
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    release = OrderEvent.objects.filter(order=order, type="status_changed").latest("pk")
    assert (release.from_status, release.to_status, release.actor) == (
        "on_hold", "partially_shipped", "user:admin"
    )


def test_cancelling_the_rest_of_a_held_partially_shipped_order_keeps_the_hold(shop, stock):
    """The hold stays until released; the release then finds nothing left to ship."""
    from orders.services import order_cancel

    order = partially_shipped(shop, stock)
    order_hold(order=order, reason_code="customer_request", actor="test")
    order_cancel(order=order, actor="test", lines={line_ids(order)["A"]: 2})
    order.refresh_from_db()
    assert order.status == "on_hold"
    order_release_hold(order=order, actor="test")
    order.refresh_from_db()
    assert order.status == "shipped"


def test_a_delivered_order_whose_rest_is_cancelled_completes(shop, stock):
    from oms_project.models import EmailMessage
    from orders.models import Shipment
    from orders.services import order_cancel
    from orders.services.tracking import shipment_mark_delivered

    order = partially_shipped(shop, stock)
    shipment_mark_delivered(shipment=Shipment.objects.get(order=order), actor="carrier")
    order_cancel(order=order, actor="test", lines={line_ids(order)["A"]: 2})
    order.refresh_from_db()
    assert order.status == "complete"
    assert EmailMessage.objects.filter(template="order_delivered").count() == 1


def test_a_held_order_released_after_its_parcels_arrived_completes(shop, stock):
    from orders.models import Shipment
    from orders.services import order_cancel
    from orders.services.tracking import shipment_mark_delivered

    order = partially_shipped(shop, stock)
    order_hold(order=order, reason_code="customer_request", actor="test")
    order_cancel(order=order, actor="test", lines={line_ids(order)["A"]: 2})
    shipment_mark_delivered(shipment=Shipment.objects.get(order=order), actor="carrier")
    order_release_hold(order=order, actor="test")
    order.refresh_from_db()
    assert order.status == "complete"
