"""Customer profiles over the API: a channel sees and edits only the customers it knows."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer, CustomerChannel
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    OrderFactory,
    SalesChannelFactory,
    ServiceLevelFactory,
)
from tests.oms_project.test_api_auth import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def post_json(client, payload, url=URL):
    return client.post(url, json.dumps(payload), content_type="application/json")


def link(customer, channel_code: str, external_id: str | None = None) -> None:
    CustomerChannel.objects.create(
        customer=customer, channel_code=channel_code, external_id=external_id
    )


def emails(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["email"] for row in response.json()["results"]]


@pytest.fixture
def other_client(make_client):
    return make_client(channel=SalesChannelFactory(code="market"))


# --- create, read, update, delete ----------------------------------------------------------


def test_channel_creates_customer_linked_to_itself(channel_client, other_client):
    response = post_json(
        channel_client,
        {"email": "  Ada.Lovelace@Example.COM ", "first_name": "Ada", "external_id": "c-1"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ada.lovelace@example.com"
    assert "external_id" not in body
    customer = Customer.objects.get()
    assert customer.email == "ada.lovelace@example.com"
    assert list(customer.channels.values_list("channel_code", "external_id")) == [("web", "c-1")]
    assert channel_client.get(f"{URL}{customer.pk}/").status_code == 200
    assert_problem(other_client.get(f"{URL}{customer.pk}/"), 404, "not_found")
    assert emails(other_client.get(URL)) == []


def test_channel_list_shows_only_its_customers(channel_client):
    mine = CustomerFactory(email="mine@example.com")
    link(mine, "web")
    link(CustomerFactory(email="theirs@example.com"), "market")
    CustomerFactory(email="nobody@example.com")
    assert emails(channel_client.get(URL)) == ["mine@example.com"]


def test_integration_key_with_scope_sees_every_customer(make_client):
    link(CustomerFactory(email="a@example.com"), "web")
    CustomerFactory(email="b@example.com")
    client = make_client(scopes=["customers:read"])
    assert sorted(emails(client.get(URL))) == ["a@example.com", "b@example.com"]
    assert_problem(post_json(client, {"email": "c@example.com"}), 403, "permission_denied")
    assert Customer.objects.count() == 2


def test_integration_key_without_customer_scope_is_403(make_client):
    client = make_client(scopes=["orders:read"])
    assert_problem(client.get(URL), 403, "permission_denied")


def test_staff_creates_customer_without_channel(staff_client):
    response = post_json(staff_client, {"email": "staff-made@example.com"})
    assert response.status_code == 201, response.content
    assert CustomerChannel.objects.count() == 0


def test_external_id_needs_a_channel_key(staff_client):
    response = post_json(staff_client, {"email": "x@example.com", "external_id": "c-9"})
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["external_id"]
    assert Customer.objects.count() == 0


def test_update_changes_profile_and_external_id(channel_client):
    customer = CustomerFactory(email="old@example.com", first_name="Old")
    link(customer, "web", "c-1")
    response = channel_client.patch(
        f"{URL}{customer.pk}/",
        {"email": "New@Example.com", "first_name": "New", "external_id": "c-2"},
        format="json",
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("new@example.com", "New")
    assert customer.channels.get().external_id == "c-2"


def test_other_channel_cannot_update_or_delete(channel_client, other_client):
    customer = CustomerFactory(email="keep@example.com", first_name="Keep")
    link(customer, "web")
    response = other_client.patch(f"{URL}{customer.pk}/", {"first_name": "X"}, format="json")
    assert_problem(response, 404, "not_found")
    assert_problem(other_client.delete(f"{URL}{customer.pk}/"), 404, "not_found")
    customer.refresh_from_db()
    assert customer.first_name == "Keep"


def test_delete_customer_without_orders(channel_client):
    customer = CustomerFactory()
    link(customer, "web")
    assert channel_client.delete(f"{URL}{customer.pk}/").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_delete_customer_with_orders_is_409_and_keeps_it(channel_client):
    customer = CustomerFactory()
    link(customer, "web")
    OrderFactory(customer=customer, channel=channel_client.api_key.channel)
    response = channel_client.delete(f"{URL}{customer.pk}/")
    assert_problem(response, 409, "customer_has_orders")
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert customer.channels.count() == 1


def test_delete_by_one_channel_keeps_customer_other_channels_know(channel_client, other_client):
    customer = CustomerFactory()
    link(customer, "web")
    link(customer, "market")
    assert channel_client.delete(f"{URL}{customer.pk}/").status_code == 204
    assert list(customer.channels.values_list("channel_code", flat=True)) == ["market"]
    assert other_client.get(f"{URL}{customer.pk}/").status_code == 200
    assert_problem(channel_client.get(f"{URL}{customer.pk}/"), 404, "not_found")


def test_detail_shows_addresses_and_totals(staff_client):
    customer = CustomerFactory(email="home@example.com")
    link(customer, "web")
    AddressFactory(customer=customer, line1="1 Main St", country="US")
    body = staff_client.get(f"{URL}{customer.pk}/").json()
    assert body["orders_count"] == 0
    assert body["lifetime_value"] == "0.00"
    assert [(a["line1"], a["country"]) for a in body["addresses"]] == [("1 Main St", "US")]


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": "ok@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "ok@example.com", "phone": "1" * 41}, "phone"),
        ({"email": "ok@example.com", "note": "n" * 5001}, "note"),
        ({"email": "ok@example.com", "accepts_marketing": "sometimes"}, "accepts_marketing"),
        ({"email": "ok@example.com", "first_name": ["Ada"]}, "first_name"),
        ({"email": "ok@example.com", "external_id": "x" * 101}, "external_id"),
        ({"first_name": "No e-mail"}, "email"),
    ],
)
def test_invalid_field_is_400(channel_client, payload, field):
    response = post_json(channel_client, payload)
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == [field]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("field", ["id", "orders_count", "lifetime_value", "addresses"])
def test_read_only_field_on_write_is_400(channel_client, field):
    response = post_json(channel_client, {"email": "ok@example.com", field: 1})
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {field: ["This field is read-only."]}
    assert Customer.objects.count() == 0


def test_unknown_field_is_400(channel_client):
    response = post_json(channel_client, {"email": "ok@example.com", "nickname": "A"})
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"nickname": ["Unknown field."]}
    assert Customer.objects.count() == 0


@pytest.fixture
def service_levels(db):
    ServiceLevelFactory(code="ground")
    ServiceLevelFactory(code="retired", is_active=False)
    ServiceLevelFactory(code="gone", carrier__is_active=False)  # its carrier stopped


@pytest.mark.parametrize("method", ["teleport", "retired", "gone", "GROUND"])
def test_unknown_or_inactive_preferred_shipping_method_is_400(
    channel_client, service_levels, method
):
    response = post_json(channel_client, {"email": "ok@example.com",
                                          "preferred_shipping_method": method})
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {
        "preferred_shipping_method": [f"Unknown shipping method '{method}'."]
    }
    assert Customer.objects.count() == 0
    customer = CustomerFactory(preferred_shipping_method="ground")
    link(customer, "web")
    response = channel_client.patch(f"{URL}{customer.pk}/",
                                    {"preferred_shipping_method": method}, format="json")
    assert_problem(response, 400, "validation_error")
    customer.refresh_from_db()
    assert customer.preferred_shipping_method == "ground"


@pytest.mark.parametrize("method", ["ground", ""])
def test_active_or_blank_preferred_shipping_method_is_accepted(
    channel_client, service_levels, method
):
    response = post_json(channel_client, {"email": "ok@example.com",
                                          "preferred_shipping_method": method})
    assert response.status_code == 201, response.content
    assert Customer.objects.get().preferred_shipping_method == method


def test_a_method_retired_since_may_be_kept_but_not_chosen_again(channel_client, service_levels):
    customer = CustomerFactory(preferred_shipping_method="retired")
    link(customer, "web")
    response = channel_client.patch(
        f"{URL}{customer.pk}/", {"preferred_shipping_method": "retired", "first_name": "Kept"},
        format="json",
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.first_name, customer.preferred_shipping_method) == ("Kept", "retired")


def test_duplicate_email_is_400_case_insensitive_for_staff(staff_client):
    CustomerFactory(email="taken@example.com")
    response = post_json(staff_client, {"email": "TAKEN@Example.com"})
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {"email": ["A customer with this e-mail already exists."]}
    assert Customer.objects.count() == 1
    assert CustomerChannel.objects.count() == 0


def test_changing_email_onto_another_customer_is_400(channel_client):
    CustomerFactory(email="taken@example.com")
    customer = CustomerFactory(email="mine@example.com")
    link(customer, "web")
    response = channel_client.patch(
        f"{URL}{customer.pk}/", {"email": "Taken@example.com"}, format="json"
    )
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["email"]
    customer.refresh_from_db()
    assert customer.email == "mine@example.com"


def test_keeping_own_email_in_other_case_is_allowed(channel_client):
    customer = CustomerFactory(email="mine@example.com")
    link(customer, "web")
    response = channel_client.patch(
        f"{URL}{customer.pk}/", {"email": "MINE@example.com"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_external_id_is_unique_per_channel(channel_client, other_client):
    link(CustomerFactory(email="first@example.com"), "web", "c-1")
    response = post_json(channel_client, {"email": "second@example.com", "external_id": "c-1"})
    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {
        "external_id": ["This channel already uses this customer id."]
    }
    assert Customer.objects.count() == 1
    # Another channel may use the same id for its own customer.
    response = post_json(other_client, {"email": "second@example.com", "external_id": "c-1"})
    assert response.status_code == 201, response.content


def test_malformed_json_is_400(channel_client):
    response = channel_client.post(URL, '{"email": ', content_type="application/json")
    assert_problem(response, 400, "malformed_request")
    assert Customer.objects.count() == 0


def test_form_encoded_body_is_415(channel_client):
    response = channel_client.post(URL, {"email": "form@example.com"}, format="multipart")
    assert_problem(response, 415, "unsupported_media_type")
    assert Customer.objects.count() == 0


# --- one profile per merchant, seen by each channel ---------------------------------------

MERCHANT_TOTALS = ("orders_count", "lifetime_value", "first_order_at", "last_order_at")


@pytest.fixture
def web_customer(db):
    """Ada, known to `web`, with an address and merchant-wide totals from web's orders."""
    customer = CustomerFactory(email="ada@example.com", first_name="Ada", last_name="")
    link(customer, "web", "w-1")
    AddressFactory(customer=customer, line1="1 Main St", country="US")
    Customer.objects.filter(pk=customer.pk).update(
        orders_count=3, lifetime_value="250.00", first_order_at=timezone.now(),
        last_order_at=timezone.now(),
    )
    return customer


