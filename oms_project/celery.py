"""The Celery application; settings come from Django's `CELERY_*` settings."""

import os
import threading
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

from oms_project.broker import use_for_redis_urls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
use_for_redis_urls()

app = Celery("oms_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def garbage_collector_tuned(**kwargs) -> None:
    """Each pool process, once forked, tunes its collector as web workers do."""
    from oms_project.runtime import gc_tune

    gc_tune()


# A worker running task after task looks at its database connection (broken, or older than
# DATABASE_CONN_MAX_AGE?) at most this often; after a pause as long, after a task that did not
# succeed, and with DATABASE_CONN_MAX_AGE=0, it looks around every task, as Django does around
# every request.
CONNECTION_CHECK_SECONDS = 1.0
_worker = threading.local()


@task_prerun.connect
def database_connections_before_task(sender=None, **kwargs) -> None:
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    now = time.monotonic()
    checked = getattr(_worker, "checked_at", None)
    ended = getattr(_worker, "ended_at", None)
    if (
        checked is None
        or now - checked >= CONNECTION_CHECK_SECONDS
        or ended is None
        or now - ended >= CONNECTION_CHECK_SECONDS
    ):
        _connections_check(now)


@task_postrun.connect
def database_connections_after_task(sender=None, state=None, **kwargs) -> None:
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.conf import settings

    _worker.ended_at = time.monotonic()
    if state != "SUCCESS" or settings.DATABASES["default"].get("CONN_MAX_AGE", 0) == 0:
        _connections_check(_worker.ended_at)


def _connections_check(now: float) -> None:
    """Close a connection that broke or is too old; the next query health-checks the rest."""
    from django.db import close_old_connections

    close_old_connections()
    _worker.checked_at = now
