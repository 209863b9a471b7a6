"""Privacy erasure (GDPR art. 17): the person is anonymised across the OMS, the merchant's
order and accounting records keep their money, quantities and SKUs."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Address, Customer, CustomerChannel, CustomerErasure
from customers.privacy import erased_email, erased_emails_withheld
from inventory.models import StockMovement
from oms_project.erasure import customer_erase
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Checkout, Order, OrderEvent, OrderLine, Payment
from orders.services import order_create
from orders.subscription_models import Subscription, SubscriptionEvent
from returns.models import ReturnLine, ReturnRequest
from tests.oms_project.test_api_auth import assert_problem
from tests.orders.conftest import order_data
from tests.orders.test_subscription_support import make_subscription, utc

pytestmark = pytest.mark.django_db

# What identifies Jane in the records the fixture writes; none of it may survive erasure.
PERSONAL = (
    "jane", "doe", "main st", "89501", "reno", "555-0100", "happy birthday", "c-1", "tok_jane",
    "labels.test", "ring twice",
)


@pytest.fixture
def jane(shop, stock):
    """Jane: a delivered order (with checkout, return, address change, e-mails and events)
    and an active subscription, all under one profile."""
    stock("A", "EAST", 10)
    data = order_data(attributes={"gift_message": "Happy birthday", "promo_code": "WELCOME10"})
    data["shipping_address"] = {**data["shipping_address"], "phone": "555-0100", "region": "NV"}
    order = order_create(channel=shop["channel"], data=data, actor="test")
    Order.objects.filter(pk=order.pk).update(status="complete")
    make_subscription(
        shop, at=utc(2026, 1, 20, 12), payment_reference="tok_jane",
        customer={"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
    )
    Checkout.objects.create(
        token=uuid.uuid4(), channel=shop["channel"], status="completed", order=order,
        destination={"line1": "1 Main St", "postal_code": "89501", "country": "US"},
        expires_at=timezone.now(),
    )
    OrderEvent.objects.create(
        order=order, type="address_changed", actor="test",
        data={"from": {"line1": "9 Old Rd", "city": "Reno", "country": "US"},
              "to": dict(order.shipping_address)},
    )
    return_request = ReturnRequest.objects.create(
        number="RMA-T1", order=order, channel=shop["channel"],
        customer_note="Jane here, ring twice", return_label_url="https://labels.test/jane",
    )
    ReturnLine.objects.create(
        return_request=return_request, order_line=order.lines.get(), quantity=1,
        reason="damaged", note="Jane's note",
    )
    EmailMessage.objects.create(
        to="Jane@Example.com", template="delivery_follow_up", subject=f"Order {order.number}",
        body_text="Dear Jane Doe, 1 Main St", reference=f"order:{order.number}",
    )
    return Customer.objects.get(email="jane@example.com")


def records_of(customer_id: int, order_numbers: list[str]) -> str:
    """Every row that may hold the person's data, as lower-case text."""
    orders = Order.objects.filter(number__in=order_numbers)
    rows = [
        *Customer.objects.filter(pk=customer_id).values(),
        *Address.objects.filter(customer_id=customer_id).values(),
        *CustomerChannel.objects.filter(customer_id=customer_id).values(),
        *orders.values(),
        *OrderEvent.objects.filter(order__in=orders).values(),
        *Checkout.objects.filter(order__in=orders).values(),
        *Subscription.objects.filter(customer_id=customer_id).values(),
        *SubscriptionEvent.objects.filter(subscription__customer_id=customer_id).values(),
        *ReturnRequest.objects.filter(order__in=orders).values(),
        *ReturnLine.objects.filter(return_request__order__in=orders).values(),
        *EmailMessage.objects.values(),
        *OutboxEvent.objects.values(),
    ]
    return json.dumps(rows, default=str).lower()


def personal_left(records: str) -> list[str]:
    """The PERSONAL terms still found in records, each as a whole token (a random UUID such as
    "...0c-1f..." must not count as the channel's customer id "c-1")."""
    return [
        text for text in PERSONAL
        if re.search(rf"(?<![0-9a-z]){re.escape(text)}(?![0-9a-z])", records)
    ]


def money_of(order_numbers: list[str]) -> list:
    orders = Order.objects.filter(number__in=order_numbers)
    return [
        list(orders.values_list(
            "number", "status", "currency", "subtotal", "discount_total", "shipping_total",
            "tax_total", "total", "paid_total", "cancelled_total", "refund_due", "placed_at",
        )),
        list(OrderLine.objects.filter(order__in=orders).values_list(
            "sku", "quantity", "quantity_shipped", "unit_price", "line_total")),
        list(Payment.objects.filter(order__in=orders).values_list("method", "amount", "reference")),
        list(StockMovement.objects.order_by("pk").values_list(
            "pk", "delta_on_hand", "delta_allocated", "reference")),
    ]


