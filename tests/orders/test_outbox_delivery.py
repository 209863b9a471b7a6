"""The outbox and e-mails after commit: nothing for a rolled-back order, and a broker outage
never fails an order; the sweep sends what was not enqueued once the broker is back."""

from datetime import timedelta

import pytest
from django.db import transaction

from oms_project.models import EmailMessage, OutboxEvent
from oms_project.tasks import outbox_sweep_task
from orders.models import Order
from orders.services import order_create
from tests.oms_project.celery_broker import celery_broker
from tests.orders.conftest import order_data
from tests.orders.shipping import post_json

pytestmark = pytest.mark.django_db
DEAD_BROKER = "redis://127.0.0.1:1/0"


def test_rolled_back_order_sends_no_email_and_no_event(
    shop, stock, django_capture_on_commit_callbacks
):
    stock("A", "EAST", 5)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        order_create(channel=shop["channel"], data=order_data(), actor="test")
        assert OutboxEvent.objects.count() == 2
        raise RuntimeError("the caller's transaction fails after the order was written")
    assert callbacks == []
    assert Order.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
    assert EmailMessage.objects.count() == 0


def test_broker_down_still_creates_the_order_and_the_sweep_sends_later(
    shop, stock, make_client, django_capture_on_commit_callbacks, mailoutbox
):
    stock("A", "EAST", 5)
    api = make_client(channel=shop["channel"])
    body = {
        "channel_order_id": "WEB-DOWN",
        "customer": {"email": "jane@example.com"},
        "shipping_address": {"line1": "1 Main St", "city": "Reno", "country": "US"},
        "shipping_method": "ground",
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 1, "unit_price": "10.00"}],
        "payment": {"method": "card", "amount": "10.00", "status": "captured"},
    }
    with celery_broker(DEAD_BROKER), django_capture_on_commit_callbacks(execute=True):
        response = post_json(api, "/api/v1/orders/", body)
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    pending = OutboxEvent.objects.filter(reference=number, dispatched_at__isnull=True)
    assert sorted(pending.values_list("topic", flat=True)) == ["order.created", "order.paid"]
    assert EmailMessage.objects.get().status == "queued"
    assert mailoutbox == []

    # The broker is back (eager here); rows older than the grace period are swept.
    OutboxEvent.objects.update(created_at=OutboxEvent.objects.get(topic="order.paid").created_at
                               - timedelta(minutes=5))
    EmailMessage.objects.update(created_at=EmailMessage.objects.get().created_at
                                - timedelta(minutes=5))
    assert outbox_sweep_task() == 3
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0
    assert EmailMessage.objects.get().status == "sent"
    assert [message.subject for message in mailoutbox] == [
        f"Your Web shop order {number} is confirmed"
    ]
    assert outbox_sweep_task() == 0
