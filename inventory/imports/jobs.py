"""Stock import jobs: create from an upload, run (at once or in Celery), report.

`import_job_create` refuses a file that cannot be imported before anything is stored;
`import_job_run` validates and writes it through the PostgreSQL set-based path or the bulk-ORM
path and records counts, progress and per-row errors on the `ImportJob`.
"""

import logging
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from inventory.arrivals import free_stock_rose
from inventory.imports.errors import ImportFileInvalid
from inventory.imports.orm_writer import stock_import_with_orm
from inventory.imports.outcome import ErrorSink, ImportCounts
from inventory.imports.postgres_writer import stock_import_with_copy
from inventory.imports.reader import CsvLayout, inspect_file, iter_row_chunks
from inventory.models import ImportJob, StockMovement

logger = logging.getLogger(__name__)

# Files with more data rows than this run in Celery; smaller ones run during the request.
BACKGROUND_ROWS = 5000
# The job's progress is written at most this often (in rows).
PROGRESS_EVERY_ROWS = 5000
WRITE_PATHS = ("copy", "orm")


def max_import_bytes() -> int:
    return settings.OMS_CSV_IMPORT_MAX_BYTES


def default_write_path() -> str:
    """The set-based path on PostgreSQL, the bulk-ORM path elsewhere."""
    return "copy" if connection.vendor == "postgresql" else "orm"


def import_job_create(
    *,
    file: File,
    mode: str = ImportJob.Mode.ALL_OR_NOTHING,
    is_dry_run: bool = False,
    actor: str,
    run: bool = True,
) -> ImportJob:
    """Check an uploaded stock CSV, store it as a job and start it.

    Small files run before this returns; files over `BACKGROUND_ROWS` data rows are queued in
    Celery after commit. With `run=False` the job is only stored. Raises `ImportFileInvalid`
    (the file is too large, empty, not CSV, not UTF-8, or its header lacks required columns);
    then nothing is stored.
    """
    if mode not in ImportJob.Mode.values:
        raise ImportFileInvalid(
            f"Unknown mode '{mode}'; use one of: {', '.join(ImportJob.Mode.values)}.",
            code="invalid_mode",
        )
    layout = inspect_file(_binary(file), size=file.size, max_bytes=max_import_bytes())
    name = (getattr(file, "name", "") or "stock.csv").rsplit("/", 1)[-1][:200]
    job = ImportJob(
        filename=name,
        mode=mode,
        is_dry_run=is_dry_run,
        created_by=actor[:150],
        total_rows=layout.data_rows,
    )
    file.seek(0)
    job.file.save(name, file, save=False)
    job.save()
    if run:
        import_job_start(job=job)
    return job


def import_job_rerun(*, job: ImportJob, mode: str, actor: str) -> ImportJob:
    """Apply the file of a previewed (dry-run) job for real, as a new job in `mode`."""
    if mode not in ImportJob.Mode.values:
        raise ImportFileInvalid(f"Unknown mode '{mode}'.", code="invalid_mode")
    new_job = ImportJob.objects.create(
        file=job.file.name,
        filename=job.filename,
        mode=mode,
        is_dry_run=False,
        created_by=actor[:150],
        total_rows=job.total_rows,
    )
    import_job_start(job=new_job)
    return new_job


def import_job_start(*, job: ImportJob) -> None:
    """Run a pending job now when it is small, or queue it in Celery after commit."""
    if job.total_rows > BACKGROUND_ROWS:
        from inventory.tasks import stock_import_run_task

        transaction.on_commit(lambda: stock_import_run_task.delay(job.pk))
        return
    import_job_run(job_id=job.pk)
    job.refresh_from_db()


def import_job_run(*, job_id: int, write_path: str | None = None) -> ImportJob:
    """Validate and apply a pending import job, recording its outcome.

    Does nothing for a job that is no longer pending (a redelivered task). A dry run and an
    all-or-nothing run with bad rows write nothing (status `failed` for the latter); otherwise
    the valid rows are written with their ledger rows, and once they are committed the orders
    waiting for stock hear, in one notice for the whole file, of the products whose free stock
    rose. Never raises for bad input: file errors found while reading end the job as `failed`
    with a message.
    """
    write_path = write_path or default_write_path()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), processed_rows=0
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    errors = ErrorSink()
    counts = ImportCounts()
    try:
        with job.file.open("rb") as stored:
            counts = _run(job, stored, errors, write_path)
        _finish(job, counts, errors)
    except ImportFileInvalid as error:
        _fail(job, error.detail, errors)
    except Exception:
        logger.exception("Stock import %s crashed", job_id)
        _fail(job, "The import stopped on an unexpected error; nothing was written.", errors)
        raise
    finally:
        errors.close()
    if _is_written(job):
        # After the job's outcome is saved: a listener's failure must not turn it to failed.
        free_stock_rose(product_ids=counts.freed_product_ids)
    return job


def _is_written(job: ImportJob) -> bool:
    """Whether the job kept the rows it wrote (the same rule as `_run`'s `keep`)."""
    return job.status == ImportJob.Status.COMPLETED and not job.is_dry_run


