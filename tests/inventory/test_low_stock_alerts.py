"""Low-stock alerts: one e-mail and one outbox event per fall, again only after recovery."""

import pytest

from inventory.errors import InsufficientStock
from inventory.models import StockLevel
from inventory.services import (
    Hold,
    reservation_release,
    stock_allocate,
    stock_change,
    stock_level_settings_update,
    stock_set,
)
from oms_project.models import EmailMessage, OutboxEvent
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


@pytest.fixture
def level(stock):
    level = stock(on_hand=20, reorder_point=5, reorder_quantity=40, safety_stock=1)
    Warehouse.objects.filter(pk=level.warehouse_id).update(
        contact_emails=["buyer@example.com", "floor@example.com"]
    )
    return level


def alerts():
    return list(OutboxEvent.objects.filter(topic="inventory.low_stock").order_by("id"))


def test_falling_to_the_reorder_point_alerts_once(level):
    stock_change(level=level, delta=-13)  # available 20-13-1 = 6: not yet low
    assert alerts() == []
    stock_change(level=level, delta=-1)  # available 5: at the reorder point
    [event] = alerts()
    assert event.payload == {
        "sku": "SKU-A", "product_name": level.product.name, "warehouse": "MAIN",
        "on_hand": 6, "allocated": 0, "safety_stock": 1, "available": 5,
        "reorder_point": 5, "reorder_quantity": 40,
    }
    assert event.reference == f"stock_level:{level.pk}"
    emails = EmailMessage.objects.filter(template="low_stock").order_by("to")
    assert [email.to for email in emails] == ["buyer@example.com", "floor@example.com"]
    assert emails[0].subject.endswith("Low stock: SKU-A at MAIN (5 available)")
    assert "Reorder point: 5" in emails[0].body_text
    assert "Suggested reorder quantity" in emails[0].body_html
    level.refresh_from_db()
    assert level.low_stock_alerted_at is not None


def test_no_repeat_while_still_low(level):
    stock_set(level=level, on_hand=4)
    stock_change(level=level, delta=-1)
    stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 1, "order_line:1")])
    assert len(alerts()) == 1
    assert EmailMessage.objects.filter(template="low_stock").count() == 2


def test_recovery_clears_the_mark_and_a_new_fall_alerts_again(level):
    stock_set(level=level, on_hand=3)
    stock_change(level=level, delta=2)  # available 4: still low, still marked
    level.refresh_from_db()
    assert level.low_stock_alerted_at is not None
    stock_change(level=level, delta=10)  # available 14: recovered
    level.refresh_from_db()
    assert level.low_stock_alerted_at is None
    stock_change(level=level, delta=-10)
    assert len(alerts()) == 2


def test_allocation_and_release(level):
    stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 15, "order_line:9")])
    assert len(alerts()) == 1
    reservation_release(reference="order_line:9")
    level.refresh_from_db()
    assert level.low_stock_alerted_at is None


def test_raising_safety_stock_can_make_it_low(level):
    stock_level_settings_update(level=level, safety_stock=16)
    assert len(alerts()) == 1


def test_zero_reorder_point_never_alerts(stock):
    level = stock(on_hand=5)
    stock_set(level=level, on_hand=0)
    assert alerts() == []
    assert StockLevel.objects.get(pk=level.pk).low_stock_alerted_at is None


def test_failed_change_sends_nothing(level):
    stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 3, "order_line:1")])
    with pytest.raises(InsufficientStock):
        stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 30, "order_line:2")])
    assert alerts() == []


def test_receipt_that_leaves_stock_low_does_not_alert(stock):
    stock(on_hand=3, reorder_point=5)
    assert alerts() == []


def test_warehouse_without_contacts_still_emits_the_event(stock):
    level = stock(on_hand=3, reorder_point=5)
    stock_change(level=level, delta=-1)
    assert len(alerts()) == 1
    assert EmailMessage.objects.count() == 0