def test_creating_a_customer_another_channel_knows_links_the_shared_profile(
    channel_client, other_client, web_customer
):
    response = post_json(other_client, {
        "email": " ADA@example.com", "first_name": "Someone", "last_name": "Lovelace",
        "external_id": "m-7",
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["id"], body["email"]) == (web_customer.pk, "ada@example.com")
    # Known fields stay as they are; blank ones are filled in.
    assert (body["first_name"], body["last_name"]) == ("Ada", "Lovelace")
    assert [address["line1"] for address in body["addresses"]] == ["1 Main St"]
    assert not set(MERCHANT_TOTALS) & set(body)
    assert Customer.objects.count() == 1
    assert sorted(web_customer.channels.values_list("channel_code", "external_id")) == [
        ("market", "m-7"), ("web", "w-1")
    ]
    assert other_client.get(f"{URL}{web_customer.pk}/").status_code == 200
    assert emails(other_client.get(f"{URL}?external_id=m-7")) == ["ada@example.com"]
    assert channel_client.get(f"{URL}{web_customer.pk}/").status_code == 200


def test_creating_a_customer_the_channel_already_knows_answers_200(channel_client,
                                                                    web_customer):
    response = post_json(channel_client, {"email": "Ada@Example.com", "external_id": "w-1"})

    assert response.status_code == 200, response.content
    assert response.json()["id"] == web_customer.pk
    assert Customer.objects.count() == 1
    assert list(web_customer.channels.values_list("channel_code", "external_id")) == [
        ("web", "w-1")
    ]


def test_linking_refuses_an_external_id_the_channel_uses_for_someone_else(
    other_client, web_customer
):
    link(CustomerFactory(email="grace@example.com"), "market", "m-1")

    response = post_json(other_client, {"email": "ada@example.com", "external_id": "m-1"})

    assert_problem(response, 400, "validation_error")
    assert response.json()["errors"] == {
        "external_id": ["This channel already uses this customer id."]
    }
    assert list(web_customer.channels.values_list("channel_code", flat=True)) == ["web"]


def test_channel_key_does_not_see_merchant_wide_totals(channel_client, web_customer):
    detail = channel_client.get(f"{URL}{web_customer.pk}/").json()
    listed = channel_client.get(URL).json()["results"]

    for body in (detail, listed[0]):
        assert not set(MERCHANT_TOTALS) & set(body), body
        assert body["email"] == "ada@example.com"


@pytest.mark.parametrize("who", ["staff", "integration"])
def test_staff_and_integration_keys_see_merchant_wide_totals(
    staff_client, make_client, web_customer, who
):
    client = staff_client if who == "staff" else make_client(scopes=["customers:read"])
    body = client.get(f"{URL}{web_customer.pk}/").json()
    assert (body["orders_count"], body["lifetime_value"]) == (3, "250.00")
    assert body["first_order_at"] is not None


# --- filters and pagination ----------------------------------------------------------------


@pytest.fixture
def known_customers(db):
    now = timezone.now()
    rows = [
        ("ada@example.com", "Ada", "Lovelace", "c-ada", 3),
        ("alan@example.com", "Alan", "Turing", "c-alan", 2),
        ("grace@example.com", "Grace", "Hopper", None, 1),
    ]
    for email, first, last, external_id, days_ago in rows:
        customer = CustomerFactory(email=email, first_name=first, last_name=last)
        Customer.objects.filter(pk=customer.pk).update(created_at=now - timedelta(days=days_ago))
        link(customer, "web", external_id)
    link(CustomerFactory(email="market@example.com", first_name="Ada"), "market", "c-ada")
    return now


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["grace@example.com", "alan@example.com", "ada@example.com"]),
        ("email=ADA@example.com", ["ada@example.com"]),
        ("email=market@example.com", []),
        ("name=ada", ["ada@example.com"]),
        ("name=tur", ["alan@example.com"]),
        ("name=a", ["alan@example.com", "ada@example.com"]),
        ("external_id=c-ada", ["ada@example.com"]),
        ("external_id=nope", []),
    ],
)
def test_list_filters(channel_client, known_customers, query, expected):
    assert emails(channel_client.get(f"{URL}?{query}")) == expected


