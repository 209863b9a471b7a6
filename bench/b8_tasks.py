"""The peer of B8: a Celery task that does nothing but count itself (one Redis INCR)."""

import os

import redis
from celery import shared_task

_client: redis.Redis | None = None


@shared_task(ignore_result=True, time_limit=30, soft_time_limit=25)
def bench_noop_task(counter_key: str) -> None:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    _client.incr(counter_key)
