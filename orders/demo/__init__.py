"""Demo data for a fresh installation: a believable merchant made through the services."""

from orders.demo.seeding import (
    DEFAULT_SEED,
    FULL,
    SMALL,
    DemoAlreadySeeded,
    DemoSize,
    demo_is_seeded,
    demo_order_counts,
    demo_seed,
)

__all__ = ["DEFAULT_SEED", "FULL", "SMALL", "DemoAlreadySeeded", "DemoSize", "demo_is_seeded",
           "demo_order_counts", "demo_seed"]
