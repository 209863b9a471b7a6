"""Fill an empty installation with a believable demo merchant: `manage.py seed_demo`."""

import logging
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.db import connection
from django.test.utils import override_settings

from customers.models import Customer
from inventory.models import Product
from orders.demo import DEFAULT_SEED, FULL, SMALL, DemoAlreadySeeded, demo_order_counts, demo_seed
from orders.models import SalesChannel
from orders.states import OrderStatus
from warehouses.models import Carrier, Warehouse

# The demo queues hundreds of order e-mails; they are logged in the database as usual, but
# delivered to memory so the console stays readable.
QUIET_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Eager Celery logs a line per task (the seed runs about two thousand of them), and kombu
# warns once that the in-memory broker has no host name.
NOISY_LOGGERS = ("celery.app.trace", "kombu.connection")


class Command(BaseCommand):
    help = ("Create demo data (channels, locations, carriers, products, stock, customers and "
            "orders in every status). Running it again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--small", action="store_true",
                            help=f"{SMALL.products} products and {SMALL.orders} orders instead "
                                 f"of {FULL.products} and {FULL.orders}.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help="Random seed; the same seed gives the same data.")

    def handle(self, *args, small, seed, **options):
        size = SMALL if small else FULL
        try:
            with (override_settings(EMAIL_BACKEND=QUIET_EMAIL_BACKEND), quiet_tasks(),
                  fast_commits()):
                counts = demo_seed(size=size, seed=seed, progress=self._progress)
        except DemoAlreadySeeded as error:
            self.stdout.write(str(error))
            counts = demo_order_counts()
        else:
            self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._summary(counts)

    def _progress(self, message: str) -> None:
        self.stdout.write(f"  {message}...")

    def _summary(self, counts: dict[str, int]) -> None:
        self.stdout.write(
            f"{SalesChannel.objects.count()} channels, {Warehouse.objects.count()} locations, "
            f"{Carrier.objects.count()} carriers, {Product.objects.count()} products, "
            f"{Customer.objects.count()} customers, {sum(counts.values())} orders:")
        for status in OrderStatus:
            self.stdout.write(f"  {status.label:<28}{counts.get(status.value, 0):>5}")


@contextmanager
def quiet_tasks():
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


@contextmanager
def fast_commits():
    """On SQLite, skip the disk sync of each commit while seeding.

    The e-mails and outbox events of the demo orders are sent after commit, each in its own
    short transaction; syncing each of those to disk is most of the seed's time. A crash of
    the machine mid-seed could then damage only a database that holds nothing but the seed.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        previous = cursor.execute("PRAGMA synchronous").fetchone()[0]
        cursor.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {int(previous)}")
