"""Periodic order jobs: expiring checkouts, forgetting old idempotency records, subscriptions."""

import logging

from celery import shared_task

from oms_project.idempotency import idempotency_cleanup
from orders.services.checkouts import checkouts_expire

logger = logging.getLogger(__name__)


@shared_task(time_limit=300, soft_time_limit=280)
def checkouts_expire_task() -> int:
    return checkouts_expire()


@shared_task(time_limit=600, soft_time_limit=580)
def idempotency_cleanup_task() -> int:
    return idempotency_cleanup()


@shared_task(time_limit=300, soft_time_limit=280)
def subscriptions_tick_task() -> dict:
    """Record due subscription runs and place their orders (safe to run concurrently)."""
    from orders.subscriptions.scheduler import subscriptions_tick

    return subscriptions_tick()


@shared_task(time_limit=300, soft_time_limit=280)
def subscription_reminders_send_task() -> int:
    """E-mail reminders of upcoming subscription runs, once per run."""
    from orders.subscriptions.reminders import subscription_reminders_send

    return subscription_reminders_send()


@shared_task(time_limit=600, soft_time_limit=580)
def pickup_reminders_send_task() -> int:
    """Remind customers once of pickups waiting on the shelf (a daily job)."""
    from orders.services.fulfillment.pickup_reminders import pickup_reminders_send

    return pickup_reminders_send()


@shared_task(time_limit=900, soft_time_limit=870)
def replenishment_run_task() -> dict:
    """Draft purchase orders for projected shortages, then re-date waiting backorders."""
    from orders.replenishment import replenishment_run

    return replenishment_run(actor="system:replenishment")


@shared_task(time_limit=600, soft_time_limit=580)
def backorder_dates_refresh_task(product_ids: list[int] | None = None) -> dict:
    """Tie waiting lines to the purchase orders that fill them; notify new dates once each.

    With `product_ids` only those products' waiting lines are looked at (an order that just
    went on backorder); without, every waiting line (the periodic run).
    """
    from orders.services.backorder_dates import backorder_dates_refresh

    return backorder_dates_refresh(product_ids=product_ids, actor="system:backorder-dates")


@shared_task(time_limit=600, soft_time_limit=580)
def backorders_fill_task(product_ids: list[int]) -> dict:
    """Free stock rose (a receipt, count, transfer or release): fill waiting orders with it."""
    from orders.replenishment import backorders_fill

    return backorders_fill(product_ids=product_ids, actor="system", source="Stock now free")


def free_stock_to_backorders(product_ids: list[int]) -> None:
    """Listener of `inventory.arrivals`: hand the products orders wait for to
    `backorders_fill_task` (no task when none of them is on backorder)."""
    from orders.services.backorders import backorders_waiting_products

    product_ids = backorders_waiting_products(product_ids) if product_ids else []
    if not product_ids:
        return
    try:
        backorders_fill_task.delay(product_ids)
    except Exception:  # the broker is down: the nightly replenishment run re-dates them
        logger.warning("Backorder fill for %s products not enqueued", len(product_ids))
