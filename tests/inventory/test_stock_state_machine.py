"""Property-based: any sequence of stock operations keeps the ledger and the numbers sound.

A Hypothesis state machine receives, allocates, releases, ships, adjusts and counts one SKU in
two warehouses through the services, keeps a plain model of what should be there, and after
every step checks `on_hand >= 0`, `0 <= allocated <= on_hand`, ledger sums equal both numbers
and the reservations add up to `allocated`.
"""

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from inventory.errors import BelowAllocated, InsufficientStock
from inventory.models import StockLevel, StockMovement, StockReservation
from inventory.services import (
    Hold,
    reservation_consume,
    reservation_release,
    stock_allocate,
    stock_change,
    stock_receive,
    stock_set,
)
from tests.factories import ProductFactory, WarehouseFactory

REFERENCES = st.sampled_from(["order_line:1", "order_line:2", "checkout:a"])
LOCATIONS = st.sampled_from([0, 1])


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        product = ProductFactory()
        self.levels = [
            StockLevel.objects.create(product=product, warehouse=WarehouseFactory()),
            StockLevel.objects.create(
                product=product, warehouse=WarehouseFactory(), safety_stock=2
            ),
        ]
        self.on_hand = [0, 0]
        self.reserved: dict[tuple[int, str], int] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def allocated(self, index: int) -> int:
        return sum(units for (where, _ref), units in self.reserved.items() if where == index)

    @rule(where=LOCATIONS, quantity=st.integers(1, 40))
    def receive(self, where, quantity):
        level = self.levels[where]
        stock_receive(product=level.product, warehouse=level.warehouse, quantity=quantity)
        self.on_hand[where] += quantity

    @rule(
        basket=st.lists(st.tuples(LOCATIONS, st.integers(1, 15)), min_size=1, max_size=3),
        reference=REFERENCES,
    )
    def allocate(self, basket, reference):
        demand = [0, 0]
        for where, quantity in basket:
            demand[where] += quantity
        fits = all(
            demand[where] <= self.on_hand[where] - self.allocated(where)
            - self.levels[where].safety_stock
            for where in (0, 1) if demand[where]
        )
        holds = [
            Hold(self.levels[where].product_id, self.levels[where].warehouse_id, quantity,
                 reference)
            for where, quantity in basket
        ]
        try:
            stock_allocate(holds=holds)
        except InsufficientStock:
            assert not fits, "allocation refused although the stock was there"
            return
        assert fits, "allocation succeeded beyond the available stock"
        for where in (0, 1):
            if demand[where]:
                key = (where, reference)
                self.reserved[key] = self.reserved.get(key, 0) + demand[where]

    @rule(reference=REFERENCES, quantity=st.one_of(st.none(), st.integers(0, 20)))
    def release(self, reference, quantity):
        released = reservation_release(reference=reference, quantity=quantity)
        expected = sum(units for (_w, ref), units in self.reserved.items() if ref == reference)
        if quantity is not None:
            expected = min(expected, quantity)
        assert released == expected
        self._take(reference, released, ship=False)

    @rule(reference=REFERENCES, quantity=st.integers(1, 20))
    def ship(self, reference, quantity):
        reserved = sum(units for (_w, ref), units in self.reserved.items() if ref == reference)
        try:
            shipped = reservation_consume(reference=reference, quantity=quantity)
        except InsufficientStock:
            assert reserved < quantity
            return
        assert shipped == quantity <= reserved
        self._take(reference, shipped, ship=True)

    def _take(self, reference: str, units: int, *, ship: bool) -> None:
        # The services take from the lowest stock level first.
        for where in (0, 1):
            key = (where, reference)
            take = min(self.reserved.get(key, 0), units)
            if take:
                self.reserved[key] -= take
                if not self.reserved[key]:
                    del self.reserved[key]
                if ship:
                    self.on_hand[where] -= take
                units -= take

    @rule(where=LOCATIONS, delta=st.integers(-30, 30).filter(bool))
    def adjust(self, where, delta):
        try:
            stock_change(level=self.levels[where], delta=delta)
        except BelowAllocated:
            assert self.on_hand[where] + delta < self.allocated(where)
            return
        self.on_hand[where] += delta

    @rule(where=LOCATIONS, count=st.integers(0, 60))
    def count(self, where, count):
        try:
            stock_set(level=self.levels[where], on_hand=count)
        except BelowAllocated:
            assert count < self.allocated(where)
            return
        self.on_hand[where] = count

    @invariant()
    def numbers_and_ledger_agree(self):
        for where, level in enumerate(self.levels):
            on_hand, allocated = StockLevel.objects.filter(pk=level.pk).values_list(
                "on_hand", "allocated"
            ).get()
            assert on_hand >= 0
            assert 0 <= allocated <= on_hand
            assert (on_hand, allocated) == (self.on_hand[where], self.allocated(where))
            sums = StockMovement.objects.filter(stock_level=level).aggregate(
                on_hand=Sum("delta_on_hand"), allocated=Sum("delta_allocated")
            )
            assert (sums["on_hand"] or 0, sums["allocated"] or 0) == (on_hand, allocated), (
                "the ledger does not add up to the stock level"
            )
            reserved = StockReservation.objects.filter(stock_level=level).aggregate(
                total=Sum("quantity")
            )["total"]
            assert (reserved or 0) == allocated, "reservations do not add up to allocated"


@pytest.mark.django_db
def test_stock_operations_keep_the_ledger_sound():
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
