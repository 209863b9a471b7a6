"""Admin pages for channels, API keys and orders; issuing and revoking keys."""

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oms_project.api import hash_key
from orders.models import (
    ApiKey,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    SalesChannel,
)
from orders.services import api_key_create
from orders.states import OrderStatus
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    SalesChannelFactory,
)

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"<code class='oms-api-key'>([^<]+)</code>")


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def order():
    order = OrderFactory(
        number="W1001",
        channel_order_id="SHOP-77",
        email="ada@example.com",
        total=Decimal("25.00"),
        shipping_address={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "line1": "1 Main St",
            "city": "Reno",
            "postal_code": "89501",
            "country": "US",
            "gate_code": "<42>",
        },
        attributes={"gift_message": "<b>Happy birthday</b>", "tags": ["vip"]},
    )
    OrderLineFactory(order=order, quantity=2, line_total=Decimal("20.00"))
    return order


@pytest.fixture
def order_records(order):
    api_key, _ = api_key_create(name="ERP", scopes=["orders:read"])
    return {
        SalesChannel: order.channel,
        ApiKey: api_key,
        Order: order,
        OrderLine: order.lines.get(),
        Payment: Payment.objects.create(
            order=order,
            method="card",
            amount=Decimal("25.00"),
            currency="USD",
            status=Payment.Status.CAPTURED,
            reference="ch_1",
        ),
        OrderEvent: OrderEvent.objects.create(
            order=order,
            type="status_changed",
            from_status="created",
            to_status="processing",
            actor="system",
            data={"reason": "paid"},
        ),
        IdempotencyRecord: IdempotencyRecord.objects.create(
            scope="api_key:1",
            key="abc",
            request_hash="0" * 64,
            is_complete=True,
            response_status=201,
            response_body={"number": "W1001"},
        ),
    }


