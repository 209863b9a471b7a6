"""`inventory_reconcile`: find and repair drift between stock levels, ledger and reservations."""

import pytest
from django.core.management import CommandError, call_command

from inventory.models import StockLevel, StockMovement, StockReservation
from inventory.reconciliation import stock_mismatches
from inventory.services import Hold, stock_allocate
from inventory.tasks import inventory_reconcile_task
from oms_project.models import EmailMessage

pytestmark = pytest.mark.django_db


def reserve(level, quantity, reference="order_line:1"):
    stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, quantity, reference)])


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("inventory_reconcile", *args, stdout=out, stderr=err)
        failed = None
    except CommandError as error:
        failed = str(error)
    return out.getvalue(), err.getvalue(), failed


def test_consistent_stock_reports_nothing(stock):
    level = stock(on_hand=10)
    reserve(level, 4)
    out, _err, failed = run()
    assert failed is None
    assert "Every stock level matches its ledger." in out


def test_mismatches_are_listed_with_sku_warehouse_expected_actual(stock):
    drifted = stock("SKU-A", on_hand=10)
    over = stock("SKU-B", warehouse="EAST", on_hand=5)
    StockLevel.objects.filter(pk=drifted.pk).update(on_hand=12)  # changed without a movement
    StockLevel.objects.filter(pk=over.pk).update(allocated=2)  # allocated without reservation
    out, _err, failed = run()
    assert failed == "Mismatches found; run with --fix to repair them."
    assert "SKU-A\tMAIN\ton_hand vs ledger\t10\t12" in out
    assert "SKU-B\tEAST\tallocated vs ledger\t0\t2" in out
    assert "SKU-B\tEAST\tallocated vs reservations\t0\t2" in out
    assert "2 stock level(s) do not match." in out
    assert StockMovement.objects.filter(reason="reconciliation").count() == 0


def test_fix_keeps_on_hand_and_explains_it_in_the_ledger(stock):
    level = stock(on_hand=10)
    StockLevel.objects.filter(pk=level.pk).update(on_hand=12)
    _out, _err, failed = run("--fix", "--actor", "ops:jane")
    assert failed is None
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (12, 0)
    movement = StockMovement.objects.get(reason="reconciliation")
    assert (movement.delta_on_hand, movement.delta_allocated, movement.actor) == (2, 0, "ops:jane")
    assert movement.note.startswith("was on_hand=12 (ledger 10)")
    assert stock_mismatches() == []


def test_fix_sets_allocated_to_the_reservations(stock):
    level = stock(on_hand=10)
    reserve(level, 4)
    StockLevel.objects.filter(pk=level.pk).update(allocated=7)
    run("--fix")
    level.refresh_from_db()
    assert level.allocated == 4
    movement = StockMovement.objects.get(reason="reconciliation")
    assert (movement.delta_on_hand, movement.delta_allocated) == (0, 0)
    assert stock_mismatches() == []


def test_fix_repairs_a_ledger_missing_an_allocation(stock):
    level = stock(on_hand=10)
    reserve(level, 4)
    StockMovement.objects.filter(reason="allocation").delete()
    run("--fix")
    movement = StockMovement.objects.get(reason="reconciliation")
    assert (movement.delta_on_hand, movement.delta_allocated) == (0, 4)
    level.refresh_from_db()
    assert level.allocated == 4
    assert stock_mismatches() == []


def test_reservations_above_on_hand_are_not_repaired(stock):
    level = stock(on_hand=3)
    reserve(level, 3)
    StockReservation.objects.filter(stock_level=level).update(quantity=5)
    _out, err, failed = run("--fix")
    assert failed == "1 stock level(s) could not be repaired."
    assert "NOT repaired SKU-A@MAIN: reservations (5) exceed on hand (3)" in err
    assert StockMovement.objects.filter(reason="reconciliation").count() == 0


def test_empty_actor_is_refused(stock):
    _out, _err, failed = run("--fix", "--actor", " ")
    assert failed == "--actor must not be empty."


def test_check_uses_one_query_whatever_the_number_of_levels(stock, django_assert_num_queries):
    for index in range(5):
        level = stock(f"SKU-{index}", on_hand=index + 1)
        StockLevel.objects.filter(pk=level.pk).update(on_hand=50)
    with django_assert_num_queries(1):
        assert len(stock_mismatches()) == 5


def test_nightly_task_alerts_staff_on_mismatch(stock, settings):
    settings.OMS_STAFF_ALERT_EMAILS = ["ops@example.com"]
    level = stock(on_hand=10)
    assert inventory_reconcile_task() == 0
    assert EmailMessage.objects.count() == 0
    StockLevel.objects.filter(pk=level.pk).update(on_hand=9)
    assert inventory_reconcile_task() == 1
    email = EmailMessage.objects.get()
    assert email.to == "ops@example.com"
    assert email.subject.endswith("Stock ledger mismatch on 1 stock level(s)")
    assert "SKU-A @ MAIN: on_hand vs ledger expected 10, actual 9" in email.body_text
    level.refresh_from_db()
    assert level.on_hand == 9  # the task only reports