def back_office(make_client):
    return make_client(scopes=["customers:write"], name="privacy desk")


def test_erase_via_api_anonymises_every_record_and_keeps_the_money(jane, make_client):
    numbers = list(jane.orders.values_list("number", flat=True))
    totals = Customer.objects.filter(pk=jane.pk).values(
        "orders_count", "lifetime_value", "first_order_at", "last_order_at").get()
    money = money_of(numbers)
    assert personal_left(records_of(jane.pk, numbers)) == list(PERSONAL)  # the set-up works

    response = back_office(make_client).post(
        f"/api/v1/customers/{jane.pk}/erase/", {"reason": "Ticket 4411"}, format="json",
        HTTP_IDEMPOTENCY_KEY="erase-jane",
    )

    assert response.status_code == 200, response.content
    assert response.json()["customer"] == jane.pk
    assert response.json()["reason"] == "Ticket 4411"
    records = records_of(jane.pk, numbers)
    assert personal_left(records) == []
    assert money_of(numbers) == money
    erased = Customer.objects.values(
        "email", "orders_count", "lifetime_value", "first_order_at", "last_order_at"
    ).get(pk=jane.pk)
    assert erased.pop("email") == erased_email(jane.pk)
    assert erased == totals


def test_erase_forgets_stored_answers_that_name_the_person(jane):
    from orders.models import IdempotencyRecord

    IdempotencyRecord.objects.create(
        scope="key1", key="order-1", request_hash="h", response_status=201,
        response_body={"number": "W1", "customer": {"email": "JANE@example.com"}},
    )
    IdempotencyRecord.objects.create(
        scope="key1", key="order-2", request_hash="h", response_status=201,
        response_body={"number": "W2", "customer": {"email": "bob@example.com"}},
    )

    record = customer_erase(customer=jane, actor="privacy desk", reason="Ticket 1").record

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["order-2"]
    assert record.counts["replays_forgotten"] == 1


def test_erase_keeps_the_tax_jurisdiction_and_non_personal_attributes(jane):
    customer_erase(customer=jane, actor="user:dpo", reason="Ticket 4411")

    order = jane.orders.get()
    assert order.email == erased_email(jane.pk)
    assert order.shipping_address["country"] == "US"
    assert order.shipping_address["region"] == "NV"
    assert order.shipping_address["line1"] == ""
    assert order.attributes == {"promo_code": "WELCOME10"}
    assert Address.objects.filter(customer=jane).count() == 0
    assert list(jane.channels.values_list("channel_code", "external_id")) == [("web", None)]


def test_erase_cancels_running_subscriptions_with_the_reason(jane):
    subscription = jane.subscriptions.get()
    assert subscription.status == "active"

    customer_erase(customer=jane, actor="user:dpo", reason="Ticket 4411")

    subscription.refresh_from_db()
    assert (subscription.status, subscription.payment_reference) == ("cancelled", "")
    cancelled = subscription.events.get(type="cancelled")
    assert cancelled.message == "The customer's personal data is erased: Ticket 4411"


def test_erase_withholds_unsent_emails_and_redacts_recipients(jane):
    number = jane.orders.get().number
    sent = EmailMessage.objects.create(
        to="jane@example.com", template="order_confirmation", subject="Confirmed",
        body_text="Dear Jane", reference=f"order:{number}", status="sent",
    )

    customer_erase(customer=jane, actor="user:dpo", reason="Ticket 4411")

    about_jane = EmailMessage.objects.filter(reference=f"order:{number}")
    assert set(about_jane.values_list("to", flat=True)) == {erased_email(jane.pk)}
    assert set(about_jane.values_list("body_text", flat=True)) == {""}
    assert not about_jane.filter(status__in=["queued", "sending", "failed"]).exists()
    sent.refresh_from_db()
    assert sent.status == "sent"  # what happened stays on record, without the text
    assert erased_emails_withheld([sent]) == {sent.pk: "The recipient's personal data was erased."}


def test_erasing_twice_is_harmless_and_emits_the_event_once(jane, make_client):
    client = back_office(make_client)
    url = f"/api/v1/customers/{jane.pk}/erase/"
    first = client.post(url, {"reason": "Ticket 4411"}, format="json")
    jane.refresh_from_db()
    state = records_of(jane.pk, list(jane.orders.values_list("number", flat=True)))

    second = client.post(url, {"reason": "Asked again"}, format="json")

    assert second.status_code == 200, second.content
    assert second.json() == first.json()
    assert records_of(jane.pk, list(jane.orders.values_list("number", flat=True))) == state
    assert CustomerErasure.objects.count() == 1
    events = OutboxEvent.objects.filter(topic="customer.erased")
    assert events.count() == 1
    assert events.get().payload == {
        "customer": {"id": jane.pk},
        "channels": ["web"],
        "orders": list(jane.orders.values_list("number", flat=True)),
        "returns": ["RMA-T1"],
        "subscriptions": list(jane.subscriptions.values_list("pk", flat=True)),
        "erased_at": CustomerErasure.objects.get().erased_at.isoformat(),
    }


