"""The order state machine: every allowed pair moves, every forbidden pair is refused."""

import itertools

import pytest

from orders.errors import InvalidTransition
from orders.models import Order, OrderEvent
from orders.services import order_transition
from orders.states import TRANSITIONS, OrderStatus, can_transition
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

PAIRS = list(itertools.product(OrderStatus.values, repeat=2))


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(OrderStatus.values)


def test_final_statuses_lead_nowhere():
    assert TRANSITIONS[OrderStatus.COMPLETE] == frozenset()
    assert TRANSITIONS[OrderStatus.CANCELLED] == frozenset()


def test_nothing_shipped_can_be_cancelled_whole():
    assert not can_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED)
    assert not can_transition(OrderStatus.PARTIALLY_SHIPPED, OrderStatus.CANCELLED)


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS)
def test_transition_pair(from_status, to_status):
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(status=from_status)
    order.refresh_from_db()
    if can_transition(from_status, to_status):
        order_transition(order=order, to_status=to_status, actor="test", reason="walk")
        order.refresh_from_db()
        assert order.status == to_status
        event = OrderEvent.objects.get(order=order)
        assert (event.from_status, event.to_status, event.actor) == (from_status, to_status, "test")
    else:
        with pytest.raises(InvalidTransition):
            order_transition(order=order, to_status=to_status, actor="test")
        order.refresh_from_db()
        assert order.status == from_status
        assert not OrderEvent.objects.filter(order=order).exists()


def test_a_hold_can_return_to_every_status_it_can_interrupt():
    held_from = {
        status for status, targets in TRANSITIONS.items() if OrderStatus.ON_HOLD in targets
    }
    assert held_from == {"created", "processing", "backordered", "partially_shipped"}
    # ... and to shipped, when the units left unshipped were cancelled while it was held.
    assert can_transition(OrderStatus.ON_HOLD, OrderStatus.SHIPPED)
    for status in held_from:
        assert can_transition(OrderStatus.ON_HOLD, status), f"a hold cannot return to {status}"
