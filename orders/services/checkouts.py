"""Timed stock holds for storefront checkouts, and turning them into orders.

A checkout reserves its units under the reference `checkout:<token>` with an expiry. Completing
it re-labels those reservations to the new order's lines inside one transaction (no unit is
freed in between, so nobody else can take it); an expired checkout's units are released by a
periodic task and can never be completed afterwards.
"""

import uuid
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import Product, StockReservation
from inventory.services import Hold, reservation_release, stock_allocate
from oms_project.errors import Conflict
from orders.errors import OrderValidationError
from orders.models import Checkout, FulfillmentMethod, Order, SalesChannel
from warehouses.models import Warehouse


class CheckoutExpired(Conflict):
    code = "checkout_expired"
    title = "The checkout expired and its stock was released"


class CheckoutClosed(Conflict):
    code = "checkout_closed"
    title = "The checkout is no longer open"


def checkout_reference(checkout: Checkout) -> str:
    return f"checkout:{checkout.token}"


def checkout_create(
    *,
    channel: SalesChannel,
    lines: list[dict],
    actor: str,
    destination: dict | None = None,
    fulfillment_method: str = FulfillmentMethod.SHIP,
    pickup_location: str = "",
) -> Checkout:
    """Hold stock for a basket for the channel's checkout time-to-live.

    Raises `OrderValidationError` for unknown SKUs or a bad pickup store and
    `InsufficientStock` (nothing held) when the basket cannot be filled.
    """
    from orders.services.allocation import plan_allocation

    quantities = defaultdict(int)
    for line in lines:
        quantities[line["sku"]] += line["quantity"]
    products = {p.sku: p for p in Product.objects.filter(sku__in=quantities, is_active=True)}
    unknown = sorted(set(quantities) - set(products))
    if unknown:
        raise OrderValidationError(
            "Unknown SKUs in the basket.",
            errors={"lines": [f"Unknown SKU '{sku}'." for sku in unknown]},
        )
    locations = _locations(channel, fulfillment_method, pickup_location)
    demand = {
        index: {products[sku].pk: quantity}
        for index, (sku, quantity) in enumerate(sorted(quantities.items()))
    }
    plan = plan_allocation(
        channel=channel,
        demand=demand,
        fulfillment_method=fulfillment_method,
        pickup_location=locations[0] if fulfillment_method == FulfillmentMethod.PICKUP else None,
        destination=destination,
        locations=locations,
    )
    sku_by_product = {p.pk: sku for sku, p in products.items()}
    if plan.short:
        raise InsufficientStock(
            [
                {
                    "sku": sku_by_product[next(iter(demand[index]))],
                    "warehouse": None,
                    "requested": next(iter(demand[index].values())),
                    "available": next(iter(demand[index].values())) - units,
                }
                for index, units in plan.short.items()
            ]
        )
    token = uuid.uuid4()
    expires_at = timezone.now() + timedelta(minutes=channel.checkout_ttl_minutes)
    with transaction.atomic():
        checkout = Checkout.objects.create(
            token=token,
            channel=channel,
            expires_at=expires_at,
            lines=[
                {"sku": sku, "quantity": quantity} for sku, quantity in sorted(quantities.items())
            ],
            destination={k: str(v) for k, v in (destination or {}).items()},
            fulfillment_method=fulfillment_method,
            pickup_location=locations[0]
            if fulfillment_method == FulfillmentMethod.PICKUP
            else None,
        )
        stock_allocate(
            holds=[
                Hold(
                    item.product_id,
                    item.location_id,
                    item.quantity,
                    checkout_reference(checkout),
                    expires_at,
                )
                for item in plan.allocations
            ],
            actor=actor,
        )
    return checkout


