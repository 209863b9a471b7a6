"""Reads about purchase orders: totals, the list with its lines, and stock on the way."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Prefetch, QuerySet

from inventory.models import PurchaseOrder, PurchaseOrderLine
from inventory.purchasing.states import PROMISED_STATUSES

CENT = Decimal("0.01")


def purchase_order_line_total(line: PurchaseOrderLine) -> Decimal:
    """What one line's ordered quantity costs, rounded half-up to the cent, as the supplier's
    document prints it."""
    return (line.unit_cost * line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def purchase_order_total(*, lines: Iterable[PurchaseOrderLine]) -> Decimal:
    """What the ordered quantities cost: the sum of the rounded line totals, so the
    document's lines add up to its total (and the minimum order value is checked on the
    figure the supplier sees)."""
    return sum((purchase_order_line_total(line) for line in lines), Decimal("0.00"))


def purchase_orders_with_lines() -> QuerySet[PurchaseOrder]:
    """Purchase orders with supplier, warehouse and lines (with products) in three queries."""
    return PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related(
        Prefetch(
            "lines",
            queryset=PurchaseOrderLine.objects.select_related("product").order_by("pk"),
        )
    )


@dataclass(frozen=True)
class IncomingSupply:
    """Units of a product still to come on one purchase order the supplier has."""

    product_id: int
    warehouse_id: int
    purchase_order_id: int
    purchase_order_number: str
    expected_date: date
    quantity: int


def incoming_supply(*, product_ids: Iterable[int] | None = None) -> list[IncomingSupply]:
    """Outstanding units on purchase orders sent to the supplier and not yet fully received
    (`PROMISED_STATUSES`; never drafts), the soonest expected first (ties by purchase order
    id): the stock customers may be given dates from."""
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=PROMISED_STATUSES,
        quantity__gt=F("quantity_received") + F("quantity_damaged"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    rows = lines.order_by("purchase_order__expected_date", "purchase_order_id").values_list(
        "product_id", "purchase_order__warehouse_id", "purchase_order_id",
        "purchase_order__number", "purchase_order__expected_date",
        "quantity", "quantity_received", "quantity_damaged",
    )
    return [
        IncomingSupply(
            product_id, warehouse_id, order_id, number, expected, quantity - received - damaged
        )
        for (
            product_id, warehouse_id, order_id, number, expected, quantity, received, damaged
        ) in rows
    ]
