"""Subscription pages in the admin: a refusal of the service reads as a sentence."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.subscription_models import SubscriptionLine
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 20, 12)


@pytest.fixture
def subscription(shop):
    return make_subscription(
        shop, at=NOW, lines=[
            {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 1, "unit_price": Decimal("3.00")},
        ],
    )


def test_removing_every_line_says_so_once_without_a_dict(admin_client, subscription):
    url = reverse("admin:orders_subscription_change_contents", args=[subscription.pk])
    with frozen(NOW):
        response = admin_client.post(url, {
            "quantity_A": "0", "quantity_B": "0", "line1": "9 Oak Ave", "city": "Sparks",
            "country": "US",
        })
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "__all__": ["A subscription keeps at least one line; cancel it instead."]
    }
    assert "{&#x27;quantities" not in response.content.decode()
    assert list(SubscriptionLine.objects.order_by("pk").values_list("quantity", flat=True)) == [
        2, 1
    ]