def _locations(channel, fulfillment_method, pickup_location) -> list[Warehouse]:
    if fulfillment_method == FulfillmentMethod.PICKUP:
        store = Warehouse.objects.filter(
            code=pickup_location, pickup_enabled=True, is_active=True, channels=channel
        ).first()
        if store is None:
            raise OrderValidationError(
                "Choose an active pickup store of this channel.",
                errors={"pickup_location": ["Not a pickup store."]},
            )
        return [store]
    return list(
        channel.warehouses.filter(is_active=True, can_ship=True).order_by("priority", "code")
    )


def checkout_complete(*, checkout: Checkout, data: dict, actor: str) -> Order:
    """Create the order from the held stock; completing twice returns the same order.

    The order's lines must be the checkout's SKUs and quantities. Raises `CheckoutExpired`
    after the hold ran out, `CheckoutClosed` for a cancelled checkout.
    """
    from orders.services.creation import order_create

    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status == Checkout.Status.COMPLETED and checkout.order_id:
            return checkout.order
        if checkout.status == Checkout.Status.CANCELLED:
            raise CheckoutClosed("This checkout was cancelled.")
        if checkout.status == Checkout.Status.EXPIRED or checkout.expires_at <= timezone.now():
            raise CheckoutExpired("The stock hold expired; start a new checkout.")
        _check_lines_match(checkout, data["lines"])
        order = order_create(channel=checkout.channel, data=data, actor=actor, checkout=checkout)
        checkout.status = Checkout.Status.COMPLETED
        checkout.order = order
        checkout.save(update_fields=["status", "order"])
    return order


def _check_lines_match(checkout: Checkout, lines: list[dict]) -> None:
    sent = defaultdict(int)
    for line in lines:
        sent[line["sku"]] += line["quantity"]
    held = {line["sku"]: line["quantity"] for line in checkout.lines}
    if dict(sent) != held:
        raise OrderValidationError(
            "The order's lines must match the checkout's.",
            errors={"lines": [f"The checkout holds {held}; the order has {dict(sent)}."]},
        )


def checkout_transfer_to_order(*, checkout: Checkout, order: Order) -> int:
    """Re-label the checkout's reservations to the order's lines; return the units moved.

    Raises `CheckoutExpired` if the hold was already (partly) released.
    """
    from django.db.models import F

    from orders.models import OrderLine

    line_by_product = {line.product_id: line for line in order.lines.all()}
    rows = list(
        StockReservation.objects.select_for_update()
        .filter(reference=checkout_reference(checkout))
        .select_related("stock_level")
        .order_by("stock_level_id")
    )
    held = defaultdict(int)
    for row in rows:
        held[row.stock_level.product_id] += row.quantity
    if any(
        held.get(product_id, 0) != line.quantity for product_id, line in line_by_product.items()
    ):
        raise CheckoutExpired("Part of the hold was already released; start a new checkout.")
    for row in rows:
        line = line_by_product[row.stock_level.product_id]
        StockReservation.objects.filter(pk=row.pk).update(
            reference=f"order_line:{line.pk}", expires_at=None
        )
        OrderLine.objects.filter(pk=line.pk).update(
            quantity_allocated=F("quantity_allocated") + row.quantity
        )
    return sum(held.values())


def checkout_release(*, checkout: Checkout, actor: str, status: str) -> int:
    """Give the checkout's held units back (expired or cancelled)."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status != Checkout.Status.OPEN:
            return 0
        units = reservation_release(
            reference=checkout_reference(checkout), actor=actor, note=f"checkout {status}"
        )
        checkout.status = status
        checkout.save(update_fields=["status"])
    return units


def checkouts_expire(*, now=None, limit: int = 500) -> int:
    """Release every open checkout whose hold ran out; safe to run concurrently."""
    now = now or timezone.now()
    expired = 0
    ids = list(
        Checkout.objects.filter(status=Checkout.Status.OPEN, expires_at__lte=now).values_list(
            "pk", flat=True
        )[:limit]
    )
    for pk in ids:
        checkout = Checkout(pk=pk)
        if checkout_release(
            checkout=checkout, actor="system:checkout-expiry", status=Checkout.Status.EXPIRED
        ):
            expired += 1
    return expired
