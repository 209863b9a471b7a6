"""Customer services: create, update, delete, upsert from orders, address book, totals."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers import services
from customers.errors import CustomerHasOrders, DuplicateCustomer
from customers.models import Address, Customer, CustomerChannel
from customers.serializers import CustomerSerializer
from tests.factories import CustomerFactory, OrderFactory, SalesChannelFactory
from tests.oms_project.test_api_auth import assert_problem

pytestmark = pytest.mark.django_db


def test_create_lowercases_email_and_links_channel():
    customer = services.customer_create(
        email=" Ada@Example.COM", channel_code="web", external_id="c-1", first_name="Ada"
    )
    assert customer.email == "ada@example.com"
    assert list(customer.channels.values_list("channel_code", "external_id")) == [("web", "c-1")]


def test_create_with_taken_email_names_the_field_and_writes_nothing():
    CustomerFactory(email="taken@example.com")
    with pytest.raises(DuplicateCustomer) as raised:
        services.customer_create(email="TAKEN@example.com", channel_code="web")
    assert raised.value.errors == {"email": ["A customer with this e-mail already exists."]}
    assert raised.value.status == 409
    assert Customer.objects.count() == 1
    assert CustomerChannel.objects.count() == 0


def test_create_with_taken_external_id_rolls_back_the_customer():
    CustomerChannel.objects.create(
        customer=CustomerFactory(), channel_code="web", external_id="c-1"
    )
    with pytest.raises(DuplicateCustomer) as raised:
        services.customer_create(email="new@example.com", channel_code="web", external_id="c-1")
    assert raised.value.errors == {"external_id": ["This channel already uses this customer id."]}
    assert not Customer.objects.filter(email="new@example.com").exists()


def test_update_onto_taken_email_keeps_the_old_values():
    CustomerFactory(email="taken@example.com")
    customer = CustomerFactory(email="mine@example.com", first_name="Mine")
    with pytest.raises(DuplicateCustomer):
        services.customer_update(customer=customer, email="Taken@Example.com", first_name="X")
    assert customer.email == "mine@example.com"
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("mine@example.com", "Mine")


def test_update_sets_channel_external_id():
    customer = CustomerFactory()
    services.customer_update(customer=customer, channel_code="web", external_id="c-7")
    assert customer.channels.get(channel_code="web").external_id == "c-7"
    services.customer_update(customer=customer, channel_code="web", external_id="")
    assert customer.channels.get(channel_code="web").external_id is None


def test_delete_without_orders_removes_customer_and_links():
    customer = services.customer_create(email="bye@example.com", channel_code="web")
    assert services.customer_delete(customer=customer, channel_code="web") is True
    assert Customer.objects.count() == 0
    assert CustomerChannel.objects.count() == 0


def test_delete_with_orders_raises_and_changes_nothing():
    customer = services.customer_create(email="kept@example.com", channel_code="web")
    OrderFactory(customer=customer, channel=SalesChannelFactory(code="web"))
    with pytest.raises(CustomerHasOrders):
        services.customer_delete(customer=customer, channel_code="web")
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert customer.channels.count() == 1


def test_delete_by_one_of_several_channels_only_unlinks():
    customer = services.customer_create(email="shared@example.com", channel_code="web")
    CustomerChannel.objects.create(customer=customer, channel_code="market")
    assert services.customer_delete(customer=customer, channel_code="web") is False
    assert list(customer.channels.values_list("channel_code", flat=True)) == ["market"]


def test_upsert_finds_by_email_case_insensitively_and_fills_blanks():
    existing = CustomerFactory(email="Mixed@Example.com", first_name="", phone="")
    customer = services.customer_upsert(
        channel_code="web", email="mixed@example.com", external_id="c-1",
        profile={"first_name": "Ada", "phone": ""},
    )
    assert customer.pk == existing.pk
    customer.refresh_from_db()
    assert (customer.first_name, customer.phone) == ("Ada", "")
    assert customer.channels.get().external_id == "c-1"
    assert Customer.objects.count() == 1


def test_upsert_prefers_the_channel_customer_id():
    by_id = CustomerFactory(email="by-id@example.com", first_name="Known")
    CustomerChannel.objects.create(customer=by_id, channel_code="web", external_id="c-9")
    customer = services.customer_upsert(
        channel_code="web", email="changed@example.com", external_id="c-9",
        profile={"first_name": ""},
    )
    assert customer.pk == by_id.pk
    customer.refresh_from_db()
    assert customer.first_name == "Known"


def test_upsert_creates_when_unknown():
    customer = services.customer_upsert(channel_code="web", email="New@Example.com")
    assert customer.email == "new@example.com"
    assert customer.channels.get().channel_code == "web"


ADDRESS = {"line1": "1 Main St", "city": "Reno", "postal_code": "89501", "country": "US"}


def test_address_remember_deduplicates_and_moves_defaults():
    customer = CustomerFactory()
    first = services.address_remember(customer=customer, data=ADDRESS, shipping=True)
    again = services.address_remember(
        customer=customer, data={**ADDRESS, "line1": " 1 MAIN ST "}, billing=True
    )
    other = services.address_remember(
        customer=customer, data={**ADDRESS, "line1": "2 Side St"}, shipping=True
    )
    assert again.pk == first.pk
    assert Address.objects.filter(customer=customer).count() == 2
    first.refresh_from_db()
    other.refresh_from_db()
    assert (first.is_default_shipping, first.is_default_billing) == (False, True)
    assert other.is_default_shipping is True


def test_record_order_counts_totals_and_keeps_first_and_last_dates():
    customer = CustomerFactory()
    now = timezone.now()
    services.customer_record_order(
        customer=customer, total=Decimal("10.50"), placed_at=now, shipping_method="ground"
    )
    services.customer_record_order(
        customer=customer, total=Decimal("4.50"), placed_at=now - timedelta(days=3)
    )
    customer.refresh_from_db()
    assert customer.orders_count == 2
    assert customer.lifetime_value == Decimal("15.00")
    assert customer.first_order_at == now
    assert customer.last_order_at == now
    assert customer.preferred_shipping_method == "ground"


def test_api_answers_409_with_field_error_when_the_email_race_is_lost(
    staff_client, monkeypatch
):
    """The serializer's check passed, then another request took the e-mail first (staff
    create profiles; a channel key would have the existing one linked to it instead)."""
    CustomerFactory(email="raced@example.com")
    monkeypatch.setattr(CustomerSerializer, "validate_email", lambda self, value: value)
    response = staff_client.post(
        "/api/v1/customers/", json.dumps({"email": "Raced@example.com"}),
        content_type="application/json",
    )
    assert_problem(response, 409, "duplicate_customer")
    assert response.json()["errors"] == {"email": ["A customer with this e-mail already exists."]}
    assert Customer.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_email_make_one_customer():
    barrier = threading.Barrier(4)
    outcomes = []

    def create(index: int) -> None:
        try:
            barrier.wait()
            services.customer_create(email=f"RACE@example.com{'' if index % 2 else ' '}",
                                     channel_code=f"channel{index}")
            outcomes.append("created")
        except DuplicateCustomer as error:
            outcomes.append(error.errors)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("created") == 1
    assert outcomes.count({"email": ["A customer with this e-mail already exists."]}) == 3
    assert Customer.objects.get().email == "race@example.com"
    assert CustomerChannel.objects.count() == 1


def test_lifetime_totals_come_down_by_what_the_customer_did_not_keep():
    customer = CustomerFactory()
    for total in (Decimal("27.00"), Decimal("10.00")):
        services.customer_record_order(customer=customer, total=total, placed_at=timezone.now())

    services.customer_lifetime_totals_reduce(customer_id=customer.pk, value=Decimal("11.00"))
    services.customer_lifetime_totals_reduce(
        customer_id=customer.pk, value=Decimal("10.00"), orders=1
    )

    customer.refresh_from_db()
    assert (customer.orders_count, customer.lifetime_value) == (1, Decimal("16.00"))


def test_lifetime_totals_never_drop_below_zero():
    """Totals that lag behind the order history must not make a cancellation fail."""
    customer = CustomerFactory()
    services.customer_record_order(
        customer=customer, total=Decimal("5.00"), placed_at=timezone.now()
    )

    services.customer_lifetime_totals_reduce(
        customer_id=customer.pk, value=Decimal("8.00"), orders=2
    )

    customer.refresh_from_db()
    assert (customer.orders_count, customer.lifetime_value) == (0, Decimal("0.00"))
