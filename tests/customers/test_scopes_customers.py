"""Channels sharing one customer profile: `customer_link` under concurrent requests."""

import threading

import pytest
from django.db import connection

from customers import services
from customers.models import Customer, CustomerChannel


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_channels_linking_one_new_email_at_once_share_one_profile():
    barrier = threading.Barrier(4)
    outcomes = []

    def link(index: int) -> None:
        try:
            barrier.wait()
            _, is_new = services.customer_link(
                channel_code=f"channel{index % 2}",
                email=f"RACE@example.com{'' if index % 2 else ' '}",
                first_name="Ada",
            )
            outcomes.append(is_new)
        finally:
            connection.close()

    threads = [threading.Thread(target=link, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [False, False, True, True]
    customer = Customer.objects.get()
    assert (customer.email, customer.first_name) == ("race@example.com", "Ada")
    assert sorted(CustomerChannel.objects.values_list("channel_code", flat=True)) == [
        "channel0", "channel1"
    ]


@pytest.mark.django_db
def test_linking_keeps_known_fields_and_fills_blank_ones():
    services.customer_create(email="ada@example.com", first_name="Ada", channel_code="web")

    customer, is_new = services.customer_link(
        channel_code="market", email="ADA@example.com", first_name="Someone",
        last_name="Lovelace", accepts_marketing=True,
    )

    assert is_new
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.accepts_marketing) == (
        "Ada", "Lovelace", False
    )


@pytest.mark.django_db
def test_linking_again_keeps_the_channels_known_customer_id():
    services.customer_link(channel_code="web", email="ada@example.com", external_id="c-1")
    _customer, is_new = services.customer_link(
        channel_code="web", email="ada@example.com", external_id="c-2"
    )
    assert not is_new
    assert CustomerChannel.objects.get(channel_code="web").external_id == "c-1"
    services.customer_link(channel_code="market", email="ada@example.com")
    services.customer_link(channel_code="market", email="ada@example.com", external_id="m-9")
    assert CustomerChannel.objects.get(channel_code="market").external_id == "m-9"  # was blank
