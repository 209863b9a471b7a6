"""Reads of products and stock with their filters."""

from django.db.models import F, Q, QuerySet

from inventory.models import Product, StockLevel


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
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(product__sku__iexact=term)
        | Q(product__external_id=term)
        | Q(product__barcode=term)
        | Q(product__sku__istartswith=term)
        | Q(product__name__icontains=term)
    )