ALL_MODELS = [SalesChannel, ApiKey, Order, OrderLine, Payment, OrderEvent, IdempotencyRecord]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_changelist_and_change_pages_render(admin_client, order_records, model):
    obj = order_records[model]
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize(
    "model", [SalesChannel, ApiKey, Order], ids=lambda model: model.__name__
)
def test_add_pages_render(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    "model", [OrderLine, Payment, OrderEvent, IdempotencyRecord], ids=lambda m: m.__name__
)
def test_order_records_cannot_be_added_by_hand(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 403


def test_order_status_cannot_be_changed_in_the_form(admin_client, order):
    page = admin_client.get(admin_url(Order, "change", order.pk))
    assert page.context["adminform"].form.fields == {}
    assert b'name="_save"' not in page.content

    admin_client.post(
        admin_url(Order, "change", order.pk), {"status": OrderStatus.SHIPPED, "total": "0"}
    )

    order.refresh_from_db()
    assert (order.status, order.total) == (OrderStatus.CREATED, Decimal("25.00"))


def test_order_cannot_be_deleted(admin_client, order):
    response = admin_client.post(admin_url(Order, "delete", order.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_order_page_shows_number_address_and_escaped_attributes(admin_client, order):
    response = admin_client.get(admin_url(Order, "change", order.pk))
    content = response.content.decode()
    assert "W1001" in content
    assert "Ada Lovelace<br>1 Main St<br>89501 Reno<br>US<br>" in content
    assert "&lt;42&gt;" in content
    assert "&lt;b&gt;Happy birthday&lt;/b&gt;" in content
    assert "<b>Happy birthday</b>" not in content
    inline_models = [inline.formset.model for inline in response.context["inline_admin_formsets"]]
    assert inline_models[:3] == [OrderLine, Payment, OrderEvent]


@pytest.mark.parametrize(
    "term", ["W1001", "w1001", "SHOP-77", "ada@example.com", "ADA@example.com"]
)
def test_order_search_matches_number_channel_id_and_email(admin_client, order, term):
    OrderFactory(number="W1002", channel_order_id="SHOP-78", email="bob@example.com")
    response = admin_client.get(admin_url(Order, "changelist"), {"q": term})
    assert [found.number for found in response.context["cl"].result_list] == ["W1001"]


@pytest.mark.parametrize("term", ["W100", "ada", "SHOP"])
def test_order_search_does_not_scan_for_fragments(admin_client, order, term):
    response = admin_client.get(admin_url(Order, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == []


def test_order_list_filters_by_status(admin_client, order):
    OrderFactory(number="W1002", status=OrderStatus.ON_HOLD)
    response = admin_client.get(admin_url(Order, "changelist"), {"status__exact": "on_hold"})
    assert [found.number for found in response.context["cl"].result_list] == ["W1002"]


def test_order_list_query_count_does_not_grow_with_rows(
    admin_client, order, django_assert_max_num_queries
):
    url = admin_url(Order, "changelist")
    admin_client.get(url)  # warm the session and content types
    with django_assert_max_num_queries(12) as small:
        admin_client.get(url)
    for number in range(20):
        OrderFactory(number=f"X{number}", channel=SalesChannelFactory(code=f"shop{number}"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get(url)


def test_customer_page_lists_latest_ten_orders(admin_client):
    customer = CustomerFactory()
    for number in range(12):
        OrderFactory(
            number=f"C{number:02d}",
            customer=customer,
            placed_at=timezone.now() - timezone.timedelta(days=number),
        )
    response = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    inline = response.context["inline_admin_formsets"][-1]
    assert [form.original.number for form in inline] == [f"C{n:02d}" for n in range(10)]
    assert f"?customer__id__exact={customer.pk}".encode() in response.content


def test_customer_order_link_filters_the_order_list(admin_client):
    customer = CustomerFactory()
    mine = OrderFactory(customer=customer)
    OrderFactory()
    response = admin_client.get(
        admin_url(Order, "changelist"), {"customer__id__exact": customer.pk}
    )
    assert list(response.context["cl"].result_list) == [mine]


# --- API keys -------------------------------------------------------------------------------


def test_api_key_add_shows_the_key_once_and_it_works(admin_client, admin_user, order):
    response = admin_client.post(
        admin_url(ApiKey, "add"), {"name": "Web shop", "channel": order.channel.pk}, follow=True
    )

    assert response.status_code == 200
    raw_key = KEY_PATTERN.search(response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert api_key.hashed_key == hash_key(raw_key)
    assert (api_key.name, api_key.channel, api_key.created_by) == (
        "Web shop",
        order.channel,
        admin_user,
    )
    assert response.redirect_chain == [(admin_url(ApiKey, "change", api_key.pk), 302)]
    again = admin_client.get(admin_url(ApiKey, "change", api_key.pk)).content.decode()
    assert raw_key not in again
    assert api_key.hashed_key not in again
    api = Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.status_code == 200
    assert [row["number"] for row in api.json()["results"]] == ["W1001"]


def test_integration_key_gets_its_scopes(admin_client):
    response = admin_client.post(
        admin_url(ApiKey, "add"),
        {"name": "ERP", "scopes": ["orders:read", "inventory:write"]},
        follow=True,
    )
    raw_key = KEY_PATTERN.search(response.content.decode()).group(1)
    assert ApiKey.objects.get().scopes == ["inventory:write", "orders:read"]
    api = Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"name": "ERP"}, "scopes", "Give a channel or at least one scope."),
        ({"name": "", "scopes": ["orders:read"]}, "name", "This field is required."),
        ({"name": "   ", "scopes": ["orders:read"]}, "name", "This field is required."),
        (
            {"name": "ERP", "scopes": ["orders:delete"]},
            "scopes",
            "Select a valid choice. orders:delete is not one of the available choices.",
        ),
    ],
)
def test_api_key_add_refuses_bad_input_and_creates_nothing(admin_client, data, field, error):
    response = admin_client.post(admin_url(ApiKey, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error]
    assert not ApiKey.objects.exists()
    assert b"oms-api-key" not in response.content


def test_revoke_action_revokes_and_the_key_stops_working(admin_client, channel):
    api_key, raw_key = api_key_create(name="Web", channel=channel)
    other, _ = api_key_create(name="Other", channel=channel)

    response = admin_client.post(
        admin_url(ApiKey, "changelist"),
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
    )

    assert response.status_code == 302
    assert message_texts(response) == [f"{api_key}: revoked."]
    api_key.refresh_from_db()
    other.refresh_from_db()
    assert (api_key.is_active, api_key.revoked_at is not None) == (False, True)
    assert (other.is_active, other.revoked_at) == (True, None)
    api = Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.status_code == 401


def test_revoke_button_on_the_key_page(admin_client, channel):
    api_key, _ = api_key_create(name="Web", channel=channel)
    url = reverse("admin:orders_apikey_object_action", args=[api_key.pk, "revoke"])
    page = admin_client.get(admin_url(ApiKey, "change", api_key.pk))
    assert url.encode() in page.content

    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    page = admin_client.get(admin_url(ApiKey, "change", api_key.pk))
    assert url.encode() not in page.content


def test_revoking_twice_says_so_and_keeps_the_first_time(admin_client, channel):
    api_key, _ = api_key_create(name="Web", channel=channel)
    url = reverse("admin:orders_apikey_object_action", args=[api_key.pk, "revoke"])
    admin_client.post(url)
    api_key.refresh_from_db()
    first_revoked_at = api_key.revoked_at

    response = admin_client.post(
        admin_url(ApiKey, "changelist"),
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
    )

    assert message_texts(response)[-1] == f"{api_key}: was already revoked."
    api_key.refresh_from_db()
    assert api_key.revoked_at == first_revoked_at


def test_unknown_object_action_is_404(admin_client, channel):
    api_key, _ = api_key_create(name="Web", channel=channel)
    url = reverse("admin:orders_apikey_object_action", args=[api_key.pk, "delete"])
    assert admin_client.post(url).status_code == 404
    assert ApiKey.objects.filter(pk=api_key.pk, is_active=True).exists()


def test_api_keys_cannot_be_deleted(admin_client, channel):
    api_key, _ = api_key_create(name="Web", channel=channel)
    response = admin_client.post(admin_url(ApiKey, "delete", api_key.pk), {"post": "yes"})
    assert response.status_code == 403
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