def _run(job: ImportJob, stored, errors: ErrorSink, write_path: str) -> ImportCounts:
    binary = _binary(stored)
    layout: CsvLayout = inspect_file(binary, size=job.file.size, max_bytes=max_import_bytes())
    last_reported = [0]

    def on_progress(processed: int) -> None:
        if processed - last_reported[0] >= PROGRESS_EVERY_ROWS or processed >= layout.data_rows:
            last_reported[0] = processed
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=processed)

    def keep(counts: ImportCounts) -> bool:
        if job.is_dry_run:
            return False
        return not (counts.error_rows and job.mode == ImportJob.Mode.ALL_OR_NOTHING)

    writer = stock_import_with_copy if write_path == "copy" else stock_import_with_orm
    options = {"staging_name": f"stock_import_{job.pk}"} if write_path == "copy" else {}
    return writer(
        chunks=iter_row_chunks(binary, layout),
        reference=f"import:{job.pk}",
        actor=job.created_by or "system",
        errors=errors,
        on_progress=on_progress,
        keep=keep,
        **options,
    )


def _finish(job: ImportJob, counts: ImportCounts, errors: ErrorSink) -> None:
    is_rejected = bool(counts.error_rows) and job.mode == ImportJob.Mode.ALL_OR_NOTHING
    job.status = (
        ImportJob.Status.FAILED
        if is_rejected and not job.is_dry_run
        else ImportJob.Status.COMPLETED
    )
    job.total_rows = job.processed_rows = counts.total_rows
    job.error_rows = counts.error_rows
    job.inserted, job.updated, job.unchanged = counts.inserted, counts.updated, counts.unchanged
    job.message = _summary(job, counts, is_rejected)
    _store_errors(job, errors)
    job.finished_at = timezone.now()
    job.save()


def _summary(job: ImportJob, counts: ImportCounts, is_rejected: bool) -> str:
    figures = (
        f"{counts.inserted} new, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{counts.error_rows} bad row(s) of {counts.total_rows}"
    )
    if job.is_dry_run:
        verdict = (
            "Nothing would be written: fix the bad rows or apply the valid rows only."
            if is_rejected
            else "Nothing was written (dry run)."
        )
        return f"Dry run: {figures}. {verdict}"
    if is_rejected:
        return f"Nothing was written because {counts.error_rows} row(s) are bad ({figures})."
    return f"Imported: {figures}."


def _fail(job: ImportJob, message: str, errors: ErrorSink) -> None:
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.inserted = job.updated = job.unchanged = 0
    job.error_rows = errors.count
    _store_errors(job, errors)
    job.finished_at = timezone.now()
    job.save()


def error_file_name(job: ImportJob) -> str:
    return f"imports/errors/import-{job.pk}-errors.csv"


def _store_errors(job: ImportJob, errors: ErrorSink) -> None:
    job.errors = errors.inline
    name = error_file_name(job)
    if default_storage.exists(name):
        default_storage.delete(name)
    if errors.count:
        errors.file.flush()
        errors.file.seek(0)
        default_storage.save(name, File(errors.file))


def import_job_error_lines(*, job: ImportJob):
    """Yield the job's error CSV as text lines (header first), formula-safe."""
    name = error_file_name(job)
    if not default_storage.exists(name):
        from inventory.imports.outcome import ERROR_CSV_HEADER

        yield ",".join(ERROR_CSV_HEADER) + "\r\n"
        return
    with default_storage.open(name, "rb") as stored:
        for line in stored:
            yield line.decode("utf-8")


def _binary(file) -> BinaryIO:
    """The raw binary stream under a Django `File` (TextIOWrapper needs a real stream)."""
    inner = getattr(file, "file", file)
    return getattr(inner, "file", inner) if not hasattr(inner, "readable") else inner


# Longer than the import task's hard time limit: a job still running after this has lost its
# worker (the limit kills it), and the redelivered task leaves non-pending jobs alone.
STALE_AFTER = timedelta(hours=2)


def import_jobs_close_stale(*, now=None) -> int:
    """Close import jobs whose worker died mid-run; return how many were closed.

    A job whose rows reached the ledger (movements referencing `import:<id>`) committed its
    write and is marked completed; any other is marked failed with nothing written, so the
    user can upload the file again.
    """
    now = now or timezone.now()
    closed = 0
    stale = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER
    ).values_list("pk", flat=True)
    for job_id in list(stale):
        written = StockMovement.objects.filter(reference=f"import:{job_id}").exists()
        status, message = (
            (
                ImportJob.Status.COMPLETED,
                "The worker stopped before reporting, after its rows were written; see the "
                "stock movements referencing this import.",
            )
            if written
            else (
                ImportJob.Status.FAILED,
                "The worker running this import stopped; nothing was written. Upload the file "
                "again.",
            )
        )
        closed += ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING).update(
            status=status, message=message, finished_at=now
        )
    return closed
