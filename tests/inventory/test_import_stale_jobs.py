"""Import jobs whose worker died are closed instead of staying `running` forever."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from inventory.imports import import_jobs_close_stale
from inventory.models import ImportJob, MovementReason, StockMovement
from inventory.services import stock_level_ensure
from tests.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def running_job(started_hours_ago: float) -> ImportJob:
    job = ImportJob.objects.create(
        file=ContentFile(b"sku,warehouse,on_hand\n", name="s.csv"),
        filename="s.csv",
        status=ImportJob.Status.RUNNING,
    )
    ImportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(hours=started_hours_ago)
    )
    return job


def test_a_dead_job_with_nothing_written_fails_and_a_live_one_is_left_alone():
    dead, live = running_job(3), running_job(0.5)
    assert import_jobs_close_stale() == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.status == "failed" and "nothing was written" in dead.message
    assert dead.finished_at is not None
    assert live.status == "running"
    assert import_jobs_close_stale() == 0


def test_a_dead_job_whose_rows_reached_the_ledger_is_completed():
    job = running_job(3)
    level = stock_level_ensure(product=ProductFactory(), warehouse=WarehouseFactory())
    StockMovement.objects.create(
        stock_level=level,
        delta_on_hand=0,
        reason=MovementReason.IMPORT,
        reference=f"import:{job.pk}",
    )
    assert import_jobs_close_stale() == 1
    job.refresh_from_db()
    assert job.status == "completed"
