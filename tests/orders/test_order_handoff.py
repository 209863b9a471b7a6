"""A paid order hands its events and its receipt to the workers in one message."""

import pytest

from oms_project.models import EmailMessage, OutboxEvent
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def test_a_paid_order_hands_its_events_and_receipt_over_in_one_message(
    shop, stock, published, django_capture_on_commit_callbacks
):
    stock("A", "EAST", 5)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    events = OutboxEvent.objects.filter(reference=order.number).order_by("pk")
    receipt = EmailMessage.objects.get(template="order_confirmation")
    assert published == [(list(events.values_list("pk", flat=True)), [receipt.pk])]
    assert sorted(events.values_list("topic", flat=True)) == ["order.created", "order.paid"]
