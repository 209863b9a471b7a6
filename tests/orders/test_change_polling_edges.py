"""Change polling: a hand-made cursor is bad input, and dates on an order's lines are changes
of the order (found reviewing the polling work)."""

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine

from orders.models import Order
from tests.orders.test_backorder_dates import backordered, line_of, sent_order

pytestmark = pytest.mark.django_db


def hand_made_cursor(position: str) -> str:
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


@pytest.mark.parametrize(
    "position", ["0001-01-01T00:00:00+05:00|1", "2026-03-01T08:00:00+00:00|99999999999999999999"]
)
def test_a_cursor_out_of_range_is_a_400_on_cursor(api, position):
    response = api.get(
        "/api/v1/orders/", {"ordering": "updated_at", "cursor": hand_made_cursor(position)}
    )
    assert response.status_code == 400, response.content[:300]
    assert "cursor" in response.json()["errors"]


def test_a_new_backorder_date_moves_the_order_updated_at(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    before = Order.objects.values_list("updated_at", flat=True).get(pk=order.pk)
    with time_machine.travel(before + timedelta(hours=1), tick=False):
        sent_order(shop, 10)  # a purchase order dates the waiting line
    assert line_of(order).backorder_expected_date is not None
    assert Order.objects.values_list("updated_at", flat=True).get(pk=order.pk) > before