def test_created_date_range_filters(channel_client, known_customers):
    after = (known_customers - timedelta(days=2, hours=12)).isoformat()
    before = (known_customers - timedelta(days=1, hours=12)).isoformat()
    response = channel_client.get(URL, {"created_after": after, "created_before": before})
    assert emails(response) == ["alan@example.com"]
    response = channel_client.get(URL, {"created_after": after})
    assert emails(response) == ["grace@example.com", "alan@example.com"]


def test_invalid_date_filter_is_400(channel_client):
    response = channel_client.get(URL, {"created_after": "yesterday"})
    assert_problem(response, 400, "validation_error")
    assert list(response.json()["errors"]) == ["created_after"]


def test_pagination_walks_every_customer_once(channel_client):
    for index in range(11):
        link(CustomerFactory(email=f"page{index}@example.com"), "web")
    seen, url = [], f"{URL}?limit=4"
    while url:
        body = channel_client.get(url).json()
        seen += [row["email"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 11


def test_list_query_count_is_constant(staff_client, django_assert_num_queries):
    AddressFactory(customer=CustomerFactory())
    with django_assert_num_queries(2):
        staff_client.get(URL)
    for _ in range(8):
        AddressFactory.create_batch(2, customer=CustomerFactory())
    with django_assert_num_queries(2):
        assert len(staff_client.get(URL).json()["results"]) == 9


def test_channel_list_query_count_is_constant(channel_client, django_assert_num_queries):
    channel_client.get(URL)  # the key's last use is recorded once a minute
    link(CustomerFactory(), "web")
    with django_assert_num_queries(3):
        channel_client.get(URL)
    for _ in range(8):
        customer = CustomerFactory()
        link(customer, "web")
        AddressFactory(customer=customer)
    with django_assert_num_queries(3):
        assert len(channel_client.get(URL).json()["results"]) == 9
