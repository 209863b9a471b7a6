"""The PostgreSQL (COPY) write path of a stock import when a stock level appears mid-import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inventory.imports import import_job_create, import_job_run
from inventory.models import StockLevel, StockMovement
from tests.factories import ProductFactory, WarehouseFactory


def level_created_by_someone_else(product, warehouse):
    """Create the level just before the import writes, as a concurrent receipt would."""

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().startswith("WITH inserted AS"):
            context["cursor"].execute(
                "INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, allocated,"
                " safety_stock, reorder_point, reorder_quantity, updated_at)"
                " VALUES (%s, %s, 3, 0, 0, 0, 0, now())",
                [product.pk, warehouse.pk],
            )
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_level_created_during_the_import_is_reported_not_overwritten():
    product, other = ProductFactory(sku="SKU-N"), ProductFactory(sku="SKU-M")
    warehouse = WarehouseFactory(code="MAIN")
    content = b"sku,warehouse,on_hand\nSKU-N,MAIN,7\nSKU-M,MAIN,4\n"
    job = import_job_create(
        file=SimpleUploadedFile("stock.csv", content),
        mode="apply_valid",
        actor="user:ops",
        run=False,
    )

    with level_created_by_someone_else(product, warehouse):
        job = import_job_run(job_id=job.pk, write_path="copy")

    assert [(error["row"], error["code"]) for error in job.errors] == [(2, "concurrent_change")]
    assert (job.inserted, job.updated, job.unchanged, job.error_rows) == (1, 0, 0, 1)
    assert StockLevel.objects.get(product=product).on_hand == 3
    assert StockLevel.objects.get(product=other).on_hand == 4
    assert list(
        StockMovement.objects.filter(reference=f"import:{job.pk}").values_list(
            "stock_level__product__sku", "delta_on_hand"
        )
    ) == [("SKU-M", 4)]
