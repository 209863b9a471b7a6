"""Telling whoever waits for stock that free stock rose (a receipt, a count or adjustment up, a
transfer received, a reservation released, a stock import).

Inventory knows nothing of orders: the orders app registers a listener here (it fills
backorders). Listeners get the product ids once the change is committed and should only hand
the work to a task.
"""

import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

from inventory.models import StockLevel

_LISTENERS: list[Callable[[list[int]], None]] = []


def free_stock_listener_register(listener: Callable[[list[int]], None]) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


@dataclass
class _Freed:
    """Stock freed so far: by stock level, or by product where the writer knows it already
    (a stock import names thousands of levels, and looking them up again would cost a query
    with as many parameters)."""

    level_ids: set[int] = field(default_factory=set)
    product_ids: set[int] = field(default_factory=set)


def free_stock_rose(*, level_ids: Iterable[int] = (), product_ids: Iterable[int] = ()) -> None:
    """Call the listeners after commit with these products and those of these stock levels
    (once for a whole `free_stock_batched` block)."""
    if not _LISTENERS:
        return
    batch = getattr(_batch, "freed", None)
    if batch is not None:
        batch.level_ids.update(level_ids)
        batch.product_ids.update(product_ids)
        return
    level_ids, product_ids = sorted(set(level_ids)), sorted(set(product_ids))
    if level_ids or product_ids:
        transaction.on_commit(lambda: _notify(level_ids, product_ids))


_batch = threading.local()


@contextmanager
def free_stock_batched():
    """Collect the stock the block frees and tell the listeners once, when the block ends
    (e.g. a batch of stock adjustments), instead of once per stock change.

    The writer can so deal with the stock it freed first and leave the listeners what is
    left: a purchase order receipt fills backorders in its own name, then the background
    fill hears of the stock. The listeners are told even when the block raises: what it
    committed before the error is free, and what was rolled back drops its after-commit
    call with the transaction (a listener that finds nothing to do does nothing).
    """
    if getattr(_batch, "freed", None) is not None:  # already collecting: join it
        yield
        return
    freed = _batch.freed = _Freed()
    try:
        yield
    finally:
        _batch.freed = None
        free_stock_rose(level_ids=freed.level_ids, product_ids=freed.product_ids)


def _notify(level_ids: list[int], product_ids: list[int]) -> None:
    products = set(product_ids)
    if level_ids:
        products.update(
            StockLevel.objects.filter(pk__in=level_ids).values_list("product_id", flat=True)
        )
    for listener in list(_LISTENERS):
        listener(sorted(products))
