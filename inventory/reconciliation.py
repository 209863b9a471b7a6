"""Check the stock ledger against the stock levels and the reservations, and repair drift.

Three numbers must agree for every stock level:

- `on_hand` equals the sum of its movements' `delta_on_hand`;
- `allocated` equals the sum of its movements' `delta_allocated`;
- `allocated` equals the sum of its open reservations' quantities.

`stock_mismatches()` finds every level where one of them does not hold with a single
set-based query. `stock_reconcile()` repairs one level under its row lock:

- **on hand vs ledger**: the level's `on_hand` is kept (it is what the business has been
  selling against, and only a physical count can say otherwise); a compensating movement with
  `delta_on_hand = on_hand - ledger sum` makes the ledger explain it.
- **allocated vs reservations**: the reservations are the truth (each names what it holds stock
  for), so `allocated` is set to their sum and the movement's `delta_allocated` brings the
  ledger's allocated sum to the same number. If the reservations exceed on hand the level
  cannot be repaired automatically (a count or a release is needed) and is reported as such.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from inventory.alerts import low_stock_refresh
from inventory.models import MovementReason, StockLevel, StockMovement, StockReservation
from oms_project.changes import update_changed

RECONCILIATION_REFERENCE = "inventory_reconcile"


@dataclass(frozen=True)
class Mismatch:
    """One stock level whose numbers disagree."""

    level_id: int
    sku: str
    warehouse: str
    on_hand: int
    allocated: int
    ledger_on_hand: int
    ledger_allocated: int
    reserved: int

    def problems(self) -> list[tuple[str, int, int]]:
        """(what, expected, actual) for each disagreement."""
        found = []
        if self.on_hand != self.ledger_on_hand:
            found.append(("on_hand vs ledger", self.ledger_on_hand, self.on_hand))
        if self.allocated != self.ledger_allocated:
            found.append(("allocated vs ledger", self.ledger_allocated, self.allocated))
        if self.allocated != self.reserved:
            found.append(("allocated vs reservations", self.reserved, self.allocated))
        return found


def _summed(model, field: str):
    total = (
        model.objects.filter(stock_level=OuterRef("pk"))
        .order_by()
        .values("stock_level")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def _levels_with_sums():
    return StockLevel.objects.annotate(
        ledger_on_hand=_summed(StockMovement, "delta_on_hand"),
        ledger_allocated=_summed(StockMovement, "delta_allocated"),
        reserved=_summed(StockReservation, "quantity"),
    )


def stock_mismatches(*, level_ids: list[int] | None = None) -> list[Mismatch]:
    """Return every stock level whose on hand or allocated disagrees with the ledger or the
    reservations, in one query (ordered by SKU and warehouse)."""
    levels = _levels_with_sums().filter(
        ~Q(on_hand=F("ledger_on_hand"))
        | ~Q(allocated=F("ledger_allocated"))
        | ~Q(allocated=F("reserved"))
    )
    if level_ids is not None:
        levels = levels.filter(pk__in=level_ids)
    rows = levels.order_by("product__sku", "warehouse__code").values_list(
        "pk", "product__sku", "warehouse__code", "on_hand", "allocated",
        "ledger_on_hand", "ledger_allocated", "reserved",
    )
    return [Mismatch(*row) for row in rows.iterator(chunk_size=2000)]


@dataclass(frozen=True)
class Repair:
    mismatch: Mismatch
    is_repaired: bool
    detail: str


def stock_reconcile(*, mismatch: Mismatch, actor: str) -> Repair:
    """Repair one stock level with a compensating `reconciliation` movement.

    The level is locked and its sums recomputed under the lock, so a change that committed
    since the check is taken into account (and a level that is now consistent is left alone).
    """
    with transaction.atomic():
        # Every writer of a level's movements and reservations holds the level's row lock.
        locked = (
            StockLevel.objects.select_for_update()
            .filter(pk=mismatch.level_id)
            .values_list("pk", flat=True)
            .first()
        )
        current = (
            _levels_with_sums()
            .filter(pk=locked)
            .values("on_hand", "allocated", "ledger_on_hand", "ledger_allocated", "reserved")
            .first()
        )
        if locked is None or current is None:
            return Repair(mismatch, False, "the stock level no longer exists")
        on_hand, allocated = current["on_hand"], current["allocated"]
        reserved = current["reserved"]
        if reserved > on_hand:
            return Repair(
                mismatch,
                False,
                f"reservations ({reserved}) exceed on hand ({on_hand}); count the stock or "
                "release reservations, then run again",
            )
        delta_on_hand = on_hand - current["ledger_on_hand"]
        delta_allocated = reserved - current["ledger_allocated"]
        if not delta_on_hand and not delta_allocated and allocated == reserved:
            return Repair(mismatch, True, "already consistent")
        if allocated != reserved:
            update_changed(StockLevel.objects.filter(pk=mismatch.level_id), allocated=reserved)
            low_stock_refresh(level_ids=[mismatch.level_id])
        note = (
            f"was on_hand={on_hand} (ledger {current['ledger_on_hand']}), "
            f"allocated={allocated} (ledger {current['ledger_allocated']}, "
            f"reservations {reserved})"
        )
        StockMovement.objects.create(
            stock_level_id=mismatch.level_id,
            delta_on_hand=delta_on_hand,
            delta_allocated=delta_allocated,
            reason=MovementReason.RECONCILIATION,
            reference=RECONCILIATION_REFERENCE,
            actor=actor[:150],
            note=note[:255],
        )
    return Repair(mismatch, True, note)
