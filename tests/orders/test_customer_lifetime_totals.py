"""A customer's lifetime totals count what they kept: cancellations come off, history stays."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Customer
from orders.models import Order
from orders.services import order_cancel, order_create
from tests.orders.conftest import order_data
from tests.orders.shipping import post_json as post
from tests.orders.test_order_apis import body

pytestmark = pytest.mark.django_db


def totals(customer_id: int) -> tuple[int, Decimal]:
    customer = Customer.objects.get(pk=customer_id)
    return customer.orders_count, customer.lifetime_value


def place(shop, channel_order_id: str, **overrides) -> Order:
    order = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(channel_order_id=channel_order_id, **overrides),
    )
    order.refresh_from_db()
    return order


def test_a_partial_cancellation_takes_the_cancelled_units_off_lifetime_value(shop, stock):
    stock("A", "EAST", 5)
    order = place(shop, "WEB-1")  # 2 x 10.00 + 2.00 tax + 5.00 shipping
    assert totals(order.customer_id) == (1, Decimal("27.00"))

    order_cancel(order=order, actor="ops", lines={order.lines.get().pk: 1})

    # One unit with its share of tax; the order still ships, so its shipping stays.
    assert totals(order.customer_id) == (1, Decimal("16.00"))


def test_a_full_cancellation_takes_the_order_out_of_the_lifetime_totals(shop, stock):
    stock("A", "EAST", 10)
    kept = place(shop, "WEB-1")
    cancelled = place(shop, "WEB-2")
    assert totals(kept.customer_id) == (2, Decimal("54.00"))

    order_cancel(order=cancelled, actor="ops", reason="customer asked")

    assert totals(kept.customer_id) == (1, Decimal("27.00"))
    assert set(Order.objects.filter(customer_id=kept.customer_id)) == {kept, cancelled}


def test_an_unpaid_order_cancelled_in_steps_leaves_nothing_behind(shop, stock):
    """The customer's totals counted the order on arrival; its refund is zero, its value not."""
    order = place(
        shop,
        "WEB-1",
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 3, "unit_price": Decimal("5.00"),
             "discount": Decimal("1.00")},
        ],
        discount_total=Decimal("3.40"),
        tax_total=Decimal("2.72"),
        shipping_total=Decimal("5.00"),
        payment=None,
    )
    assert totals(order.customer_id) == (1, Decimal("38.32"))
    line_b = order.lines.get(sku="B")

    order_cancel(order=order, actor="ops", lines={line_b.pk: 1})
    assert totals(order.customer_id) == (1, Decimal("33.75"))  # one B is worth 4.57
    order_cancel(order=order, actor="ops", lines={line_b.pk: 1})
    order_cancel(order=order, actor="ops", lines={line_b.pk: 1})
    assert totals(order.customer_id) == (1, Decimal("24.60"))  # all of B is worth 13.72
    order_cancel(order=order, actor="ops")

    assert totals(order.customer_id) == (0, Decimal("0.00"))
    assert Order.objects.get(pk=order.pk).refund_due == Decimal("0.00")


def test_a_refused_cancellation_leaves_the_lifetime_totals_alone(shop, stock):
    from orders.errors import InvalidTransition

    stock("A", "EAST", 5)
    order = place(shop, "WEB-1")
    order_cancel(order=order, actor="ops")

    with pytest.raises(InvalidTransition):
        order_cancel(order=order, actor="ops")

    assert totals(order.customer_id) == (0, Decimal("0.00"))


def test_the_customer_api_shows_lifetime_totals_net_of_cancellations(api, stock, make_client):
    stock("A", "EAST", 10)
    kept = post(api, "/api/v1/orders/", body(channel_order_id="WEB-1")).json()
    gone = post(api, "/api/v1/orders/", body(channel_order_id="WEB-2")).json()
    line_id = kept["lines"][0]["line_id"]
    assert post(api, f"/api/v1/orders/{kept['number']}/cancel/",
                {"lines": [{"line_id": line_id, "quantity": 1}]}).status_code == 200
    assert post(api, f"/api/v1/orders/{gone['number']}/cancel/", {}).status_code == 200
    customer_id = Order.objects.get(number=kept["number"]).customer_id

    # The merchant-wide totals are for back-office keys; the channel reads its own history.
    crm = make_client(scopes=["customers:read"])
    profile = crm.get(f"/api/v1/customers/{customer_id}/").json()
    history = api.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]

    assert (profile["orders_count"], profile["lifetime_value"]) == (1, "16.00")
    assert "lifetime_value" not in api.get(f"/api/v1/customers/{customer_id}/").json()
    assert {order["number"]: order["status"] for order in history} == {
        kept["number"]: "processing",
        gone["number"]: "cancelled",
    }


def test_the_admin_customer_page_shows_lifetime_totals_net_of_cancellations(
    admin_client, shop, stock
):
    stock("A", "EAST", 10)
    place(shop, "WEB-1")
    cancelled = place(shop, "WEB-2")
    order_cancel(order=cancelled, actor="ops")

    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[cancelled.customer_id])
    )

    assert page.status_code == 200
    html = page.content.decode()
    shown = {
        name: re.search(rf'fieldBox field-{name}">.*?"readonly">([^<]*)<', html, re.S)[1]
        for name in ("orders_count", "lifetime_value")
    }
    assert shown == {"orders_count": "1", "lifetime_value": "27.00"}
    assert "All orders of this customer</a>, cancelled ones included" in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancellations_racing_for_one_customer_all_come_off(shop, stock):
    from tests.orders.test_concurrency import race

    stock("A", "EAST", 20)
    orders = [place(shop, f"WEB-{index}") for index in range(8)]
    customer_id = orders[0].customer_id
    assert totals(customer_id) == (8, Decimal("216.00"))

    race(8, lambda index: order_cancel(order=orders[index], actor="ops"))

    assert totals(customer_id) == (0, Decimal("0.00"))