def test_erasure_records_who_and_why_without_personal_data(jane):
    customer_erase(customer=jane, actor="user:dpo", reason="Ticket 4411")

    record = CustomerErasure.objects.get()
    assert (record.customer_id, record.customer_number, record.actor, record.reason) == (
        jane.pk, jane.pk, "user:dpo", "Ticket 4411"
    )
    assert record.counts["orders"] == 1
    assert record.counts["subscriptions_cancelled"] == 1
    assert "jane" not in json.dumps(record.counts).lower()


def test_channel_keys_cannot_erase(jane, api, make_client, shop):
    granted = make_client(channel=shop["channel"], scopes=["customers:write"])
    for client in (api, granted):
        response = client.post(
            f"/api/v1/customers/{jane.pk}/erase/", {"reason": "Ticket"}, format="json"
        )
        assert_problem(response, 403, "permission_denied")
    assert not CustomerErasure.objects.exists()
    assert Customer.objects.get(pk=jane.pk).email == "jane@example.com"


def test_erase_needs_a_reason(jane, make_client):
    response = back_office(make_client).post(
        f"/api/v1/customers/{jane.pk}/erase/", {"reason": ""}, format="json"
    )

    assert_problem(response, 400, "validation_error")
    assert not CustomerErasure.objects.exists()


def test_erase_waits_for_orders_still_to_be_shipped(jane, make_client):
    order = jane.orders.get()
    Order.objects.filter(pk=order.pk).update(status="processing")

    response = back_office(make_client).post(
        f"/api/v1/customers/{jane.pk}/erase/", {"reason": "Ticket 4411"}, format="json"
    )

    assert_problem(response, 409, "customer_has_open_orders")
    assert order.number in response.json()["detail"]
    order.refresh_from_db()
    assert order.email == "jane@example.com"
    assert jane.subscriptions.get().status == "active"
    assert not OutboxEvent.objects.filter(topic="customer.erased").exists()


def test_customer_without_orders_is_erased_and_may_then_be_deleted(make_client):
    customer = Customer.objects.create(email="solo@example.com", first_name="Solo")
    client = back_office(make_client)

    assert client.post(
        f"/api/v1/customers/{customer.pk}/erase/", {"reason": "Ticket 9"}, format="json"
    ).status_code == 200
    assert client.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204

    record = CustomerErasure.objects.get()
    assert (record.customer_id, record.customer_number) == (None, customer.pk)


def test_admin_action_confirms_what_it_erases_then_erases(jane, admin_client):
    changelist = "/admin/customers/customer/"
    selection = {"action": "erase_selected", "_selected_action": [jane.pk]}

    page = admin_client.post(changelist, selection)

    assert page.status_code == 200
    assert page.templates[0].name == "admin/customers/customer/erase_confirmation.html"
    preview = page.context["previews"][0]
    assert (preview["orders"], preview["subscriptions_to_cancel"], preview["returns"]) == (
        1, 1, 1
    )
    assert preview["refusal"] == ""
    assert b"Yes, erase their personal data" in page.content
    assert Customer.objects.get(pk=jane.pk).email == "jane@example.com"  # nothing yet

    done = admin_client.post(
        changelist, {**selection, "confirm": "yes", "reason": "Ticket 4411"}, follow=True
    )

    assert done.status_code == 200
    assert f"Customer {jane.pk}: personal data erased." in done.content.decode()
    assert Customer.objects.get(pk=jane.pk).email == erased_email(jane.pk)
    assert CustomerErasure.objects.get().actor == "user:admin"


def test_admin_confirmation_names_customers_it_will_not_erase(jane, admin_client):
    Order.objects.filter(customer=jane).update(status="processing")
    other = Customer.objects.create(email="other@example.com")
    selection = {"action": "erase_selected", "_selected_action": [jane.pk, other.pk]}

    page = admin_client.post("/admin/customers/customer/", selection)

    refusals = {preview["customer"].pk: preview["refusal"] for preview in page.context["previews"]}
    assert "still to be shipped" in refusals[jane.pk]
    assert refusals[other.pk] == ""


def test_erased_placeholder_e_mails_are_never_sent(jane):
    customer_erase(customer=jane, actor="user:dpo", reason="Ticket 4411")
    later = EmailMessage.objects.create(
        to=erased_email(jane.pk), template="delivery_follow_up", subject="How was it?",
        body_text="", reference="order:late",
        created_at=timezone.now() + timedelta(seconds=1),
    )

    from oms_project.notifications import email_send

    assert email_send(message_pk=later.pk) is False
    later.refresh_from_db()
    assert later.status == "withheld"
