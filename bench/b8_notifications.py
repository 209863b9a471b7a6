"""B8: order-confirmation e-mails through the outbox and a real Celery worker on Redis.

Workload: N e-mails (full 10,000, quick 1,000), each queued in its own transaction the way a
request does it (`orders.notifications.order_email`: render the channel's templates, log the
`EmailMessage`, hand it to `deliver_task` after commit) into a queue of the sample's own;
then one real worker (`celery -A oms_project worker`, prefork, concurrency 2) on the local
Redis is told to consume that queue and sends them with Django's file e-mail backend. The
worker's throughput is timed from `add_consumer` until every e-mail is sent and its queue
is empty (a task may send other queued e-mails with its own), so the request
side (rendering, the insert, the commit) is measured apart, per e-mail.

Peer (same run, same broker, same worker, interleaved ours, peer, ours, ...): Celery's no-op
task throughput, N `bench_noop_task` calls (one Redis INCR each) published to a fresh queue,
then drained the same way.

Reported: notifications/s, no-op tasks/s and their ratio (median, min-max over the pairs), and
the enqueue cost inside the request (the after-commit `delay()` per e-mail, p50/p99), plus the
whole request-side cost per e-mail. Checks (the run fails loudly): every e-mail is sent exactly
once (one message in the mail files per e-mail, `attempts == 1`), none lost, every no-op ran.

    python -m bench.b8_notifications [--quick] [--pairs 3] [--database oms_bench_b8]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import redis

from bench.orders_setup import database_create, database_drop, database_url, django_setup

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("B8_BROKER_URL", "redis://127.0.0.1:6379/14")
WAIT_SECONDS = 600


def seed_order():
    """One paid order whose confirmation every sample sends (rendering is the real one)."""
    from inventory.services import stock_receive
    from orders.models import SalesChannel
    from orders.services import order_create
    from warehouses.models import Carrier, ServiceLevel, Warehouse

    warehouse = Warehouse.objects.create(code="B8-WH", name="B8 warehouse", priority=1)
    carrier = Carrier.objects.create(code="b8-carrier", name="B8 carrier")
    ServiceLevel.objects.create(carrier=carrier, code="b8-ground", name="Ground")
    channel = SalesChannel.objects.create(
        code="b8", name="B8 shop", support_email="help@b8.example", order_number_prefix="B8"
    )
    channel.warehouses.add(warehouse)
    from inventory.models import Product

    product = Product.objects.create(sku="B8-SKU", name="B8 product")
    stock_receive(product=product, warehouse=warehouse, quantity=10, reference="b8", actor="b8")
    address = {"line1": "1 Main St", "city": "Reno", "postal_code": "89501", "country": "US"}
    return order_create(
        channel=channel,
        actor="b8",
        data={
            "channel_order_id": "B8-1",
            "customer": {"email": "jane@example.com", "first_name": "Jane"},
            "shipping_address": address,
            "billing_address": address,
            "fulfillment_method": "ship",
            "shipping_method": "b8-ground",
            "currency": "USD",
            "lines": [{"sku": "B8-SKU", "quantity": 2, "unit_price": Decimal("10.00")}],
            "shipping_total": Decimal("5.00"),
            "tax_total": Decimal("2.00"),
            "discount_total": Decimal("0.00"),
            "payment": {"method": "card", "amount": Decimal("27.00"), "status": "captured"},
        },
    )


class Worker:
    """`celery -A oms_project worker` on a queue of its own, sending mail to files."""

    def __init__(self, *, url: str, queue: str, mail_directory: str, hostname: str):
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": BROKER,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        environment["B8_MAIL_DIRECTORY"] = mail_directory
        self.process = subprocess.Popen(
            [
                sys.executable, "-c",
                "import os, sys; from django.conf import settings;"
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'oms_project.settings');"
                "import django; django.setup();"
                "settings.EMAIL_FILE_PATH = os.environ['B8_MAIL_DIRECTORY'];"
                "from oms_project.celery import app;"
                "app.worker_main(sys.argv[1:])",
                "worker", "-Q", queue, "-n", hostname, "-I", "bench.b8_tasks",
                "--pool", "prefork",
                "--concurrency", "2", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "WARNING",
            ],
            cwd=ROOT,
            env=environment,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wait(condition, what: str) -> float:
    deadline = time.perf_counter() + WAIT_SECONDS
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit(f"B8 FAILED: timed out waiting for {what}")


def drain(app, hostname: str, queue: str, done, what: str) -> float:
    """Let the worker consume `queue` until `done()`; return the seconds it took."""
    started = time.perf_counter()
    replies = app.control.add_consumer(queue, destination=[hostname], reply=True, timeout=10)
    if not replies:
        raise SystemExit(f"B8 FAILED: the worker did not answer add_consumer for {what}")
    finished = _wait(done, what)
    app.control.cancel_consumer(queue, destination=[hostname], reply=True, timeout=10)
    return finished - started


def sample_ours(
    app, hostname: str, order, count: int, mail_directory: str, counter: redis.Redis
) -> dict:
    from django.db import transaction

    from oms_project import handoff
    from oms_project.models import EmailMessage
    from oms_project.tasks import deliver_task
    from orders.notifications import order_email

    for name in os.listdir(mail_directory):
        os.remove(os.path.join(mail_directory, name))
    first_pk = (EmailMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    enqueue_seconds: list[float] = []
    original = handoff._publish
    queue = f"b8-ours-{uuid.uuid4().hex[:10]}"

    def timed_publish(event_pks: list[int], email_pks: list[int]) -> None:
        # What `_publish` does (`delay`), routed to this sample's queue.
        started = time.perf_counter()
        deliver_task.apply_async((event_pks, email_pks), queue=queue)
        enqueue_seconds.append(time.perf_counter() - started)

    handoff._publish = timed_publish
    request_seconds = []
    try:
        for _ in range(count):
            begun = time.perf_counter()
            with transaction.atomic():
                order_email(order=order, template="order_confirmation")
            request_seconds.append(time.perf_counter() - begun)
    finally:
        handoff._publish = original
    mine = EmailMessage.objects.filter(pk__gt=first_pk)
    # Done when every e-mail is sent and the queue is empty: a send task may send other queued
    # e-mails with its own, and the tasks still queued for those are work the worker owes too.
    seconds = drain(
        app,
        hostname,
        queue,
        lambda: mine.filter(status="sent").count() == count and counter.llen(queue) == 0,
        "our e-mails",
    )
    sent_files = 0
    for name in os.listdir(mail_directory):
        with open(os.path.join(mail_directory, name), encoding="utf-8") as handle:
            sent_files += handle.read().count("\nMessage-ID: ")
    checks = {
        "queued": mine.count() == count,
        "all_sent": mine.exclude(status="sent").count() == 0,
        "sent_exactly_once": sent_files == count
        and not mine.exclude(attempts=1).exists(),
    }
    enqueue_sorted = sorted(enqueue_seconds)
    return {
        "per_second": count / seconds,
        "enqueue_ms_p50": 1000 * statistics.median(enqueue_sorted),
        "enqueue_ms_p99": 1000 * enqueue_sorted[int(len(enqueue_sorted) * 0.99) - 1],
        "request_ms_p50": 1000 * statistics.median(request_seconds),
        "checks": checks,
    }


def sample_noop(app, hostname: str, count: int, counter: redis.Redis) -> dict:
    from bench.b8_tasks import bench_noop_task

    key = f"b8:noop:{uuid.uuid4().hex}"
    queue = f"b8-noop-{uuid.uuid4().hex[:10]}"
    publish = []
    for _ in range(count):
        begun = time.perf_counter()
        bench_noop_task.apply_async((key,), queue=queue)
        publish.append(time.perf_counter() - begun)
    seconds = drain(
        app, hostname, queue, lambda: int(counter.get(key) or 0) >= count, "the no-op tasks"
    )
    ran = int(counter.get(key) or 0)
    counter.delete(key)
    return {
        "per_second": count / seconds,
        "publish_ms_p50": 1000 * statistics.median(publish),
        "checks": {"all_ran_once": ran == count},
    }


def main(arguments) -> int:
    count = 1000 if arguments.quick else 10_000
    counter = redis.Redis.from_url(BROKER)
    counter.ping()
    queue = f"b8-{uuid.uuid4().hex[:10]}"
    database_create(arguments.database)
    os.environ["CELERY_BROKER_URL"] = BROKER
    url = database_url(arguments.database)
    django_setup(url)
    from oms_project.celery import app

    app.conf.update(task_default_queue=queue, task_always_eager=False, broker_url=BROKER)
    order = seed_order()
    mail_directory = tempfile.mkdtemp(prefix="b8-mail-")
    hostname = f"b8-{uuid.uuid4().hex[:8]}@localhost"
    worker = Worker(url=url, queue=queue, mail_directory=mail_directory, hostname=hostname)
    ours, peers = [], []
    try:
        _wait(lambda: bool(app.control.ping(destination=[hostname], timeout=1)), "the worker")
        sample_noop(app, hostname, 20, counter)  # warm up
        for _ in range(arguments.pairs):
            ours.append(sample_ours(app, hostname, order, count, mail_directory, counter))
            peers.append(sample_noop(app, hostname, count, counter))
    finally:
        worker.stop()
        # The samples' queues leave kombu's bindings behind: leave the database clean.
        for key in counter.scan_iter("_kombu.binding*"):
            counter.delete(key)
        shutil.rmtree(mail_directory, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        if not arguments.keep:
            database_drop(arguments.database)
    ratios = [
        mine["per_second"] / peer["per_second"] for mine, peer in zip(ours, peers, strict=True)
    ]
    checks = {
        name: all(sample["checks"][name] for sample in ours) for name in ours[0]["checks"]
    } | {"noop_all_ran_once": all(peer["checks"]["all_ran_once"] for peer in peers)}
    result = {
        "benchmark": "b8_notifications",
        "mode": "quick" if arguments.quick else "full",
        "emails_per_sample": count,
        "notifications_per_second": [round(sample["per_second"], 1) for sample in ours],
        "noop_tasks_per_second": [round(sample["per_second"], 1) for sample in peers],
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "enqueue_ms_p50": round(statistics.median(s["enqueue_ms_p50"] for s in ours), 3),
        "enqueue_ms_p99": round(max(s["enqueue_ms_p99"] for s in ours), 3),
        "request_ms_p50": round(statistics.median(s["request_ms_p50"] for s in ours), 3),
        "noop_publish_ms_p50": round(statistics.median(s["publish_ms_p50"] for s in peers), 3),
        "checks": checks,
    }
    print(json.dumps(result))
    if not all(checks.values()):
        print(f"B8 FAILED correctness checks: {checks}", file=sys.stderr)
        return 1
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 e-mails per sample")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--database", default="oms_bench_b8")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main(parse_arguments()))
