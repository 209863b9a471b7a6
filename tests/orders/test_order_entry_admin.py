"""Staff enter orders in the admin through the API's validation and the order service."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from customers.models import Customer
from inventory.models import StockLevel
from oms_project.models import EmailMessage
from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:orders_order_add")


def form_data(shop, **overrides) -> dict:
    data = {
        "channel": shop["channel"].pk,
        "channel_order_id": "PHONE-1",
        "customer_email": "Ann@Example.com",
        "customer_first_name": "Ann",
        "customer_last_name": "Lee",
        "fulfillment_method": "ship",
        "shipping_method": "ground",
        "ship_first_name": "Ann",
        "ship_last_name": "Lee",
        "ship_line1": "1 Main St",
        "ship_city": "Reno",
        "ship_postal_code": "89501",
        "ship_country": "US",
        "currency": "usd",
        "lines": "A, 2, 10.00\nB, 1, 5.50, 0.50\n",
        "shipping_total": "4.00",
        "tax_total": "1.00",
        "discount_total": "0.00",
        "payment_status": "captured",
        "payment_method": "card",
        "payment_amount": "",
        "payment_reference": "phone-pay-1",
        "gift_message": "Enjoy",
        "shipping_instructions": "",
        "notify_customer": "on",
    }
    data.update(overrides)
    return data


def test_add_page_proposes_a_reference(admin_client, shop):
    page = admin_client.get(ADD_URL)
    assert page.status_code == 200
    assert page.context["form"]["channel_order_id"].value().startswith("STAFF-")
    assert b"Enter order" in page.content


def test_staff_order_is_created_paid_and_allocated(admin_client, admin_user, shop, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    response = admin_client.post(ADD_URL, form_data(shop))
    order = Order.objects.get(channel_order_id="PHONE-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_change", args=[order.pk])
    assert order.status == "processing"
    assert str(order.total) == "30.00"  # 20.00 + 5.00 + 4.00 shipping + 1.00 tax
    assert str(order.paid_total) == "30.00"
    assert order.currency == "USD"
    assert order.attributes == {"gift_message": "Enjoy"}
    assert order.shipping_address["line1"] == "1 Main St"
    assert sorted(order.lines.values_list("sku", "quantity", "quantity_allocated")) == [
        ("A", 2, 2), ("B", 1, 1),
    ]
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").allocated == 2
    customer = Customer.objects.get(email="ann@example.com")
    assert order.customer_id == customer.pk
    assert OrderEvent.objects.filter(order=order, actor=f"user:{admin_user.username}").exists()
    assert EmailMessage.objects.filter(reference=f"order:{order.number}").exists()


def test_unticking_the_customer_email_sends_none_for_the_order(admin_client, shop, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    data = form_data(shop)
    del data["notify_customer"]  # an unticked checkbox is not sent
    assert admin_client.post(ADD_URL, data).status_code == 302
    order = Order.objects.get(channel_order_id="PHONE-1")
    assert (order.status, order.notify_customer) == ("processing", False)
    assert not EmailMessage.objects.filter(reference=f"order:{order.number}").exists()


def test_unpaid_staff_order_holds_no_stock(admin_client, shop, stock):
    stock("A", "EAST", 5)
    admin_client.post(
        ADD_URL, form_data(shop, lines="A, 1, 10.00", payment_status="", payment_method="")
    )
    order = Order.objects.get(channel_order_id="PHONE-1")
    assert order.status == "created"
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").allocated == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lines": "A, two, 10.00"}, "lines", "quantity 'two' is not a whole number"),
        ({"lines": "A, 2"}, "lines", "give SKU, quantity, unit price"),
        ({"lines": "A, 2, ten"}, "lines", "unit price 'ten' is not an amount"),
        # A decimal comma would read as price 19 and discount 5: refused, not guessed.
        ({"lines": "A, 2, 19,5"}, "lines", "write decimals with a dot (19.90, not 19,90)"),
        ({"lines": "A, 2, 19,50, 1,00"}, "lines", "write decimals with a dot"),
        ({"lines": "NOPE, 1, 10.00"}, "lines", "Line 1"),
        ({"lines": "A, 0, 10.00"}, "lines", "Line 1 (quantity)"),
        ({"customer_email": "not-an-email"}, "customer_email", "valid email"),
        ({"ship_country": "XX"}, "ship_country", ""),
        ({"ship_line1": ""}, "ship_line1", "required"),
        ({"payment_method": ""}, "payment_method", "Say how the customer paid"),
        ({"payment_amount": "-5.00"}, "payment_amount", "greater than or equal to 0.01"),
        ({"shipping_method": "teleport"}, "shipping_method", "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_writes_nothing(
    admin_client, shop, stock, overrides, field, message
):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    response = admin_client.post(ADD_URL, form_data(shop, **overrides))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__") or []
    assert errors, form.errors
    assert message in " ".join(errors)
    assert not Order.objects.exists()
    assert not Customer.objects.exists()
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").allocated == 0


def test_short_stock_under_a_rejecting_channel_is_refused(admin_client, shop, stock):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save(update_fields=["shortage_policy"])
    stock("A", "EAST", 1)
    response = admin_client.post(ADD_URL, form_data(shop, lines="A, 3, 10.00"))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Order.objects.exists()


def test_submitting_the_same_reference_twice_makes_one_order(admin_client, shop, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    admin_client.post(ADD_URL, form_data(shop))
    again = admin_client.post(ADD_URL, form_data(shop))
    assert again.status_code == 200
    number = Order.objects.get().number
    assert f"Order {number} already has this channel_order_id" in " ".join(
        again.context["form"].errors["channel_order_id"]
    )


def test_staff_without_the_add_permission_cannot_enter_orders(client, shop):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, form_data(shop)).status_code == 403
    assert not Order.objects.exists()
