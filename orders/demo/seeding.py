"""Seeding the demo merchant in one transaction, once."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from inventory.models import StockMovement
from orders.demo.catalog import OPENING_STOCK_REFERENCE, catalog_create
from orders.demo.history import HistoryWriter, history_plan
from orders.demo.network import CHANNELS, carriers_ensure, channels_ensure, locations_ensure
from orders.demo.people import customers_generate
from orders.models import Order


@dataclass(frozen=True)
class DemoSize:
    """How much demo data to make."""

    products: int
    customers: int
    orders: int


FULL = DemoSize(products=200, customers=50, orders=300)
SMALL = DemoSize(products=40, customers=12, orders=45)
DEFAULT_SEED = 2024


class DemoAlreadySeeded(Exception):
    """The demo data is already in this database; seeding again would duplicate stock."""


def demo_is_seeded() -> bool:
    """Whether the demo's opening stock has been received (the seed commits all or nothing)."""
    return StockMovement.objects.filter(reference=OPENING_STOCK_REFERENCE).exists()


def demo_seed(*, size: DemoSize = FULL, seed: int = DEFAULT_SEED,
              now: datetime | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Create the demo merchant: locations, carriers, channels, catalogue, stock and orders.

    Everything is written through the services in one transaction, so a failure leaves
    nothing behind and a second run finds the data and changes nothing. The same `seed`
    gives the same merchant (dates are relative to `now`). Raises `DemoAlreadySeeded` when
    the demo data is present. Returns the number of demo orders per status.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    report = progress or (lambda message: None)
    with transaction.atomic():
        if demo_is_seeded():
            raise DemoAlreadySeeded("The demo data is already present; nothing was changed.")
        report("Locations, carriers and sales channels")
        locations = locations_ensure()
        carriers_ensure()
        channels = channels_ensure(locations=locations)
        report(f"{size.products} products and their opening stock")
        catalog = catalog_create(rng=rng, product_count=size.products, locations=locations)
        report(f"{size.orders} orders from {size.customers} customers over 90 days")
        customers = customers_generate(rng=rng, count=size.customers)
        writer = HistoryWriter(rng=rng, catalog=catalog, channels=channels,
                               locations=locations, now=now)
        for plan in history_plan(rng=rng, order_count=size.orders, customers=customers,
                                 now=now):
            writer.write(plan)
    return demo_order_counts()


def demo_order_counts() -> dict[str, int]:
    """Orders of the demo channels per status."""
    rows = (Order.objects.filter(channel__code__in=[spec["code"] for spec in CHANNELS])
            .values_list("status").annotate(count=Count("pk")).order_by("status"))
    return dict(rows)
