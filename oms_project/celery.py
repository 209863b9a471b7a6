"""The Celery application; settings come from Django's `CELERY_*` settings."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

app = Celery("oms_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_refresh(sender=None, **kwargs) -> None:
    """Around each task in a worker, what Django does around a request: a connection that
    broke, or outlived DATABASE_CONN_MAX_AGE, is closed (the next query opens a new one).
    Eager tasks run inside the caller's request and leave its connection alone."""
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
