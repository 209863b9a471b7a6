"""Allocation: reserve stock for holds, all or nothing, without overselling or deadlocking.

On PostgreSQL one prepared statement does the whole allocation: it reads the stock rows, and
when they show enough stock locks them in primary-key order (`SELECT ... ORDER BY id FOR
UPDATE`), checks every line again against the locked numbers, and only when all of them fit
adds to `allocated`, upserts the reservations and writes the ledger. Called outside a
transaction the statement commits by itself, so the rows stay locked for that one statement
and its commit; a short basket writes nothing and, when the plain read already shows it short,
locks nothing either. Other databases (SQLite in development and tests) run the same steps as
separate statements in a transaction: one conditional UPDATE per stock row in primary-key
order, then the reservation upsert and the ledger insert.
"""

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory.alerts import low_stock_alert_if_needed
from inventory.errors import InsufficientStock, InvalidQuantity
from inventory.models import MovementReason, Product, StockLevel
from inventory.quantities import check_quantity
from oms_project.changes import change_time
from warehouses.models import Warehouse


@dataclass(frozen=True)
class Hold:
    """A request to reserve `quantity` units of a product at a warehouse for `reference`."""

    product_id: int
    warehouse_id: int
    quantity: int
    reference: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reserved:
    """A reservation row `stock_allocate` wrote or added to (a plain record, not a model
    instance: bulk order creation reserves thousands at once)."""

    pk: int
    stock_level_id: int
    product_id: int
    warehouse_id: int
    reference: str
    quantity: int
    expires_at: datetime | None


def stock_allocate(
    *, holds: Iterable[Hold], actor: str = "system", respect_safety_stock: bool = True
) -> list[Reserved]:
    """Reserve every hold, all or nothing, and return the reservations touched.

    Demand is summed per stock level before checking (two holds of one SKU at one warehouse
    count together), rows are locked in primary-key order so concurrent callers never
    deadlock, and a row is reserved only where `on_hand - allocated [- safety_stock] >= n`.
    Raises `InvalidQuantity` for a bad quantity and `InsufficientStock` listing every short
    (SKU, warehouse) with the requested and available quantities; on failure nothing is
    written.
    """
    request = _Request(list(holds), actor, respect_safety_stock)
    if not request.demand:
        return []
    try:
        if connection.vendor == "postgresql":
            rows, level_ids = _allocate_postgresql(request)
        else:
            with transaction.atomic():
                rows, level_ids = _allocate_portable(request)
    except _Short as short:
        # Raised once the allocation's own transaction is over (on SQLite, naming the short
        # lines takes two more queries, which need not hold the stock rows).
        raise request.short_error(short.available, short.missing, short.names) from None
    return request.reservations(rows, level_ids)


class _Short(Exception):
    """Some lines do not fit (nothing was written): their free units, the lines without a
    stock level and, when already known, the (SKU, warehouse code) of each line."""

    def __init__(self, available: dict, missing: list, names: dict | None = None):
        super().__init__()
        self.available, self.missing, self.names = available, missing, names


