"""Allocation under real concurrency on PostgreSQL: no oversell, no deadlock."""

import threading
from collections import Counter

import pytest
from django.db import connection

from inventory.errors import InsufficientStock
from inventory.models import StockLevel, StockReservation
from inventory.reconciliation import stock_mismatches
from inventory.services import Hold, stock_allocate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers: int, work) -> Counter:
    """Start `workers` threads at once, each running `work(index)`; count the outcomes."""
    barrier = threading.Barrier(workers)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = work(index)
        except InsufficientStock as error:
            outcome = error.code
        except Exception as error:  # recorded, then asserted on by the test
            outcome = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_fifty_buyers_for_the_last_ten_units(stock):
    level = stock(on_hand=10)

    def buy(index: int) -> str:
        stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 1, f"order_line:{index}")])
        return "allocated"

    outcomes = race(50, buy)
    assert outcomes == Counter({"allocated": 10, "insufficient_stock": 40})
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (10, 10)
    assert StockReservation.objects.filter(stock_level=level).count() == 10
    assert stock_mismatches() == []


def test_opposite_baskets_never_deadlock(stock):
    first = stock("SKU-A", on_hand=5000)
    second = stock("SKU-B", on_hand=5000)
    rounds = 25

    def buy(index: int) -> str:
        basket = [first, second] if index % 2 else [second, first]
        for round_number in range(rounds):
            stock_allocate(
                holds=[
                    Hold(level.product_id, level.warehouse_id, 1, f"basket:{index}:{round_number}")
                    for level in basket
                ]
            )
        return "allocated"

    outcomes = race(16, buy)
    assert outcomes == Counter({"allocated": 16})
    assert list(
        StockLevel.objects.order_by("product__sku").values_list("allocated", flat=True)
    ) == [16 * rounds, 16 * rounds]
    assert stock_mismatches() == []


def test_racing_buyers_over_two_rows_never_oversell(stock):
    first = stock("SKU-A", on_hand=7)
    second = stock("SKU-B", on_hand=7)

    def buy(index: int) -> str:
        basket = [first, second] if index % 2 else [second, first]
        stock_allocate(
            holds=[Hold(level.product_id, level.warehouse_id, 2, f"basket:{index}")
                   for level in basket]
        )
        return "allocated"

    outcomes = race(20, buy)
    assert outcomes == Counter({"allocated": 3, "insufficient_stock": 17})
    assert list(StockLevel.objects.values_list("on_hand", "allocated")) == [(7, 6), (7, 6)]
    assert stock_mismatches() == []
