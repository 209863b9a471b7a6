"""order_create: validation, customer upsert, payment and allocation."""

from decimal import Decimal

import pytest

from customers.models import Customer
from inventory.errors import InsufficientStock
from inventory.models import StockLevel, StockReservation
from oms_project.models import EmailMessage, OutboxEvent
from orders.errors import DuplicateOrder, OrderValidationError
from orders.models import Order
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def test_paid_order_is_allocated_from_one_location_and_processing(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order.refresh_from_db()
    assert order.status == "processing"
    assert order.total == Decimal("27.00")
    assert order.paid_total == Decimal("27.00")
    line = order.lines.get()
    assert line.quantity_allocated == 2
    level = StockLevel.objects.get(product__sku="A", warehouse__code="EAST")
    assert (level.on_hand, level.allocated) == (5, 2)
    assert StockReservation.objects.get().reference == f"order_line:{line.pk}"
    customer = Customer.objects.get()
    assert customer.email == "jane@example.com"
    assert customer.orders_count == 1 and customer.lifetime_value == Decimal("27.00")
    assert customer.addresses.count() == 1
    topics = sorted(OutboxEvent.objects.values_list("topic", flat=True))
    assert topics == ["order.created", "order.paid"]
    assert EmailMessage.objects.filter(
        template="order_confirmation", to="jane@example.com"
    ).exists()


def test_unpaid_order_holds_no_stock(shop, stock):
    stock("A", "EAST", 5)
    data = order_data(payment=None)
    order = order_create(channel=shop["channel"], data=data, actor="test")
    assert order.status == "created"
    assert StockReservation.objects.count() == 0


def test_shortage_rejected_writes_nothing(shop, stock):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 1)
    with pytest.raises(InsufficientStock) as error:
        order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert error.value.short[0]["sku"] == "A"
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0
    assert StockLevel.objects.get().allocated == 0


def test_shortage_backordered_keeps_open_units(shop, stock):
    stock("A", "EAST", 1)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert order.status == "backordered"
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_open) == (1, 1)


def test_split_across_locations_when_no_single_one_fills(shop, stock):
    stock("A", "EAST", 1)
    stock("A", "WEST", 1)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert order.status == "processing"
    warehouses = StockReservation.objects.values_list("stock_level__warehouse__code", flat=True)
    assert sorted(warehouses) == ["EAST", "WEST"]


def test_duplicate_channel_order_id_returns_existing_number(shop, stock):
    stock("A", "EAST", 5)
    first = order_create(channel=shop["channel"], data=order_data(), actor="test")
    with pytest.raises(DuplicateOrder) as error:
        order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert error.value.extra["number"] == first.number


def test_unknown_sku_is_a_field_error_and_nothing_written(shop):
    data = order_data(
        lines=[{"sku": "NOPE", "quantity": 1, "unit_price": Decimal("1.00")}], payment=None
    )
    with pytest.raises(OrderValidationError) as error:
        order_create(channel=shop["channel"], data=data, actor="test")
    assert "Unknown SKU" in error.value.errors["lines"]["0"]["sku"][0]
    assert Order.objects.count() == 0 and Customer.objects.count() == 0


def test_without_a_shipping_method_no_delivery_date_is_promised(shop, stock):
    from orders.models import FulfillmentOrder

    stock("A", "EAST", 5)
    order = order_create(
        channel=shop["channel"], data=order_data(shipping_method=None), actor="test"
    )
    order.refresh_from_db()
    assert order.promised_ship_date is not None
    assert order.promised_delivery_date is None
    assert FulfillmentOrder.objects.get(order=order).promised_delivery_date is None
    with_service = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="WEB-2"), actor="test"
    )
    with_service.refresh_from_db()
    assert with_service.promised_delivery_date > with_service.promised_ship_date


@pytest.mark.parametrize("policy", ["reject", "backorder"])
@pytest.mark.parametrize("paid", [True, False], ids=["paid", "reserved-at-creation"])
def test_one_by_one_an_address_no_location_ships_to_is_refused(shop, stock, policy, paid):
    """The one-by-one path (a batch's fallback) refuses it as the batch router does."""
    from orders.services.creation import order_create_stepwise
    from warehouses.models import Warehouse

    shop["channel"].shortage_policy = policy
    shop["channel"].reserve_on_create = not paid
    shop["channel"].save()
    Warehouse.objects.filter(code__in=["EAST", "WEST"]).update(ships_to_countries=["US"])
    stock("A", "EAST", 5)
    address = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
    data = order_data(shipping_address=address, **({} if paid else {"payment": None}))
    with pytest.raises(OrderValidationError) as error:
        order_create_stepwise(channel=shop["channel"], data=data, actor="test")
    assert error.value.errors == {"shipping_address": {"country": ["No location ships to FR."]}}
    assert Order.objects.count() == 0
    assert StockLevel.objects.get().allocated == 0
