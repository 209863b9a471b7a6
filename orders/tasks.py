"""Periodic order jobs: expiring checkouts and forgetting old idempotency records."""

from celery import shared_task

from oms_project.idempotency import idempotency_cleanup
from orders.services.checkouts import checkouts_expire


@shared_task(time_limit=300, soft_time_limit=280)
def checkouts_expire_task() -> int:
    return checkouts_expire()


@shared_task(time_limit=600, soft_time_limit=580)
def idempotency_cleanup_task() -> int:
    return idempotency_cleanup()


@shared_task(time_limit=900, soft_time_limit=870)
def replenishment_run_task() -> dict:
    """Draft purchase orders for projected shortages, then re-date waiting backorders."""
    from orders.replenishment import replenishment_run

    return replenishment_run(actor="system:replenishment")


@shared_task(time_limit=600, soft_time_limit=580)
def backorder_dates_refresh_task() -> dict:
    """Tie waiting lines to the purchase orders that fill them; notify new dates once each."""
    from orders.services.backorder_dates import backorder_dates_refresh

    return backorder_dates_refresh(actor="system:backorder-dates")
