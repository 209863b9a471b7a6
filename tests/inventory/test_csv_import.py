"""Stock CSV import: file checks, per-row errors, policies, ledger rows, both write paths."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from inventory.imports import ImportFileInvalid, import_job_create, import_job_run
from inventory.models import ImportJob, StockLevel, StockMovement
from inventory.services import Hold, stock_allocate
from tests.factories import ProductFactory, WarehouseFactory

WRITE_PATHS = ["orm", pytest.param("copy", marks=pytest.mark.postgres)]


def upload(content, name="stock.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run_import(content, *, write_path="orm", mode="all_or_nothing", dry_run=False) -> ImportJob:
    job = import_job_create(
        file=upload(content), mode=mode, is_dry_run=dry_run, actor="user:ops", run=False
    )
    return import_job_run(job_id=job.pk, write_path=write_path)


def state() -> dict:
    return {
        (level.product.sku, level.warehouse.code): (
            level.on_hand, level.allocated, level.safety_stock, level.reorder_point,
            level.reorder_quantity,
        )
        for level in StockLevel.objects.select_related("product", "warehouse")
    }


def error_list(job: ImportJob) -> list[tuple]:
    return [(error["row"], error["code"], error["message"]) for error in job.errors]


def assert_ledger_matches() -> None:
    for level in StockLevel.objects.all():
        total = level.movements.aggregate(total=Sum("delta_on_hand"))["total"] or 0
        assert total == level.on_hand, f"ledger of level {level.pk} sums to {total}"


@pytest.fixture
def shop(stock):
    """A@MAIN 10 on hand (4 allocated), B@MAIN and D@MAIN 5, product C without stock, EAST."""
    level_a = stock("SKU-A", "MAIN", 10)
    stock_allocate(holds=[Hold(level_a.product_id, level_a.warehouse_id, 4, "order_line:1")])
    stock("SKU-B", "MAIN", 5, reorder_point=2)
    stock("SKU-D", "MAIN", 5)
    ProductFactory(sku="SKU-C")
    WarehouseFactory(code="EAST")


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_absolute_delta_and_new_rows_are_written_with_ledger_rows(shop, write_path):
    content = (
        "sku,warehouse,on_hand,delta,safety_stock\n"
        "SKU-A,MAIN,7,,1\n"
        "SKU-B,MAIN,,-2,\n"
        "SKU-C,EAST,12,,3\n"
    )
    job = run_import(content, write_path=write_path)

    assert (job.status, job.error_rows, job.errors) == (ImportJob.Status.COMPLETED, 0, [])
    assert (job.total_rows, job.inserted, job.updated, job.unchanged) == (3, 1, 2, 0)
    assert state() == {
        ("SKU-A", "MAIN"): (7, 4, 1, 0, 0),
        ("SKU-B", "MAIN"): (3, 0, 0, 2, 0),
        ("SKU-C", "EAST"): (12, 0, 3, 0, 0),
        ("SKU-D", "MAIN"): (5, 0, 0, 0, 0),
    }
    movements = StockMovement.objects.filter(reference=f"import:{job.pk}")
    assert sorted(movements.values_list("stock_level__product__sku", "delta_on_hand")) == [
        ("SKU-A", -3), ("SKU-B", -2), ("SKU-C", 12)
    ]
    assert set(movements.values_list("reason", "actor", "delta_allocated")) == {
        ("import", "user:ops", 0)
    }
    assert_ledger_matches()


BAD_FILE = (
    "sku,warehouse,on_hand,delta,reorder_point\n"
    "SKU-A,MAIN,5,,\n"                 # 2: fine (5 >= 4 allocated)
    "SKU-X,MAIN,1,,\n"                 # 3: unknown SKU
    "SKU-B,NOWHERE,1,,\n"              # 4: unknown warehouse
    "SKU-B,MAIN,-1,,\n"                # 5: negative
    "SKU-B,MAIN,2.5,,\n"               # 6: fractional
    "SKU-B,MAIN,ten,,\n"               # 7: not a number
    "SKU-B,MAIN,1000000001,,\n"        # 8: huge
    "SKU-A,MAIN,6,,\n"                 # 9: duplicate of row 2
    "SKU-B,MAIN,,,\n"                  # 10: neither quantity
    "SKU-B,MAIN,1,1,\n"                # 11: both quantities
    ",MAIN,1,,\n"                      # 12: SKU missing
    "SKU-C,MAIN,,-1,\n"                # 13: delta below zero on a new level
    "SKU-D,MAIN,,-6,\n"                # 14: delta below zero on an existing level
    "SKU-B,MAIN,1,,-3\n"               # 15: negative setting
    "SKU-B,MAIN,1,,,extra\n"           # 16: too many fields
)
BAD_FILE_ERRORS = [
    (3, "unknown_sku", "Unknown SKU 'SKU-X'."),
    (4, "unknown_warehouse", "Unknown warehouse 'NOWHERE'."),
    (5, "negative_quantity", "on_hand -1 is negative."),
    (6, "not_integer", "on_hand '2.5' is not a whole number."),
    (7, "not_integer", "on_hand 'ten' is not a whole number."),
    (8, "quantity_too_large", "on_hand 1000000001 exceeds 1,000,000,000."),
    (9, "duplicate_row", "SKU-A at MAIN already appears in row 2."),
    (10, "missing_quantity", "Give on_hand or delta."),
    (11, "quantity_conflict", "Give on_hand or delta, not both."),
    (12, "missing_value", "sku is empty."),
    (13, "negative_result", "on_hand would become -1, below zero."),
    (14, "negative_result", "on_hand would become -1, below zero."),
    (15, "negative_quantity", "reorder_point -3 is negative."),
    (16, "too_many_fields", "The row has 6 fields, more than the header."),
]


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_every_bad_row_is_reported_and_nothing_is_written_by_default(shop, write_path):
    before, movements_before = state(), StockMovement.objects.count()

    job = run_import(BAD_FILE, write_path=write_path)

    assert job.status == ImportJob.Status.FAILED
    assert error_list(job) == BAD_FILE_ERRORS
    assert (job.total_rows, job.error_rows) == (15, 14)
    assert job.message.startswith("Nothing was written because 14 row(s) are bad")
    assert state() == before
    assert StockMovement.objects.count() == movements_before


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_apply_valid_writes_the_good_rows_and_reports_the_rest(shop, write_path):
    job = run_import(BAD_FILE, write_path=write_path, mode="apply_valid")

    assert job.status == ImportJob.Status.COMPLETED
    assert error_list(job) == BAD_FILE_ERRORS
    assert (job.inserted, job.updated, job.unchanged) == (0, 1, 0)
    assert state()[("SKU-A", "MAIN")] == (5, 4, 0, 0, 0)
    assert state()[("SKU-B", "MAIN")] == (5, 0, 0, 2, 0)
    assert_ledger_matches()


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_on_hand_below_allocated_is_refused(shop, write_path):
    job = run_import("sku,warehouse,on_hand\nSKU-A,MAIN,3\n", write_path=write_path)

    assert error_list(job) == [
        (2, "below_allocated", "on_hand would be 3, below the 4 allocated units.")
    ]
    assert state()[("SKU-A", "MAIN")] == (10, 4, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_dry_run_reports_counts_and_errors_without_writing(shop, write_path):
    before, movements_before = state(), StockMovement.objects.count()

    job = run_import(
        "sku,warehouse,on_hand\nSKU-A,MAIN,8\nSKU-C,EAST,2\nSKU-X,MAIN,1\n",
        write_path=write_path, dry_run=True,
    )

    assert job.status == ImportJob.Status.COMPLETED
    assert (job.inserted, job.updated, job.error_rows) == (1, 1, 1)
    assert error_list(job) == [(4, "unknown_sku", "Unknown SKU 'SKU-X'.")]
    assert job.message.startswith("Dry run:")
    assert state() == before
    assert StockMovement.objects.count() == movements_before


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_bom_semicolons_and_header_case_are_accepted(shop, write_path):
    content = "\ufeff SKU ; Warehouse ;On Hand;Reorder-Point\r\nSKU-B;MAIN;9;4\r\n\r\n"
    job = run_import(content.encode("utf-8"), write_path=write_path)

    assert (job.status, job.updated, job.errors) == (ImportJob.Status.COMPLETED, 1, [])
    assert state()[("SKU-B", "MAIN")] == (9, 0, 0, 4, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_unchanged_rows_write_no_ledger_rows(shop, write_path):
    movements_before = StockMovement.objects.count()

    job = run_import("sku,warehouse,on_hand,reorder_point\nSKU-B,MAIN,5,2\n", write_path=write_path)

    assert (job.updated, job.unchanged) == (0, 1)
    assert StockMovement.objects.count() == movements_before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "code", "detail"),
    [
        (b"", "empty_file", "The file is empty."),
        (b"\xef\xbb\xbf \r\n", "empty_file", "The file is empty."),
        (b"sku,warehouse,on_hand\n", "no_data_rows", "The file has a header but no data rows."),
        (b"PK\x03\x04\x14\x00binary", "not_csv",
         "This is a spreadsheet, not a CSV file; save it as 'CSV UTF-8' and upload that."),
        (b"sku,warehouse\x00,on_hand\n", "not_csv", "This is not a CSV text file."),
        ("sku,warehouse,on_hand\nCAFÉ,MAIN,1\n".encode("latin-1"), "invalid_encoding",
         "The file is not valid UTF-8 text (near row 1); save it as 'CSV UTF-8' and upload "
         "it again."),
        (b"sku,on_hand\nSKU-A,1\n", "missing_columns",
         "Missing column(s): warehouse; expected sku, warehouse and on_hand or delta "
         "(optional: safety_stock, reorder_point, reorder_quantity)."),
        (b"sku,warehouse\nSKU-A,MAIN\n", "missing_columns",
         "Missing column(s): on_hand or delta; expected sku, warehouse and on_hand or delta "
         "(optional: safety_stock, reorder_point, reorder_quantity)."),
        (b"sku,warehouse,on_hand,colour\nSKU-A,MAIN,1,red\n", "unknown_columns",
         "Unknown column(s): colour; expected sku, warehouse and on_hand or delta "
         "(optional: safety_stock, reorder_point, reorder_quantity)."),
        (b"sku,warehouse,on_hand,on hand\nSKU-A,MAIN,1,1\n", "invalid_header",
         "The header repeats the column(s): on_hand."),
    ],
)
def test_unusable_files_are_refused_before_anything_is_stored(shop, content, code, detail):
    before = state()

    with pytest.raises(ImportFileInvalid) as caught:
        import_job_create(file=upload(content), actor="user:ops")

    assert (caught.value.code, caught.value.detail) == (code, detail)
    assert ImportJob.objects.count() == 0
    assert state() == before


@pytest.mark.django_db
def test_too_large_file_is_refused(shop, settings):
    settings.OMS_CSV_IMPORT_MAX_BYTES = 40

    with pytest.raises(ImportFileInvalid) as caught:
        import_job_create(file=upload("sku,warehouse,on_hand\n" + "SKU-A,MAIN,1\n" * 3),
                          actor="user:ops")

    assert (caught.value.code, caught.value.status) == ("file_too_large", 413)
    assert caught.value.detail == (
        "The file is 61 bytes; the limit is 40 bytes. Split it into smaller files."
    )
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_unknown_mode_is_refused(shop):
    with pytest.raises(ImportFileInvalid) as caught:
        import_job_create(file=upload("sku,warehouse,on_hand\nSKU-A,MAIN,5\n"), mode="some",
                          actor="user:ops")

    assert caught.value.code == "invalid_mode"
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_big_files_run_in_celery_after_commit_with_progress(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    from inventory.imports import jobs
    from inventory.tasks import stock_import_run_task

    monkeypatch.setattr(jobs, "BACKGROUND_ROWS", 2)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_ROWS", 1)
    delayed = []
    monkeypatch.setattr(stock_import_run_task, "delay", lambda job_id: delayed.append(job_id))
    content = "sku,warehouse,on_hand\nSKU-A,MAIN,6\nSKU-B,MAIN,7\nSKU-C,MAIN,8\n"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_job_create(file=upload(content), actor="user:ops")

    assert (job.status, job.total_rows, len(callbacks), delayed) == ("pending", 3, 1, [job.pk])
    assert stock_import_run_task(job.pk) == ImportJob.Status.COMPLETED
    job.refresh_from_db()
    assert (job.processed_rows, job.progress_percent, job.inserted, job.updated) == (3, 100, 1, 2)
    assert stock_import_run_task(job.pk) == ImportJob.Status.COMPLETED  # redelivery: no-op
    assert state()[("SKU-C", "MAIN")] == (8, 0, 0, 0, 0)
    assert_ledger_matches()


SAME_FILE = (
    "sku;warehouse;on_hand;delta;safety_stock;reorder_point;reorder_quantity\n"
    "SKU-A;MAIN;12;;2;;\n"
    "SKU-B;MAIN;;+4;;1;10\n"
    "SKU-C;EAST;;6;;;\n"
    "SKU-C;MAIN;0;;;;\n"
    "SKU-A;EAST;;-1;;;\n"
    "SKU-A;MAIN;13;;;;\n"
    "SKU-Q;MAIN;1;;;;\n"
)
SAME_FILE_STATE = {
    ("SKU-A", "MAIN"): (12, 4, 2, 0, 0),
    ("SKU-B", "MAIN"): (9, 0, 0, 1, 10),
    ("SKU-C", "EAST"): (6, 0, 0, 0, 0),
    ("SKU-C", "MAIN"): (0, 0, 0, 0, 0),
    ("SKU-D", "MAIN"): (5, 0, 0, 0, 0),
}
SAME_FILE_ERRORS = [
    (6, "negative_result", "on_hand would become -1, below zero."),
    (7, "duplicate_row", "SKU-A at MAIN already appears in row 2."),
    (8, "unknown_sku", "Unknown SKU 'SKU-Q'."),
]


@pytest.mark.django_db
@pytest.mark.parametrize("write_path", WRITE_PATHS)
def test_the_same_file_gives_the_expected_state_on_each_path(shop, write_path):
    job = run_import(SAME_FILE, write_path=write_path, mode="apply_valid")

    assert (job.inserted, job.updated, job.unchanged, job.error_rows) == (2, 2, 0, 3)
    assert error_list(job) == SAME_FILE_ERRORS
    assert state() == SAME_FILE_STATE
    assert_ledger_matches()


@pytest.mark.postgres
@pytest.mark.django_db
def test_orm_and_copy_paths_give_identical_results(shop):
    from django.db import transaction

    outcomes = {}
    for write_path in ("orm", "copy"):
        with transaction.atomic():
            job = run_import(SAME_FILE, write_path=write_path, mode="apply_valid")
            ledger = sorted(
                StockMovement.objects.filter(reference=f"import:{job.pk}").values_list(
                    "stock_level__product__sku", "stock_level__warehouse__code", "delta_on_hand"
                )
            )
            outcomes[write_path] = (
                state(), job.errors, job.inserted, job.updated, job.unchanged, ledger
            )
            transaction.set_rollback(True)

    assert outcomes["orm"] == outcomes["copy"]
    assert outcomes["copy"][0] == SAME_FILE_STATE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_allocation_racing_an_import_cannot_push_on_hand_below_allocated(shop):
    """An allocation holding the row commits first; the import then sees it and refuses."""
    import threading
    import time

    from django.db import connection, transaction

    level = StockLevel.objects.get(product__sku="SKU-B", warehouse__code="MAIN")
    locked, release = threading.Event(), threading.Event()

    def allocate():
        try:
            with transaction.atomic():
                stock_allocate(holds=[Hold(level.product_id, level.warehouse_id, 4, "order:9")])
                locked.set()
                release.wait(5)
        finally:
            connection.close()

    allocation = threading.Thread(target=allocate)
    allocation.start()
    assert locked.wait(5), "the allocation did not start"
    timer = threading.Timer(0.3, release.set)
    timer.start()
    started = time.monotonic()
    job = run_import("sku,warehouse,on_hand\nSKU-B,MAIN,2\n", write_path="copy")
    allocation.join(5)

    assert time.monotonic() - started >= 0.25, "the import did not wait for the row lock"
    assert error_list(job) == [
        (2, "below_allocated", "on_hand would be 2, below the 4 allocated units.")
    ]
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (5, 4)