class _Request:
    """The holds of one call, checked and merged before any row is locked.

    `demand` sums the units per (product, warehouse); `merged` sums them per (product,
    warehouse, reference), one reservation and one ledger row each, with the expiry of the
    first hold of that reference.
    """

    def __init__(self, holds: list[Hold], actor: str, respect_safety_stock: bool):
        for hold in holds:
            check_quantity(hold.quantity)
            if not hold.reference:
                raise InvalidQuantity("Every hold needs a reference (what the stock is held for).")
        self.actor = actor
        self.respect_safety_stock = respect_safety_stock
        self.demand: dict[tuple[int, int], int] = defaultdict(int)
        self.merged: dict[tuple[int, int, str], int] = defaultdict(int)
        self.expiry: dict[tuple[int, int, str], datetime | None] = {}
        for hold in holds:
            self.demand[(hold.product_id, hold.warehouse_id)] += hold.quantity
            key = (hold.product_id, hold.warehouse_id, hold.reference)
            self.merged[key] += hold.quantity
            self.expiry.setdefault(key, hold.expires_at)

    def short_error(
        self, available: dict, missing: list, names: dict | None = None
    ) -> InsufficientStock:
        """The error naming every short (SKU, warehouse), in the order the demand was given.

        `available` maps a short (product, warehouse) to its free units; `missing` lists those
        without a stock level; `names` maps a (product, warehouse) to its (SKU, warehouse
        code) when known (they are looked up otherwise).
        """
        keys = [key for key in self.demand if key in available or key in missing]
        if names is None:
            product_ids, warehouse_ids = {key[0] for key in keys}, {key[1] for key in keys}
            skus = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "sku"))
            codes = dict(Warehouse.objects.filter(pk__in=warehouse_ids).values_list("pk", "code"))
            names = {key: (skus.get(key[0]), codes.get(key[1])) for key in keys}
        return InsufficientStock(
            [
                {
                    "sku": names[key][0] or str(key[0]),
                    "warehouse": names[key][1] or str(key[1]),
                    "requested": self.demand[key],
                    "available": max(available.get(key, 0), 0),
                }
                for key in keys
            ]
        )

    def reservations(self, rows: Iterable[tuple], level_ids: dict) -> list[Reserved]:
        """The reservations touched, from (id, level id, reference, quantity) rows."""
        by_key = {(row[1], row[2]): row for row in rows}
        reservations = []
        for product_id, warehouse_id, reference in self.merged:
            level_id = level_ids[(product_id, warehouse_id)]
            row = by_key[(level_id, reference)]
            reservations.append(
                Reserved(
                    pk=row[0],
                    stock_level_id=level_id,
                    product_id=product_id,
                    warehouse_id=warehouse_id,
                    reference=reference,
                    quantity=row[3],
                    expires_at=self.expiry[(product_id, warehouse_id, reference)],
                )
            )
        return sorted(reservations, key=lambda item: (item.stock_level_id, item.reference))


def _is_newly_low(free_after: int, reorder_point: int, is_alerted: bool) -> bool:
    return reorder_point > 0 and free_after <= reorder_point and not is_alerted


# --- PostgreSQL: one statement --------------------------------------------------------------

# `seen` reads the rows without locking: when they already show too little stock the basket
# fails without taking a lock or writing anything. Otherwise `locked` takes the row locks in
# id order before anything is written (the writes below only run once `verdict` has read every
# locked row) and rechecks the numbers as they are after any concurrent buyer we waited for
# has committed. Each write is guarded by the verdict, so a basket with one short line changes
# nothing. The result lists the stock rows (kind 0), the reservations (kind 1) and, for a
# basket that does not fit, the SKU and warehouse code of every line (kind 2).
_ALLOCATE_SQL = f"""
WITH demand AS (
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])
        AS d (product_id, warehouse_id, quantity)
), seen AS MATERIALIZED (
    SELECT l.id, l.product_id, l.warehouse_id, d.quantity,
           l.on_hand - l.allocated - CASE WHEN %s::boolean THEN l.safety_stock ELSE 0 END
               AS free
      FROM inventory_stocklevel l
      JOIN demand d ON d.product_id = l.product_id AND d.warehouse_id = l.warehouse_id
), locked AS MATERIALIZED (
    SELECT l.id, l.product_id, l.warehouse_id, d.quantity,
           l.on_hand - l.allocated - CASE WHEN %s::boolean THEN l.safety_stock ELSE 0 END
               AS free,
           l.on_hand - l.allocated - l.safety_stock AS free_to_sell,
           l.reorder_point, l.low_stock_alerted_at
      FROM inventory_stocklevel l
      JOIN demand d ON d.product_id = l.product_id AND d.warehouse_id = l.warehouse_id
     WHERE (SELECT count(*) = (SELECT count(*) FROM demand)
                   AND coalesce(bool_and(free >= quantity), false) FROM seen)
     ORDER BY l.id
       FOR UPDATE OF l
), verdict AS MATERIALIZED (
    SELECT count(*) = (SELECT count(*) FROM demand)
           AND coalesce(bool_and(free >= quantity), false) AS fits
      FROM locked
), holds AS (
    SELECT k.id AS level_id, h.reference, h.quantity, h.expires_at
      FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::timestamptz[])
           AS h (product_id, warehouse_id, reference, quantity, expires_at)
      JOIN locked k ON k.product_id = h.product_id AND k.warehouse_id = h.warehouse_id
     WHERE (SELECT fits FROM verdict)
), reserved_levels AS (
    UPDATE inventory_stocklevel l
       SET allocated = l.allocated + k.quantity, updated_at = %s::timestamptz
      FROM locked k
     WHERE l.id = k.id AND (SELECT fits FROM verdict)
), reserved AS (
    INSERT INTO inventory_stockreservation
           (stock_level_id, reference, quantity, expires_at, created_at)
    SELECT level_id, reference, quantity, expires_at, now() FROM holds
     ORDER BY level_id, reference
        ON CONFLICT (reference, stock_level_id) DO UPDATE
       SET quantity = inventory_stockreservation.quantity + excluded.quantity
    RETURNING id, stock_level_id, reference, quantity
), recorded AS (
    INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand, delta_allocated,
                                         reason, reference, actor, note, created_at)
    SELECT level_id, 0, quantity, '{MovementReason.ALLOCATION.value}', left(reference, 100),
           %s::text, '', now()
      FROM holds
     ORDER BY level_id, reference
)
SELECT 0, k.id, k.product_id, k.warehouse_id, k.free, k.free_to_sell - k.quantity,
       k.reorder_point, k.low_stock_alerted_at IS NOT NULL, NULL, NULL
  FROM locked k
 UNION ALL
SELECT 0, s.id, s.product_id, s.warehouse_id, s.free, NULL, NULL, NULL, NULL, NULL
  FROM seen s
 WHERE NOT EXISTS (SELECT FROM locked)
 UNION ALL
SELECT 1, r.id, r.stock_level_id, NULL, r.quantity, NULL, NULL, NULL, r.reference, NULL
  FROM reserved r
 UNION ALL
SELECT 2, NULL, d.product_id, d.warehouse_id, NULL, NULL, NULL, NULL, p.sku, w.code
  FROM demand d
  LEFT JOIN inventory_product p ON p.id = d.product_id
  LEFT JOIN warehouses_warehouse w ON w.id = d.warehouse_id
 WHERE NOT (SELECT fits FROM verdict)
"""


