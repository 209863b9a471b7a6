"""Re-routing in the admin: a refusal says plainly why nothing moved."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import FulfillmentOrder
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def test_rerouting_where_no_other_location_can_take_the_units_says_so(admin_client, shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    response = admin_client.post(reverse("admin:orders_fulfillmentorder_changelist"), {
        "action": "reroute", "_selected_action": [fulfillment_order.pk], "apply": "1",
        "warehouse": "", "reason": "EAST short of staff",
    })
    assert response.status_code == 302
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert len(texts) == 1
    assert texts[0].startswith(
        f"FO-{fulfillment_order.pk}: No other location can take every unit of fulfillment "
        f"order {fulfillment_order.pk} (WEST: "
    ), texts
    assert texts[0].endswith("; nothing was changed.")
    assert "cannot" not in texts[0], texts
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.warehouse.code) == ("open", "EAST")
