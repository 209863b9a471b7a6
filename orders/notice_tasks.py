"""Periodic customer notices: delay notices and delivery follow-ups (see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from orders.services.customer_notices import delay_notices_send, delivery_follow_ups_send


@shared_task(time_limit=600, soft_time_limit=580)
def delay_notices_send_task() -> int:
    return delay_notices_send()


@shared_task(time_limit=600, soft_time_limit=580)
def delivery_follow_ups_send_task() -> int:
    return delivery_follow_ups_send()