class _PreparingCursor(psycopg.Cursor):
    """A server-binding cursor whose statements are prepared once per connection.

    Django turns automatic preparation off (for connection poolers); the allocation statement
    is prepared explicitly at the protocol level, which poolers that track prepared
    statements support, so its plan is not rebuilt on every call.
    """

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


_NEVER_AUTOMATICALLY = 2**31


def _prepared_cursor():
    """A Django cursor (query logging and execute wrappers included) that prepares, unless
    `settings.DATABASE_PREPARE_ALLOCATION` is off (then Django's own cursor)."""
    if not settings.DATABASE_PREPARE_ALLOCATION:
        return connection.cursor()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Nothing else is prepared automatically: Django's own cursors bind on the client.
        connection.connection.prepare_threshold = _NEVER_AUTOMATICALLY
    cursor = _PreparingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def _allocate_postgresql(request: _Request) -> tuple[list[tuple], dict]:
    demand_keys = list(request.demand)
    hold_keys = list(request.merged)
    params = [
        [key[0] for key in demand_keys],
        [key[1] for key in demand_keys],
        [request.demand[key] for key in demand_keys],
        request.respect_safety_stock,
        request.respect_safety_stock,
        [key[0] for key in hold_keys],
        [key[1] for key in hold_keys],
        [key[2] for key in hold_keys],
        [request.merged[key] for key in hold_keys],
        [request.expiry[key] for key in hold_keys],
        change_time(),
        request.actor[:150],
    ]
    # Outside a transaction the statement is one by itself, committed as soon as it ends, so
    # the stock rows are locked for no longer than the statement and its commit. Inside the
    # caller's transaction a database error marks that transaction for rollback (no savepoint
    # is needed: a short basket writes nothing).
    guard = transaction.atomic(savepoint=False) if connection.in_atomic_block else nullcontext()
    with guard, _prepared_cursor() as cursor:
        cursor.execute(_ALLOCATE_SQL, params)
        rows = cursor.fetchall()
    level_ids, free, low, reservation_rows, names = {}, {}, [], [], {}
    for kind, row_id, first, second, number, free_after, reorder_point, is_alerted, *text in rows:
        if kind == 0:
            level_ids[(first, second)] = row_id
            free[(first, second)] = number
            if free_after is not None and _is_newly_low(free_after, reorder_point, is_alerted):
                low.append(row_id)
        elif kind == 1:
            reservation_rows.append((row_id, first, text[0], number))
        else:
            names[(first, second)] = text
    missing = [key for key in request.demand if key not in level_ids]
    short = {key: units for key, units in free.items() if units < request.demand[key]}
    if names and not (short or missing):
        # The statement found the basket short but its rows changed under it (a stock level
        # removed between the read and the lock): every line it could not lock is missing.
        missing = [key for key in request.demand if key not in free or key in names]
    if short or missing or names:
        raise _Short(short, missing, names)
    if low:
        # In the caller's transaction when there is one; otherwise in its own, right after
        # the allocation committed (a level that stays low is alerted by the next change if
        # this one is lost).
        with transaction.atomic():
            low_stock_alert_if_needed(level_ids=sorted(low))
    return reservation_rows, level_ids


