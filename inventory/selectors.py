"""Reads of products and stock with their filters, availability and search summaries."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import F, Q, QuerySet

from inventory.models import Product, StockLevel
from oms_project.sql import placeholders

MAX_AVAILABILITY_SKUS = 500


def product_search(queryset: QuerySet[Product], term: str) -> QuerySet[Product]:
    """Match an exact SKU, product id or barcode, or a name fragment."""
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(sku__iexact=term)
        | Q(external_id=term)
        | Q(barcode=term)
        | Q(sku__istartswith=term)
        | Q(name__icontains=term)
    )


def stock_levels_with_availability() -> QuerySet[StockLevel]:
    return StockLevel.objects.select_related("product", "warehouse").annotate(
        free=F("on_hand") - F("allocated") - F("safety_stock")
    )


def stock_level_search(queryset: QuerySet[StockLevel], term: str) -> QuerySet[StockLevel]:
    """Match a SKU (exact or prefix), product id (external or internal), barcode or name."""
    term = term.strip()
    if not term:
        return queryset
    condition = (
        Q(product__sku__iexact=term)
        | Q(product__external_id=term)
        | Q(product__barcode=term)
        | Q(product__sku__istartswith=term)
        | Q(product__name__icontains=term)
    )
    if term.isdigit() and len(term) < 19:
        condition |= Q(product_id=int(term))
    return queryset.filter(condition)


def stock_levels_low(queryset: QuerySet[StockLevel], is_low: bool = True) -> QuerySet[StockLevel]:
    """Levels whose available quantity is at or below their reorder point (or not).

    `queryset` must carry the `free` annotation of `stock_levels_with_availability()`.
    A level with no reorder point counts as low only when nothing is available.
    """
    condition = Q(free__lte=F("reorder_point"))
    return queryset.filter(condition) if is_low else queryset.exclude(condition)


def stock_levels_out_of_stock(
    queryset: QuerySet[StockLevel], is_out: bool = True
) -> QuerySet[StockLevel]:
    """Levels with nothing available to sell (or with something)."""
    return queryset.filter(free__lte=0) if is_out else queryset.filter(free__gt=0)


def stock_summary(levels: QuerySet[StockLevel], *, after_sku: str = "", limit: int = 50) -> dict:
    """Group stock levels per SKU with totals, one page of SKUs at a time (ordered by SKU).

    Two queries: the page of SKUs, then their levels. Returns `{"results", "next_after"}`.
    """
    product_ids = (
        levels.filter(product__sku__gt=after_sku)
        .order_by("product__sku")
        .values_list("product_id", "product__sku")
        .distinct()[: limit + 1]
    )
    page = list(product_ids)
    has_more = len(page) > limit
    page = page[:limit]
    rows = (
        levels.filter(product_id__in=[product_id for product_id, _sku in page])
        .order_by("product__sku", "warehouse__code")
        .values(
            "product_id",
            "product__sku",
            "product__name",
            "product__external_id",
            "product__barcode",
            "warehouse__code",
            "on_hand",
            "allocated",
            "safety_stock",
            "reorder_point",
        )
    )
    grouped: dict[int, dict] = {}
    for row in rows:
        entry = grouped.setdefault(
            row["product_id"],
            {
                "sku": row["product__sku"],
                "product_id": row["product__external_id"],
                "name": row["product__name"],
                "barcode": row["product__barcode"],
                "on_hand": 0,
                "allocated": 0,
                "available": 0,
                "warehouses": [],
            },
        )
        available = max(row["on_hand"] - row["allocated"] - row["safety_stock"], 0)
        entry["on_hand"] += row["on_hand"]
        entry["allocated"] += row["allocated"]
        entry["available"] += available
        entry["warehouses"].append(
            {
                "warehouse": row["warehouse__code"],
                "on_hand": row["on_hand"],
                "allocated": row["allocated"],
                "safety_stock": row["safety_stock"],
                "available": available,
                "reorder_point": row["reorder_point"],
            }
        )
    results = [grouped[product_id] for product_id, _sku in page if product_id in grouped]
    return {"results": results, "next_after": page[-1][1] if has_more and page else None}


def availability_for_skus(
    *, skus: Iterable[str], warehouse_ids: Iterable[int], breakdown: bool = False
) -> dict:
    """Available units per SKU over the given warehouses, in two queries whatever the count.

    Available per warehouse is `max(on_hand - allocated - safety_stock, 0)`; the SKU's total
    is their sum. Status is `out_of_stock` at 0, `low_stock` at or below the product's
    `low_stock_threshold`, otherwise `in_stock`. Inactive products count as out of stock.
    Returns `{"results": [...], "unknown_skus": [...]}` in the order the SKUs were given.
    """
    skus = list(dict.fromkeys(skus))
    warehouse_ids = list(warehouse_ids)
    products = {
        product.sku: product
        for product in Product.objects.filter(sku__in=skus).only(
            "id", "sku", "low_stock_threshold", "is_active"
        )
    }
    per_product: dict[int, list] = defaultdict(list)
    if products and warehouse_ids:
        rows = (
            StockLevel.objects.filter(
                product_id__in=[product.pk for product in products.values()],
                warehouse_id__in=warehouse_ids,
                warehouse__is_active=True,
            )
            .order_by("warehouse__priority", "warehouse__code")
            .values_list("product_id", "warehouse__code", "on_hand", "allocated", "safety_stock")
        )
        for product_id, code, on_hand, allocated, safety in rows:
            per_product[product_id].append((code, max(on_hand - allocated - safety, 0)))
    results = []
    for sku in skus:
        product = products.get(sku)
        if product is None:
            continue
        locations = per_product[product.pk] if product.is_active else []
        available = sum(units for _code, units in locations)
        entry = {"sku": sku, "available": available, "status": _status(available, product)}
        if breakdown:
            entry["warehouses"] = [
                {"warehouse": code, "available": units} for code, units in locations
            ]
        results.append(entry)
    return {"results": results, "unknown_skus": [sku for sku in skus if sku not in products]}


def _status(available: int, product: Product) -> str:
    if available <= 0:
        return "out_of_stock"
    if available <= product.low_stock_threshold:
        return "low_stock"
    return "in_stock"


def available_by_location(*, product_ids, warehouse_ids) -> dict[tuple[int, int], int]:
    """Units free to allocate per (product id, warehouse id): on hand - allocated - safety."""
    product_ids, warehouse_ids = sorted(product_ids), sorted(warehouse_ids)
    if not product_ids or not warehouse_ids:
        return {}
    with connection.cursor() as cursor:  # plain SQL: it runs for every order (oms_project.sql)
        cursor.execute(
            f"SELECT product_id, warehouse_id, on_hand - allocated - safety_stock "
            f"FROM {StockLevel._meta.db_table} WHERE product_id IN ({placeholders(product_ids)}) "
            f"AND warehouse_id IN ({placeholders(warehouse_ids)})",
            [*product_ids, *warehouse_ids],
        )
        return {
            (product_id, warehouse_id): max(free, 0)
            for product_id, warehouse_id, free in cursor.fetchall()
        }
