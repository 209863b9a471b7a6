"""Point the Celery app at another broker for a test, then put everything back."""

import contextlib

from kombu import pools

from oms_project.celery import app


def _reset_pools() -> None:
    # kombu keeps connection and producer pools per broker URL in global registries; clear
    # them so the next task is published with the broker now configured.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_broker(url: str, *, queue: str | None = None):
    """Send tasks to `url` (not eagerly) inside the block; `queue` names the default queue."""
    saved = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    _reset_pools()
    app.conf.update(broker_url=url, task_always_eager=False)
    if queue:
        app.conf.task_default_queue = queue
    try:
        yield app
    finally:
        _reset_pools()
        app.conf.update(saved)