# --- other databases: one statement per step ------------------------------------------------

_RESERVE_SQL = (
    "UPDATE inventory_stocklevel SET allocated = allocated + %s, updated_at = %s"
    " WHERE id = %s AND on_hand - allocated - safety_stock >= %s"
    " RETURNING on_hand - allocated - safety_stock, reorder_point, low_stock_alerted_at"
)
_RESERVE_IGNORING_SAFETY_SQL = _RESERVE_SQL.replace(
    "AND on_hand - allocated - safety_stock >=", "AND on_hand - allocated >="
)


def _allocate_portable(request: _Request) -> tuple[list[tuple], dict]:
    demand = request.demand
    level_ids = {
        (product_id, warehouse_id): pk
        for pk, product_id, warehouse_id in StockLevel.objects.filter(
            product_id__in={key[0] for key in demand},
            warehouse_id__in={key[1] for key in demand},
        ).values_list("pk", "product_id", "warehouse_id")
        if (product_id, warehouse_id) in demand
    }
    failed, low = [], []
    sql = _RESERVE_SQL if request.respect_safety_stock else _RESERVE_IGNORING_SAFETY_SQL
    now = connection.ops.adapt_datetimefield_value(change_time())
    with connection.cursor() as cursor:
        for key, level_id in sorted(level_ids.items(), key=lambda item: item[1]):
            cursor.execute(sql, [demand[key], now, level_id, demand[key]])
            row = cursor.fetchone()
            if row is None:
                failed.append(key)
            elif _is_newly_low(row[0], row[1], row[2] is not None):
                low.append(level_id)
        missing = [key for key in demand if key not in level_ids]
        if failed or missing:
            raise _Short(_free_units(request, level_ids, failed), missing)
        rows = _write_reservations_and_movements(cursor, request, level_ids)
    if low:
        low_stock_alert_if_needed(level_ids=low)
    return rows, level_ids


def _free_units(request: _Request, level_ids: dict, keys: list) -> dict:
    by_id = {level_ids[key]: key for key in keys}
    return {
        by_id[pk]: on_hand - allocated - (safety if request.respect_safety_stock else 0)
        for pk, on_hand, allocated, safety in StockLevel.objects.filter(
            pk__in=list(by_id)
        ).values_list("pk", "on_hand", "allocated", "safety_stock")
    }


def _write_reservations_and_movements(cursor, request: _Request, level_ids: dict) -> list:
    """Add each (stock level, reference) demand to its reservation or create it, then write
    one ledger row each; return the reservations as (id, level id, reference, quantity)."""
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    keys = sorted(request.merged, key=lambda key: (level_ids[(key[0], key[1])], key[2]))
    reservation_params, movement_params = [], []
    for product_id, warehouse_id, reference in keys:
        level_id = level_ids[(product_id, warehouse_id)]
        quantity = request.merged[(product_id, warehouse_id, reference)]
        expires_at = adapt(request.expiry[(product_id, warehouse_id, reference)])
        reservation_params += [level_id, reference, quantity, expires_at, now]
        movement_params += [level_id, quantity, reference[:100], request.actor[:150], now]
    cursor.execute(
        "INSERT INTO inventory_stockreservation"
        " (stock_level_id, reference, quantity, expires_at, created_at) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s)"] * len(keys))
        + " ON CONFLICT (reference, stock_level_id) DO UPDATE"
        " SET quantity = inventory_stockreservation.quantity + excluded.quantity"
        " RETURNING id, stock_level_id, reference, quantity",
        reservation_params,
    )
    rows = cursor.fetchall()
    cursor.execute(
        "INSERT INTO inventory_stockmovement (stock_level_id, delta_on_hand,"
        " delta_allocated, reason, reference, actor, note, created_at) VALUES "
        + ", ".join(
            [f"(%s, 0, %s, '{MovementReason.ALLOCATION.value}', %s, %s, '', %s)"] * len(keys)
        ),
        movement_params,
    )
    return rows
