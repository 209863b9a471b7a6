"""Telling whoever waits for stock that free stock rose (a receipt, a count or adjustment up, a
transfer received, a reservation released).

Inventory knows nothing of orders: the orders app registers a listener here (it fills
backorders). Listeners get the product ids once the change is committed and should only hand
the work to a task.
"""

import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from django.db import transaction

from inventory.models import StockLevel

_LISTENERS: list[Callable[[list[int]], None]] = []


def free_stock_listener_register(listener: Callable[[list[int]], None]) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def free_stock_rose(*, level_ids: Iterable[int]) -> None:
    """Call the listeners after commit with the products of these stock levels (once for a
    whole `free_stock_batched` block)."""
    if not _LISTENERS:
        return
    batch = getattr(_batch, "level_ids", None)
    if batch is not None:
        batch.update(level_ids)
        return
    level_ids = sorted(set(level_ids))
    if level_ids:
        transaction.on_commit(lambda: _notify(level_ids))


_batch = threading.local()


@contextmanager
def free_stock_batched():
    """Collect the stock the block frees and tell the listeners once (e.g. a batch of stock
    adjustments), instead of once per stock change."""
    if getattr(_batch, "level_ids", None) is not None:  # already collecting: join it
        yield
        return
    _batch.level_ids = set()
    try:
        yield
        level_ids = _batch.level_ids
    finally:
        _batch.level_ids = None
    free_stock_rose(level_ids=level_ids)


def _notify(level_ids: list[int]) -> None:
    product_ids = sorted(
        set(StockLevel.objects.filter(pk__in=level_ids).values_list("product_id", flat=True))
    )
    for listener in list(_LISTENERS):
        listener(product_ids)
