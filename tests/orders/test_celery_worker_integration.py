"""A real `celery -A oms_project worker` on the local Redis runs what a committed order
enqueues, and picks up the sweep's work after a broker outage.

The worker is a separate process, so it must see the test database: the test commits for real
(`transaction=True`) and the worker gets the live database settings through `DATABASE_URL`.
Needs Redis (CELERY_TEST_BROKER_URL, default redis://127.0.0.1:6379/15) and a database another
process can open (PostgreSQL, or a SQLite file); in CI (`CI=true`) a missing Redis is an error.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection, transaction

from oms_project.models import EmailMessage, OutboxEvent
from oms_project.tasks import outbox_sweep_task
from orders.services import order_create
from tests.oms_project.celery_broker import celery_broker
from tests.orders.conftest import order_data

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def _require_redis() -> None:
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        message = f"Redis at {BROKER} is not reachable ({error}); the worker test needs it."
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


def _database_url() -> str:
    """The live (test) database as a URL the worker's settings understand."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(settings["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.skip(
                "The SQLite test database is in memory, so a worker process cannot open it; "
                "this test runs on the PostgreSQL pass (or with a file TEST_DATABASE_NAME)."
            )
        return f"sqlite:///{name}"
    credentials = quote(settings["USER"] or "", safe="")
    if settings.get("PASSWORD"):
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def worker():
    """Start a worker consuming a queue of its own; stop it after the test."""
    _require_redis()
    queue = f"oms-test-{uuid.uuid4().hex[:12]}"
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DATABASE_CONN_MAX_AGE": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "oms_project", "worker", "-Q", queue,
            "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with celery_broker(BROKER, queue=queue):
            yield process
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])


def _wait_for(condition, process, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"The worker exited ({process.returncode}) before {what}.")
        time.sleep(0.2)
    pytest.fail(f"The worker did not finish within {WAIT_SECONDS}s: {what}.")


def test_task_enqueued_after_commit_runs_in_a_real_worker(shop, stock, worker):
    stock("A", "EAST", 5)
    with transaction.atomic():
        order = order_create(channel=shop["channel"], data=order_data(), actor="test")
        # Not enqueued yet: a worker must never see rows of an uncommitted transaction.
        assert OutboxEvent.objects.filter(dispatched_at__isnull=False).count() == 0
    events = OutboxEvent.objects.filter(reference=order.number)
    _wait_for(
        lambda: events.count() == 2 and not events.filter(dispatched_at__isnull=True).exists(),
        worker,
        "the order's outbox events were dispatched",
    )
    _wait_for(
        lambda: EmailMessage.objects.filter(status="sent").count() == 1,
        worker,
        "the order confirmation was sent",
    )
    assert sorted(events.values_list("topic", "attempts")) == [
        ("order.created", 1), ("order.paid", 1)
    ]


def test_events_lost_while_the_broker_was_down_go_out_through_the_sweep(shop, stock, worker):
    stock("A", "EAST", 5)
    with celery_broker("redis://127.0.0.1:1/0"):
        order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    events = OutboxEvent.objects.filter(reference=order.number)
    assert events.filter(dispatched_at__isnull=True).count() == 2
    assert EmailMessage.objects.get().status == "queued"
    # Back on the live broker: once past the grace period the sweep re-enqueues them.
    events.update(created_at=events.first().created_at - timedelta(minutes=5))
    EmailMessage.objects.update(created_at=EmailMessage.objects.get().created_at
                                - timedelta(minutes=5))
    assert outbox_sweep_task() == 3
    _wait_for(
        lambda: not events.filter(dispatched_at__isnull=True).exists()
        and EmailMessage.objects.get().status == "sent",
        worker,
        "the swept events and e-mail were handled",
    )
