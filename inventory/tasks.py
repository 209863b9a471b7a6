"""Celery tasks for inventory: the nightly ledger check and expiring timed reservations."""

from celery import shared_task

from inventory.reconciliation import stock_mismatches
from inventory.services import reservations_release_expired
from oms_project.notifications import email_queue_staff_alert

ALERT_LINES = 200


@shared_task(time_limit=1800, soft_time_limit=1700)
def inventory_reconcile_task() -> int:
    """Check every stock level against its ledger; alert staff if any disagree.

    Only checks: repairs are a human decision (`manage.py inventory_reconcile --fix`).
    Returns the number of mismatched stock levels.
    """
    mismatches = stock_mismatches()
    if mismatches:
        lines = [
            f"{mismatch.sku} @ {mismatch.warehouse}: {what} expected {expected}, actual {actual}"
            for mismatch in mismatches[:ALERT_LINES]
            for what, expected, actual in mismatch.problems()
        ]
        if len(mismatches) > ALERT_LINES:
            lines.append(f"... and {len(mismatches) - ALERT_LINES} more stock levels.")
        lines.append("")
        lines.append("Run `manage.py inventory_reconcile` to list them and `--fix` to repair.")
        email_queue_staff_alert(
            subject=f"Stock ledger mismatch on {len(mismatches)} stock level(s)",
            body="\n".join(lines),
            reference="inventory_reconcile",
        )
    return len(mismatches)


@shared_task(time_limit=300, soft_time_limit=280)
def reservations_release_expired_task() -> int:
    """Release timed reservations (checkouts) whose expiry has passed; return the units."""
    return reservations_release_expired()


@shared_task(time_limit=3600, soft_time_limit=3500, acks_late=True)
def stock_import_run_task(job_id: int) -> str:
    """Run a queued stock CSV import job; a job already started or finished is left alone."""
    from inventory.imports import import_job_run

    return import_job_run(job_id=job_id).status


@shared_task(time_limit=300, soft_time_limit=280)
def import_jobs_close_stale_task() -> int:
    """Close stock import jobs whose worker died mid-run (see `import_jobs_close_stale`)."""
    from inventory.imports import import_jobs_close_stale

    return import_jobs_close_stale()
