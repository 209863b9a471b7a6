"""Returns and refunds racing on PostgreSQL: no unit returned twice, no money refunded twice."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from oms_project.errors import OmsError
from orders.models import Order, OrderLine
from returns.models import Refund, ReturnRequest
from returns.services import (
    order_refund,
    return_approve,
    return_create,
    return_receive,
    return_refund,
)
from tests.returns.conftest import lines_by_sku

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(count: int, call) -> list:
    """Run `call(index)` in `count` threads released together; return results or errors."""
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            return call(index)
        except OmsError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_returns_never_claim_the_same_units(delivered):
    line_id = lines_by_sku(delivered)["A"].pk
    order = Order.objects.get(pk=delivered.pk)

    outcomes = race(8, lambda _index: return_create(
        order=order, actor="test",
        lines=[{"line_id": line_id, "quantity": 2, "reason": "other"}],
    ).status)

    assert sorted(outcomes, key=str) == ["invalid_transition"] * 7 + ["requested"]
    assert ReturnRequest.objects.count() == 1


def test_concurrent_goodwill_refunds_stay_within_what_was_paid(delivered):
    order = Order.objects.get(pk=delivered.pk)

    outcomes = race(6, lambda index: str(order_refund(
        order=order, kind="goodwill", amount=Decimal("20.00"), reason=f"Sorry {index}",
        actor="test",
    ).amount))

    assert sorted(outcomes) == ["20.00"] + ["refund_exceeds_paid"] * 5
    assert Refund.objects.count() == 1


def test_a_return_is_refunded_once_under_concurrency(delivered):
    line_id = lines_by_sku(delivered)["A"].pk
    return_request = return_create(
        order=delivered, actor="test",
        lines=[{"line_id": line_id, "quantity": 2, "reason": "other"}],
    )
    return_approve(return_request=return_request, actor="test")
    return_receive(return_request=return_request, actor="test", lines=[
        {"line_id": line_id, "condition": "resellable", "quantity": 2, "location": "EAST"}])

    outcomes = race(6, lambda _index: str(
        return_refund(return_request=return_request, actor="test").amount
    ))

    assert sorted(outcomes) == ["19.60"] + ["invalid_transition"] * 5
    assert Refund.objects.count() == 1
    assert OrderLine.objects.get(pk=line_id).quantity_returned == 2
