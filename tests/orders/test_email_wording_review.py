"""Customer e-mails say what happened in the customer's terms: the store's own day, collection
rather than shipping for pickup orders, and "Part of" for a parcel that leaves units to come."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from oms_project.models import EmailMessage
from orders.models import FulfillmentOrder
from orders.services import order_create, shipment_create
from orders.services.fulfillment import pickup_reminders_send
from tests.orders.conftest import order_data
from tests.orders.pickups import on_the_shelf
from tests.orders.test_fulfillment_fixes import _split_pickup

pytestmark = pytest.mark.django_db


def test_pickup_reminder_dates_the_shelf_day_in_the_stores_time_zone(shop, stock):
    """A store in Los Angeles shelved the order on Thursday 26 November at 19:00 local
    (03:00 UTC on the 27th); the reminder must say Thursday, 26 November."""
    store = shop["store"]
    store.timezone = "America/Los_Angeles"
    store.save(update_fields=["timezone"])
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
        actor="test",
    )
    fulfillment_order, _ = on_the_shelf(FulfillmentOrder.objects.get(order=order), ["A", "A"])
    shelved = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    FulfillmentOrder.objects.filter(pk=fulfillment_order.pk).update(updated_at=shelved)

    with time_machine.travel(shelved + timedelta(days=4), tick=False):
        assert pickup_reminders_send() == 1

    mail = EmailMessage.objects.get(template="pickup_reminder")
    assert "since Thursday, 26 November" in mail.body_text, mail.body_text


def test_backordered_pickup_confirmation_does_not_promise_to_ship(shop, stock):
    """A pickup order is collected, never shipped: its confirmation must not say the waiting
    items are shipped when they arrive."""
    order, _ = _split_pickup(shop, stock)
    mail = EmailMessage.objects.get(
        template="order_confirmation", reference=f"order:{order.number}"
    )
    assert "Some items are waiting for new stock" in mail.body_text
    assert "We ship them" not in mail.body_text, mail.body_text
    assert "We ship them" not in mail.body_html
    assert "We will e-mail you when they are ready to collect" in mail.body_text


def test_partial_shipment_subject_says_part_of_the_order(shop, stock):
    """One unit of four leaves; the subject must not announce the whole order as shipped."""
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    order = order_create(
        channel=shop["channel"],
        data=order_data(
            lines=[{"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
                   {"sku": "B", "quantity": 2, "unit_price": Decimal("10.00")}],
            payment={"method": "card", "amount": Decimal("47.00"), "status": "captured"},
        ),
        actor="test",
    )
    line_a = order.lines.get(sku="A")
    shipment_create(
        order=order, reference="S1", lines={line_a.pk: 1}, actor="test",
        warehouse=shop["east"], tracking_number="1Z999AA10123456784",
        service_level=shop["service_level"],
        shipped_at=timezone.now() - timedelta(hours=1),
    )
    mail = EmailMessage.objects.get(template="shipment_confirmation")
    assert mail.subject.startswith("Part of your Web shop order"), mail.subject
    assert "the rest follows" in mail.body_text
    line_b = order.lines.get(sku="B")
    shipment_create(
        order=order, reference="S2", lines={line_a.pk: 1, line_b.pk: 2}, actor="test",
        warehouse=shop["east"], tracking_number="1Z999AA10123456785",
        service_level=shop["service_level"],
    )
    last = EmailMessage.objects.filter(template="shipment_confirmation").latest("pk")
    assert last.subject.startswith("Your Web shop order"), last.subject
