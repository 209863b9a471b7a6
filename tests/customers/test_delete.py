"""Deleting a customer: a channel unlinks a shared profile unless it has orders of its own;
a profile is deleted only when nothing the merchant must keep refers to it."""

import pytest

from customers import services
from customers.errors import CustomerHasOrders, CustomerHasSubscriptions
from customers.models import Customer, CustomerChannel
from orders.subscription_models import Subscription
from tests.factories import CustomerFactory, OrderFactory, SalesChannelFactory
from tests.oms_project.test_api_auth import assert_problem

pytestmark = pytest.mark.django_db


def link(customer, *channel_codes: str) -> None:
    for code in channel_codes:
        CustomerChannel.objects.create(customer=customer, channel_code=code)


def channel_codes(customer) -> list[str]:
    return sorted(customer.channels.values_list("channel_code", flat=True))


def test_channel_unlinks_a_customer_whose_orders_belong_to_another_channel(make_client):
    web = SalesChannelFactory(code="web")
    market = SalesChannelFactory(code="market")
    customer = CustomerFactory()
    link(customer, "web", "market")
    OrderFactory(customer=customer, channel=web)  # the web shop's order, not the market's

    market_client = make_client(channel=market)
    response = market_client.delete(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 204, response.content
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert channel_codes(customer) == ["web"]
    assert market_client.get(f"/api/v1/customers/{customer.pk}/").status_code == 404


def test_channel_with_its_own_orders_cannot_unlink_a_shared_customer(make_client):
    web = SalesChannelFactory(code="web")
    SalesChannelFactory(code="market")
    customer = CustomerFactory()
    link(customer, "web", "market")
    OrderFactory(customer=customer, channel=web)

    response = make_client(channel=web).delete(f"/api/v1/customers/{customer.pk}/")

    assert_problem(response, 409, "customer_has_orders")
    assert "on this channel" in response.json()["detail"]
    assert channel_codes(customer) == ["market", "web"]


def test_service_refuses_a_channel_its_own_orders_and_changes_nothing():
    web = SalesChannelFactory(code="web")
    customer = CustomerFactory()
    link(customer, "web", "market")
    OrderFactory(customer=customer, channel=web)

    with pytest.raises(CustomerHasOrders):
        services.customer_delete(customer=customer, channel_code="web")

    assert channel_codes(customer) == ["market", "web"]


def test_staff_cannot_delete_a_customer_with_orders_on_any_channel():
    customer = CustomerFactory()
    link(customer, "market")
    OrderFactory(customer=customer, channel=SalesChannelFactory(code="web"))

    with pytest.raises(CustomerHasOrders):
        services.customer_delete(customer=customer)

    assert channel_codes(customer) == ["market"]


def test_customer_with_only_a_cancelled_subscription_can_be_deleted(shop, stock, api):
    """Never ordered, subscription cancelled before its first run: nothing the merchant must
    keep, so the profile (personal data) can be erased; the answer is not "has orders"."""
    from orders.subscriptions.services import subscription_cancel
    from tests.orders.test_subscription_support import make_subscription, utc

    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12))
    subscription_cancel(subscription=subscription, actor="test")
    customer = subscription.customer

    response = api.delete(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 204, response.content
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Subscription.objects.filter(pk=subscription.pk).exists()


def test_customer_with_an_active_subscription_is_refused_naming_it(shop, stock, api):
    from tests.orders.test_subscription_support import make_subscription, utc

    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12))
    customer = subscription.customer

    response = api.delete(f"/api/v1/customers/{customer.pk}/")

    assert_problem(response, 409, "customer_has_subscriptions")
    assert "active subscription" in response.json()["detail"]
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Subscription.objects.filter(pk=subscription.pk, status="active").exists()


def test_service_raises_for_a_paused_subscription(shop, stock):
    from orders.subscriptions.services import subscription_pause
    from tests.orders.test_subscription_support import make_subscription, utc

    subscription = make_subscription(shop, at=utc(2026, 1, 20, 12))
    subscription_pause(subscription=subscription, actor="test")

    with pytest.raises(CustomerHasSubscriptions):
        services.customer_delete(customer=subscription.customer)

    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_channel_lets_go_of_a_customer_only_other_channels_ordered_from():
    """No other channel is linked, but another channel's order keeps the profile: the
    channel's link goes, the profile and the order stay."""
    customer = CustomerFactory()
    link(customer, "web")
    order = OrderFactory(customer=customer, channel=SalesChannelFactory(code="market"))

    assert services.customer_delete(customer=customer, channel_code="web") is False

    assert channel_codes(customer) == []
    assert Customer.objects.filter(pk=customer.pk).exists()
    order.refresh_from_db()
    assert order.customer_id == customer.pk
