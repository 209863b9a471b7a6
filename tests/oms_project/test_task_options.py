"""Every OMS task is bounded in time; idempotent ones acknowledge late and are re-queued when
their worker dies."""

from oms_project.celery import app

IDEMPOTENT_TASKS = {
    "oms_project.tasks.outbox_dispatch_task",
    "oms_project.tasks.email_send_task",
    "oms_project.tasks.webhook_deliver_task",
}
OWN_PREFIXES = ("oms_project.", "orders.", "inventory.", "warehouses.", "customers.", "returns.")


def own_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(OWN_PREFIXES)}


def test_every_task_has_time_limits():
    tasks = own_tasks()
    assert set(tasks) >= IDEMPOTENT_TASKS
    assert "orders.notice_tasks.delay_notices_send_task" in tasks
    unbounded = [
        name
        for name, task in tasks.items()
        if not (task.time_limit or app.conf.task_time_limit)
        or not (task.soft_time_limit or app.conf.task_soft_time_limit)
    ]
    assert unbounded == [], f"tasks without time limits: {unbounded}"


def test_idempotent_tasks_ack_late_and_are_requeued_when_the_worker_dies():
    tasks = own_tasks()
    for name in IDEMPOTENT_TASKS:
        assert tasks[name].acks_late is True, f"{name} acknowledges before running"
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_beat_schedule_names_existing_tasks():
    tasks = own_tasks()
    missing = [
        entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"] not in tasks
    ]
    assert missing == []
