"""Stock services: receipts, changes, counts, allocation, release, consumption, expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.errors import BelowAllocated, InsufficientStock, InvalidQuantity, StockChanged
from inventory.models import MovementReason, StockLevel, StockMovement, StockReservation
from inventory.reconciliation import stock_mismatches
from inventory.services import (
    Hold,
    reservation_consume,
    reservation_release,
    reservations_release_expired,
    stock_allocate,
    stock_change,
    stock_level_settings_update,
    stock_set,
)

pytestmark = pytest.mark.django_db


def hold(level, quantity, reference="order_line:1", **kwargs):
    return Hold(level.product_id, level.warehouse_id, quantity, reference, **kwargs)


def numbers(level):
    level.refresh_from_db()
    return level.on_hand, level.allocated


def test_receive_writes_one_receipt_movement(stock):
    level = stock(on_hand=10)
    movement = StockMovement.objects.get(stock_level=level)
    assert (movement.delta_on_hand, movement.delta_allocated) == (10, 0)
    assert movement.reason == MovementReason.RECEIPT
    assert movement.actor == "test"
    assert stock_mismatches() == []


def test_change_below_allocated_is_refused_and_writes_nothing(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 8)])
    with pytest.raises(BelowAllocated):
        stock_change(level=level, delta=-3)
    assert numbers(level) == (10, 8)
    assert StockMovement.objects.filter(stock_level=level).count() == 2


@pytest.mark.parametrize("delta", [0, 10**9 + 1, 1.5, "3", True])
def test_change_refuses_bad_quantities(stock, delta):
    level = stock(on_hand=10)
    with pytest.raises(InvalidQuantity):
        stock_change(level=level, delta=delta)
    assert numbers(level) == (10, 0)


def test_set_records_the_difference(stock):
    level = stock(on_hand=10)
    stock_set(level=level, on_hand=7, actor="counter", note="shelf 4")
    movement = StockMovement.objects.filter(stock_level=level).first()
    assert (movement.delta_on_hand, movement.reason, movement.note) == (-3, "count", "shelf 4")
    assert numbers(level) == (7, 0)


def test_set_with_stale_expected_on_hand_is_stock_changed(stock):
    level = stock(on_hand=10)
    with pytest.raises(StockChanged) as caught:
        stock_set(level=level, on_hand=4, expected_on_hand=9)
    assert caught.value.extra == {"current_on_hand": 10}
    assert numbers(level) == (10, 0)


def test_set_below_allocated_is_refused(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 6)])
    with pytest.raises(BelowAllocated):
        stock_set(level=level, on_hand=5)
    assert numbers(level) == (10, 6)


def test_allocate_sums_demand_per_stock_level(stock):
    level = stock(on_hand=5)
    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=[hold(level, 3, "order_line:1"), hold(level, 3, "order_line:2")])
    assert caught.value.short == [
        {"sku": "SKU-A", "warehouse": "MAIN", "requested": 6, "available": 5}
    ]
    assert numbers(level) == (5, 0)
    assert StockReservation.objects.count() == 0


def test_allocate_names_every_short_line_and_leaves_nothing_behind(stock):
    plenty = stock("SKU-A", on_hand=10)
    short = stock("SKU-B", on_hand=2)
    other = stock("SKU-C", warehouse="EAST", on_hand=1)
    unstocked = stock("SKU-D")
    holds = [hold(plenty, 4), hold(short, 3), hold(other, 2), hold(unstocked, 1)]
    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=holds)
    assert caught.value.short == [
        {"sku": "SKU-B", "warehouse": "MAIN", "requested": 3, "available": 2},
        {"sku": "SKU-C", "warehouse": "EAST", "requested": 2, "available": 1},
        {"sku": "SKU-D", "warehouse": "MAIN", "requested": 1, "available": 0},
    ]
    assert caught.value.code == "insufficient_stock"
    assert [numbers(level) for level in (plenty, short, other)] == [(10, 0), (2, 0), (1, 0)]
    assert StockReservation.objects.count() == 0
    assert StockMovement.objects.filter(reason="allocation").count() == 0


def test_allocate_reports_a_level_that_does_not_exist(stock):
    level = stock("SKU-A", on_hand=3)
    missing = stock("SKU-B", warehouse="EAST")
    StockLevel.objects.filter(pk=missing.pk).delete()
    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=[hold(level, 1), hold(missing, 2)])
    assert caught.value.short == [
        {"sku": "SKU-B", "warehouse": "EAST", "requested": 2, "available": 0}
    ]


def test_allocate_respects_safety_stock(stock):
    level = stock(on_hand=10, safety_stock=3)
    with pytest.raises(InsufficientStock) as caught:
        stock_allocate(holds=[hold(level, 8)])
    assert caught.value.short[0]["available"] == 7
    stock_allocate(holds=[hold(level, 8)], respect_safety_stock=False)
    assert numbers(level) == (10, 8)


def test_allocate_writes_reservations_and_movements(stock):
    level = stock(on_hand=10)
    reservations = stock_allocate(
        holds=[hold(level, 2, "order_line:1"), hold(level, 3, "order_line:1"),
               hold(level, 1, "order_line:2")],
        actor="api_key:abc",
    )
    assert sorted((r.reference, r.quantity) for r in reservations) == [
        ("order_line:1", 5), ("order_line:2", 1)
    ]
    assert numbers(level) == (10, 6)
    movements = StockMovement.objects.filter(reason="allocation").order_by("reference")
    assert [(m.reference, m.delta_allocated, m.actor) for m in movements] == [
        ("order_line:1", 5, "api_key:abc"), ("order_line:2", 1, "api_key:abc")
    ]
    assert stock_mismatches() == []


def test_allocate_again_for_the_same_reference_adds_to_the_reservation(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 2)])
    stock_allocate(holds=[hold(level, 3)])
    assert list(StockReservation.objects.values_list("reference", "quantity")) == [
        ("order_line:1", 5)
    ]
    assert stock_mismatches() == []


def test_allocate_refuses_bad_quantity_and_missing_reference(stock):
    level = stock(on_hand=10)
    with pytest.raises(InvalidQuantity):
        stock_allocate(holds=[hold(level, 0)])
    with pytest.raises(InvalidQuantity):
        stock_allocate(holds=[hold(level, 1, reference="")])
    assert numbers(level) == (10, 0)


def test_release_gives_units_back(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 5)])
    assert reservation_release(reference="order_line:1", quantity=2) == 2
    assert numbers(level) == (10, 3)
    assert reservation_release(reference="order_line:1") == 3
    assert numbers(level) == (10, 0)
    assert StockReservation.objects.count() == 0
    assert reservation_release(reference="order_line:1") == 0
    assert stock_mismatches() == []


def test_consume_ships_reserved_units(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 5)])
    assert reservation_consume(reference="order_line:1", quantity=4) == 4
    assert numbers(level) == (6, 1)
    shipment = StockMovement.objects.filter(reason="shipment").get()
    assert (shipment.delta_on_hand, shipment.delta_allocated) == (-4, -4)
    assert stock_mismatches() == []


def test_consume_more_than_reserved_is_refused(stock):
    level = stock(on_hand=10)
    stock_allocate(holds=[hold(level, 2)])
    with pytest.raises(InsufficientStock) as caught:
        reservation_consume(reference="order_line:1", quantity=3)
    assert caught.value.short == [
        {"sku": "SKU-A", "warehouse": "MAIN", "reference": "order_line:1",
         "requested": 3, "available": 2}
    ]
    assert numbers(level) == (10, 2)


def test_expired_reservations_are_released(stock):
    level = stock(on_hand=10)
    past = timezone.now() - timedelta(minutes=1)
    future = timezone.now() + timedelta(minutes=10)
    stock_allocate(holds=[hold(level, 2, "checkout:old", expires_at=past)])
    stock_allocate(holds=[hold(level, 3, "checkout:new", expires_at=future)])
    assert reservations_release_expired() == 2
    assert list(StockReservation.objects.values_list("reference", flat=True)) == ["checkout:new"]
    assert numbers(level) == (10, 3)
    release = StockMovement.objects.filter(reason="release").get()
    assert (release.reference, release.actor, release.note) == (
        "checkout:old", "system:expiry", "reservation expired"
    )
    assert stock_mismatches() == []


def test_settings_update_validates_and_writes_no_movement(stock):
    level = stock(on_hand=10)
    stock_level_settings_update(level=level, safety_stock=2, reorder_point=4)
    assert (level.safety_stock, level.reorder_point, level.reorder_quantity) == (2, 4, 0)
    with pytest.raises(InvalidQuantity):
        stock_level_settings_update(level=level, reorder_point=-1)
    level.refresh_from_db()
    assert level.reorder_point == 4
    assert StockMovement.objects.filter(stock_level=level).count() == 1


def test_expiry_task_releases_through_the_service(stock):
    from inventory.tasks import reservations_release_expired_task

    level = stock(on_hand=4)
    stock_allocate(holds=[hold(level, 4, "checkout:x",
                               expires_at=timezone.now() - timedelta(seconds=1))])
    assert reservations_release_expired_task() == 4
    assert numbers(level) == (4, 0)
