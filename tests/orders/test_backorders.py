"""Backordered orders take newly received stock, oldest first."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_create
from orders.services.backorders import backorders_allocate
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


def test_received_stock_goes_to_the_oldest_backorder_first(shop, stock):
    now = timezone.now()
    older = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(channel_order_id="OLD", placed_at=now - timedelta(days=2)),
    )
    newer = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(channel_order_id="NEW", placed_at=now - timedelta(days=1)),
    )
    assert {older.status, newer.status} == {"backordered"}
    stock("A", "EAST", 2)
    result = backorders_allocate(product_ids=[shop["products"]["A"].pk], actor="test")
    assert result == {"orders": [older.number], "filled": [older.number]}
    assert Order.objects.get(pk=older.pk).status == "processing"
    assert Order.objects.get(pk=newer.pk).status == "backordered"


def test_nothing_waiting_changes_nothing(shop, stock):
    stock("A", "EAST", 2)
    assert backorders_allocate(product_ids=[shop["products"]["A"].pk], actor="test") == {
        "orders": [],
        "filled": [],
    }


def backordered(shop, channel_order_id="WAIT", quantity=2):
    order = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(
            channel_order_id=channel_order_id,
            lines=[{"sku": "A", "quantity": quantity, "unit_price": Decimal("10.00")}],
            payment={"method": "card", "amount": Decimal(10 * quantity + 7), "status": "captured"},
        ),
    )
    assert order.status == "backordered"
    return order


@pytest.fixture
def fill_requests(monkeypatch):
    """The product ids each backorder fill was asked for, in order, with every product
    counted as waited for (so they show what the stock side reported)."""
    calls = []
    monkeypatch.setattr(
        "orders.tasks.backorders_fill_task.delay", lambda product_ids: calls.append(product_ids)
    )
    monkeypatch.setattr(
        "orders.services.backorders.backorders_waiting_products", lambda ids: sorted(ids)
    )
    return calls


def test_a_transfer_received_fills_the_waiting_order(
    shop, stock, django_capture_on_commit_callbacks
):
    from inventory.transfers import TransferItem, transfer_create, transfer_receive, transfer_ship
    from oms_project.models import EmailMessage
    from orders.models import OrderEvent

    stock("A", "WEST", 5)
    shop["channel"].warehouses.remove(shop["west"])  # WEST only feeds EAST by transfer
    waiting = backordered(shop)
    transfer = transfer_create(
        source=shop["west"],
        destination=shop["east"],
        items=[TransferItem(product=shop["products"]["A"], quantity=2)],
    )
    transfer_ship(transfer=transfer)
    with django_capture_on_commit_callbacks(execute=True):
        transfer_receive(transfer=transfer)
    waiting.refresh_from_db()
    assert waiting.status == "processing"
    assert waiting.lines.get().quantity_allocated == 2
    event = OrderEvent.objects.get(order=waiting, type="backorder_filled")
    assert event.message == "Stock now free allocated; nothing is waiting any more."
    assert EmailMessage.objects.filter(
        reference=f"order:{waiting.number}", template="backorder_filled"
    ).exists()


def test_units_a_cancellation_frees_go_to_the_waiting_order(
    shop, stock, django_capture_on_commit_callbacks
):
    from orders.services import order_cancel

    stock("A", "EAST", 2)
    first = order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert first.status == "processing"
    waiting = backordered(shop)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=first, actor="ops", reason="customer asked")
    waiting.refresh_from_db()
    assert waiting.status == "processing"


def test_a_count_up_fills_and_a_count_down_does_not_try(
    shop, stock, django_capture_on_commit_callbacks, fill_requests
):
    from inventory.models import StockLevel
    from inventory.services import stock_set

    calls = fill_requests
    stock("A", "EAST", 3)
    level = StockLevel.objects.get(product=shop["products"]["A"], warehouse=shop["east"])
    with django_capture_on_commit_callbacks(execute=True):
        stock_set(level=level, on_hand=1)
    assert calls == []
    with django_capture_on_commit_callbacks(execute=True):
        stock_set(level=level, on_hand=4)
    assert calls == [[shop["products"]["A"].pk]]


def test_a_batch_of_adjustments_tells_the_listeners_once(
    shop, stock, django_capture_on_commit_callbacks, fill_requests
):
    from inventory.adjustments import Adjustment, stock_adjust_batch

    calls = fill_requests
    products = shop["products"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        results = stock_adjust_batch(
            adjustments=[
                Adjustment(sku=sku, warehouse="EAST", reason="receipt", delta=2)
                for sku in ("A", "B", "C")
            ],
            actor="test",
            atomic=True,
        )
    assert [result.status for result in results] == ["applied"] * 3
    assert calls == [sorted(product.pk for product in products.values())]
    assert len(callbacks) == 1


WRITE_PATHS = ["orm", pytest.param("copy", marks=pytest.mark.postgres)]


def stock_import(content: str, *, write_path: str, **options):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inventory.imports import import_job_create, import_job_run

    job = import_job_create(
        file=SimpleUploadedFile("stock.csv", content.encode(), content_type="text/csv"),
        actor="user:ops",
        run=False,
        **options,
    )
    return import_job_run(job_id=job.pk, write_path=write_path)




@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_a_stock_import_that_raises_stock_fills_the_waiting_order(
    shop, stock, django_capture_on_commit_callbacks, write_path
):
    waiting = backordered(shop)

    with django_capture_on_commit_callbacks(execute=True):
        job = stock_import("sku,warehouse,on_hand\nA,EAST,5\n", write_path=write_path)

    assert job.status == "completed"
    waiting.refresh_from_db()
    assert waiting.status == "processing"
    assert waiting.lines.get().quantity_allocated == 2


def test_a_stock_file_uploaded_over_the_api_fills_the_waiting_order(
    shop, stock, make_client, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    waiting = backordered(shop)
    upload = SimpleUploadedFile(
        "stock.csv", b"sku,warehouse,delta\nA,WEST,+2\n", content_type="text/csv"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = make_client(scopes=["inventory:write"]).post(
            "/api/v1/inventory/imports/", {"file": upload}, format="multipart"
        )

    assert response.status_code == 201, response.content
    waiting.refresh_from_db()
    assert waiting.status == "processing"
    assert waiting.lines.get().quantity_allocated == 2


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_a_stock_import_tells_waiting_orders_only_after_it_commits(
    shop, stock, django_capture_on_commit_callbacks, fill_requests, write_path
):
    backordered(shop)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stock_import("sku,warehouse,on_hand\nA,EAST,5\n", write_path=write_path)
        assert fill_requests == [], "waiting orders were told before the import committed"

    for callback in callbacks:
        callback()
    assert fill_requests == [[shop["products"]["A"].pk]]


@pytest.mark.parametrize("write_path", WRITE_PATHS)
@pytest.mark.parametrize(
    ("content", "options", "status"),
    [
        ("sku,warehouse,on_hand\nA,EAST,1\nB,EAST,3\n", {}, "completed"),
        ("sku,warehouse,on_hand,safety_stock\nA,EAST,8,5\nC,WEST,2,2\n", {}, "completed"),
        ("sku,warehouse,delta\nC,EAST,4\nQ,EAST,1\n", {}, "failed"),
        ("sku,warehouse,delta\nC,EAST,4\n", {"is_dry_run": True}, "completed"),
    ],
    ids=["lowered-or-unchanged", "held-as-safety-stock", "rejected-file", "dry-run"],
)
def test_a_stock_import_that_frees_no_stock_tells_nobody(
    shop, stock, django_capture_on_commit_callbacks, fill_requests, write_path, content,
    options, status,
):
    stock("A", "EAST", 3)
    stock("B", "EAST", 3)
    waiting = order_create(
        channel=shop["channel"],
        actor="test",
        data=order_data(lines=[{"sku": "C", "quantity": 2, "unit_price": Decimal("10.00")}]),
    )
    assert waiting.status == "backordered"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = stock_import(content, write_path=write_path, **options)

    assert job.status == status
    assert fill_requests == []
    assert callbacks == []
    assert Order.objects.get(pk=waiting.pk).status == "backordered"


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_a_large_stock_import_tells_the_listeners_once(
    shop, stock, django_capture_on_commit_callbacks, fill_requests, monkeypatch, write_path
):
    from functools import partial

    from inventory.imports import jobs, reader
    from tests.factories import ProductFactory, WarehouseFactory

    monkeypatch.setattr(jobs, "iter_row_chunks", partial(reader.iter_row_chunks, size=7))
    products = [ProductFactory(sku=f"BULK-{number:03}") for number in range(40)]
    for code in ("NORTH", "SOUTH"):
        WarehouseFactory(code=code)
    rows = [f"{product.sku},{code},{number + 1}"
            for number, product in enumerate(products) for code in ("NORTH", "SOUTH")]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = stock_import("sku,warehouse,on_hand\n" + "\n".join(rows) + "\n",
                           write_path=write_path)

    assert (job.status, job.inserted) == ("completed", 80)
    assert fill_requests == [sorted(product.pk for product in products)]
    assert len(callbacks) == 1


def test_only_stock_that_orders_wait_for_makes_a_fill_task(
    shop, stock, django_capture_on_commit_callbacks, monkeypatch
):
    from inventory.adjustments import Adjustment, stock_adjust_batch

    calls = []
    monkeypatch.setattr(
        "orders.tasks.backorders_fill_task.delay", lambda product_ids: calls.append(product_ids)
    )
    stock("A", "EAST", 1)
    backordered(shop)  # waits for A
    products = shop["products"]

    def adjust(*skus):
        with django_capture_on_commit_callbacks(execute=True):
            stock_adjust_batch(
                adjustments=[
                    Adjustment(sku=sku, warehouse="WEST", reason="receipt", delta=1)
                    for sku in skus
                ],
                actor="test",
                atomic=True,
            )

    adjust("B", "C")
    assert calls == []  # nobody waits for B or C: no task at all
    adjust("A", "B", "C")
    assert calls == [[products["A"].pk]]
