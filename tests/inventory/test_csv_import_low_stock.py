"""Low-stock alerts from stock imports: a fall below the reorder point is announced and a
recovery re-arms the alert, on both write paths, as `stock_change` does."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.imports import import_job_create, import_job_run
from inventory.models import StockLevel
from inventory.services import stock_change
from oms_project.models import EmailMessage, OutboxEvent
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

WRITE_PATHS = [
    pytest.param("orm", id="orm"),
    pytest.param("copy", id="copy", marks=pytest.mark.postgres),
]


def run_import(content: str, write_path: str, *, is_dry_run: bool = False):
    job = import_job_create(
        file=SimpleUploadedFile("stock.csv", content.encode(), content_type="text/csv"),
        mode="all_or_nothing", is_dry_run=is_dry_run, actor="user:ops", run=False,
    )
    return import_job_run(job_id=job.pk, write_path=write_path)


def low_stock_events():
    return list(
        OutboxEvent.objects.filter(topic="inventory.low_stock").order_by("id").values_list(
            "reference", "payload__on_hand"
        )
    )


@pytest.fixture
def level(stock):
    level = stock("SKU-LOW", "MAIN", 20, reorder_point=5)
    Warehouse.objects.filter(pk=level.warehouse_id).update(contact_emails=["buyer@example.com"])
    return level


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_import_falling_below_the_reorder_point_alerts_once(level, write_path):
    run_import("sku,warehouse,on_hand\nSKU-LOW,MAIN,3\n", write_path)

    level.refresh_from_db()
    assert level.on_hand == 3
    assert level.low_stock_alerted_at is not None
    assert low_stock_events() == [(f"stock_level:{level.pk}", 3)]
    assert list(
        EmailMessage.objects.filter(template="low_stock").values_list("to", flat=True)
    ) == ["buyer@example.com"]

    run_import("sku,warehouse,delta\nSKU-LOW,MAIN,-1\n", write_path)  # still low: no repeat
    assert len(low_stock_events()) == 1


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_import_recovery_rearms_the_low_stock_alert(level, write_path):
    stock_change(level=level, delta=-16)  # 4 left: alerted once
    assert len(low_stock_events()) == 1

    run_import("sku,warehouse,on_hand\nSKU-LOW,MAIN,50\n", write_path)

    level = StockLevel.objects.get(pk=level.pk)
    assert level.on_hand == 50
    assert level.low_stock_alerted_at is None, "the recovered level kept its alert mark"
    stock_change(level=level, delta=-47)  # 3 left: low again
    assert len(low_stock_events()) == 2


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_import_raising_the_reorder_point_over_the_stock_alerts(level, write_path):
    run_import("sku,warehouse,on_hand,reorder_point\nSKU-LOW,MAIN,20,25\n", write_path)

    assert low_stock_events() == [(f"stock_level:{level.pk}", 20)]


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_import_creating_a_low_level_alerts(level, stock, write_path):
    stock("SKU-NEW", "MAIN", 0)
    StockLevel.objects.filter(product__sku="SKU-NEW").delete()

    run_import("sku,warehouse,on_hand,reorder_point\nSKU-NEW,MAIN,2,5\n", write_path)

    new_level = StockLevel.objects.get(product__sku="SKU-NEW")
    assert low_stock_events() == [(f"stock_level:{new_level.pk}", 2)]


@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_dry_run_and_rejected_imports_alert_nobody(level, write_path):
    run_import("sku,warehouse,on_hand\nSKU-LOW,MAIN,3\n", write_path, is_dry_run=True)
    run_import("sku,warehouse,on_hand\nSKU-LOW,MAIN,3\nNOPE,MAIN,1\n", write_path)

    level.refresh_from_db()
    assert (level.on_hand, level.low_stock_alerted_at) == (20, None)
    assert low_stock_events() == []
    assert not EmailMessage.objects.filter(template="low_stock").exists()


def test_orm_import_checks_alerts_with_a_constant_number_of_queries(
    stock, django_assert_max_num_queries
):
    for number in range(30):
        stock(f"SKU-{number:02d}", "MAIN", 20, reorder_point=5)
    rows = "".join(f"SKU-{number:02d},MAIN,3\n" for number in range(30))
    job = import_job_create(
        file=SimpleUploadedFile("stock.csv", f"sku,warehouse,on_hand\n{rows}".encode()),
        mode="all_or_nothing", actor="user:ops", run=False,
    )

    with django_assert_max_num_queries(30):
        import_job_run(job_id=job.pk, write_path="orm")

    assert len(low_stock_events()) == 30
