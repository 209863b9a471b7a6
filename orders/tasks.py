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
