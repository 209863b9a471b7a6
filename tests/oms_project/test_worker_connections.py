"""A busy worker keeps its database connection from task to task and looks at it (broken? too
old?) at most once a second; after a pause, a task that did not succeed, or with
DATABASE_CONN_MAX_AGE=0, around every task."""

from types import SimpleNamespace

import pytest
from django.conf import settings

from oms_project import celery

TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))
EAGER = SimpleNamespace(request=SimpleNamespace(is_eager=True))


@pytest.fixture
def checks(monkeypatch):
    calls = []
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append(clock.now))
    monkeypatch.setattr(celery.time, "monotonic", lambda: clock.now)
    monkeypatch.setattr(celery, "_worker", celery.threading.local())
    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 60)
    return calls, clock


def run(clock, state="SUCCESS", seconds=0.01, sender=TASK):
    celery.database_connections_before_task(sender=sender)
    clock.now += seconds
    celery.database_connections_after_task(sender=sender, state=state)


def test_a_busy_worker_looks_at_its_connection_once_a_second(checks):
    calls, clock = checks
    for _ in range(50):
        run(clock)
    assert len(calls) == 1  # the first task
    clock.now += 0.6
    for _ in range(50):
        run(clock)
    assert len(calls) == 2  # a second has passed since the first look


def test_a_pause_or_a_failure_makes_it_look_again(checks):
    calls, clock = checks
    run(clock)
    run(clock)
    assert len(calls) == 1
    clock.now += 5
    run(clock)
    assert len(calls) == 2
    run(clock, state="FAILURE")
    assert len(calls) == 3
    run(clock, state="RETRY")
    assert len(calls) == 4


def test_without_persistent_connections_it_looks_after_every_task(checks, monkeypatch):
    calls, clock = checks
    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    for _ in range(3):
        run(clock)
    assert len(calls) == 4  # the first task's start, then every end


def test_eager_tasks_leave_the_callers_connection_alone(checks):
    calls, clock = checks
    run(clock, sender=EAGER)
    run(clock, state="FAILURE", sender=EAGER)
    assert calls == []
