"""Celery tasks for returns: filling backorders with restocked units."""

from celery import shared_task

from orders.services.backorders import backorders_allocate


@shared_task(time_limit=300, soft_time_limit=280)
def return_backorders_allocate_task(product_ids: list[int], actor: str) -> dict:
    """Let orders waiting for these products take the units a return put back on sale.

    Safe to run twice: orders already filled are no longer waiting.
    """
    return backorders_allocate(product_ids=product_ids, actor=actor)
