"""Timed stock holds for storefront checkouts, and turning them into orders.

A checkout reserves its units under the reference `checkout:<token>` with an expiry. Completing
it re-labels those reservations to the new order's lines inside one transaction (no unit is
freed in between, so nobody else can take it); an expired checkout's units are released by a
periodic task and can never be completed afterwards.

The order that completes a checkout must be the one the stock was held for (same units per
SKU, fulfillment method, pickup store and destination country, at locations that ship to its
address); it is then checked like any new order.
"""

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import NoReturn

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import Product, StockReservation
from inventory.services import Hold, reservation_release, stock_allocate
from oms_project.errors import Conflict, item_errors
from orders.errors import OrderValidationError
from orders.models import Checkout, FulfillmentMethod, Order, OrderLine, SalesChannel
from orders.services.allocation import (
    PLAN_ATTEMPTS,
    destination_refusal,
    plan_allocation,
    shortage_error,
)
from orders.services.creation import order_create
from orders.services.routing_rules import routing_rules_for
from warehouses.models import Warehouse
from warehouses.routing import Plan
from warehouses.routing.types import SHIPS_ELSEWHERE


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

    Units of one SKU are summed over the basket's lines. A shipped basket with a `destination`
    is routed like an order to that address; without one (the address is not known yet) its
    stock is held by the channel's ranking wherever the locations ship, and the order that
    completes it must go where those locations ship.

    Raises `OrderValidationError` for unknown SKUs, a bad pickup store or a `destination`
    none of the channel's locations ships to (on `destination.country`), and
    `InsufficientStock` naming each short SKU by its first line's position in the request
    (`line`). Nothing is held when it raises.
    """
    quantities, positions = _basket(lines)
    products = _active_products(lines)
    store = _pickup_store(channel, fulfillment_method, pickup_location)
    demand = {positions[sku]: {products[sku].pk: units} for sku, units in quantities.items()}
    for attempt in range(PLAN_ATTEMPTS):
        plan = _plan_hold(channel, demand, fulfillment_method, store, destination)
        if plan.short:
            requested = {positions[sku]: (sku, units) for sku, units in quantities.items()}
            raise shortage_error(plan.short, requested, key_name="line")
        try:
            return _checkout_write(
                channel, quantities, plan, actor, destination, fulfillment_method, store
            )
        except InsufficientStock as error:
            # Another hold took the stock between our read and our reservation: re-plan.
            if attempt == PLAN_ATTEMPTS - 1:
                raise _shortage_by_position(error, positions) from None
    raise AssertionError("unreachable")


def _basket(lines: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """Units per SKU, and the position of each SKU's first line in the request."""
    quantities: dict[str, int] = defaultdict(int)
    positions: dict[str, int] = {}
    for position, line in enumerate(lines):
        quantities[line["sku"]] += line["quantity"]
        positions.setdefault(line["sku"], position)
    return dict(quantities), positions


def _active_products(lines: list[dict]) -> dict[str, Product]:
    """The basket's products by SKU; an unknown or inactive SKU is an error on each line
    naming it (by position, `item_errors`)."""
    skus = {line["sku"] for line in lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus, is_active=True)}
    if set(products) != skus:
        errors = [
            {} if line["sku"] in products else {"sku": [f"Unknown SKU '{line['sku']}'."]}
            for line in lines
        ]
        raise OrderValidationError(
            "Unknown SKUs in the basket.", errors={"lines": item_errors(errors)}
        )
    return products


def _pickup_store(channel, fulfillment_method, pickup_location) -> Warehouse | None:
    if fulfillment_method != FulfillmentMethod.PICKUP:
        return None
    store = Warehouse.objects.filter(
        code=pickup_location, pickup_enabled=True, is_active=True, channels=channel
    ).first()
    if store is None:
        raise OrderValidationError(
            "Choose an active pickup store of this channel.",
            errors={"pickup_location": ["Not a pickup store."]},
        )
    return store


def _plan_hold(channel, demand, fulfillment_method, store, destination) -> Plan:
    """Route the basket; refuse a destination none of the channel's locations ships to."""
    is_shipped = fulfillment_method != FulfillmentMethod.PICKUP
    rules = routing_rules_for(channel=channel)
    if is_shipped and not destination:
        # An empty country would be refused by every location limited to some countries.
        rules = replace(rules, check_destination=False)
    plan = plan_allocation(
        channel=channel,
        demand=demand,
        fulfillment_method=fulfillment_method,
        pickup_location=store,
        destination=destination if is_shipped else None,
        rules=rules,
    )
    refusal = destination_refusal(plan, channel, fulfillment_method, destination)
    if refusal is not None:
        raise OrderValidationError(
            refusal.detail, errors={"destination": refusal.errors["shipping_address"]}
        )
    return plan


def _checkout_write(
    channel, quantities, plan, actor, destination, fulfillment_method, store
) -> Checkout:
    expires_at = timezone.now() + timedelta(minutes=channel.checkout_ttl_minutes)
    with transaction.atomic():
        checkout = Checkout.objects.create(
            token=uuid.uuid4(),
            channel=channel,
            expires_at=expires_at,
            lines=[{"sku": sku, "quantity": units} for sku, units in sorted(quantities.items())],
            destination={key: str(value) for key, value in (destination or {}).items()},
            fulfillment_method=fulfillment_method,
            pickup_location=store,
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


def _shortage_by_position(error: InsufficientStock, positions: dict[str, int]):
    return InsufficientStock(
        [
            {
                "sku": item["sku"],
                "line": positions.get(item["sku"]),
                "warehouse": item.get("warehouse"),
                "requested": item["requested"],
                "available": item["available"],
            }
            for item in error.short
        ]
    )


def checkout_complete(*, checkout: Checkout, data: dict, actor: str) -> Order:
    """Create the order from the held stock; completing twice returns the same order.

    The order must be what the checkout holds stock for: per SKU the checkout's units in
    total (over any number of lines), its fulfillment method and pickup store, and for a
    shipped order an address in the country of the checkout's destination (when it named
    one) that the holding locations ship to. It is then checked like any new order
    (`order_create`), including that some location of the channel ships to the address.

    Raises `OrderValidationError` naming the field (nothing written), `CheckoutExpired` after
    the hold ran out, `CheckoutClosed` for a cancelled checkout.
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status == Checkout.Status.COMPLETED and checkout.order_id:
            return checkout.order
        if checkout.status == Checkout.Status.CANCELLED:
            raise CheckoutClosed("This checkout was cancelled.")
        if checkout.status == Checkout.Status.EXPIRED or checkout.expires_at <= timezone.now():
            raise CheckoutExpired("The stock hold expired; start a new checkout.")
        _check_lines_match(checkout, data["lines"])
        _check_fulfillment_matches(checkout, data)
        if checkout.fulfillment_method == FulfillmentMethod.SHIP and data.get("shipping_address"):
            _check_address_served(checkout, data["shipping_address"])
        order = order_create(channel=checkout.channel, data=data, actor=actor, checkout=checkout)
        checkout.status = Checkout.Status.COMPLETED
        checkout.order = order
        checkout.save(update_fields=["status", "order"])
    return order


def _check_lines_match(checkout: Checkout, lines: list[dict]) -> None:
    sent, _positions = _basket(lines)
    held = {line["sku"]: line["quantity"] for line in checkout.lines}
    if sent != held:
        raise OrderValidationError(
            "The order's lines must match the checkout's.",
            errors={"lines": [f"The checkout holds {held}; the order has {sent}."]},
        )


def _check_fulfillment_matches(checkout: Checkout, data: dict) -> None:
    method = data.get("fulfillment_method") or FulfillmentMethod.SHIP
    if method != checkout.fulfillment_method:
        raise OrderValidationError(
            "The order's fulfillment method differs from its checkout's.",
            errors={
                "fulfillment_method": [
                    f"The checkout holds stock for '{checkout.fulfillment_method}'; complete it "
                    "that way or start a new checkout."
                ]
            },
        )
    store = checkout.pickup_location
    if method == FulfillmentMethod.PICKUP and data.get("pickup_location") != store.code:
        raise OrderValidationError(
            "The order's pickup store differs from its checkout's.",
            errors={
                "pickup_location": [
                    f"The checkout holds stock at {store.code}; collect it there or start a "
                    "new checkout."
                ]
            },
        )


def _check_address_served(checkout: Checkout, address: dict) -> None:
    """Refuse an address no location of the channel ships to (as order creation does), one
    in another country than the checkout's destination, or one that a location holding the
    checkout's stock does not ship to; each on `shipping_address.country`."""
    channel = checkout.channel
    plan = plan_allocation(channel=channel, demand=_held_demand(checkout), destination=address)
    refusal = destination_refusal(plan, channel, FulfillmentMethod.SHIP, address)
    if refusal is not None:
        raise refusal
    country = str(address.get("country") or "").upper()
    expected = str(checkout.destination.get("country") or "").upper()
    if expected and country != expected:
        _refuse_country(
            "The order's destination differs from its checkout's.",
            f"The checkout holds stock for delivery to {expected}; ship there or start a new "
            "checkout.",
        )
    holding_ids = set(
        StockReservation.objects.filter(reference=checkout_reference(checkout)).values_list(
            "stock_level__warehouse_id", flat=True
        )
    )
    refusing = sorted(
        report.code
        for report in plan.candidates
        if report.location_id in holding_ids
        and any(reason.startswith(SHIPS_ELSEWHERE) for reason in report.rejected)
    )
    if refusing:
        _refuse_country(
            f"The checkout's stock is held where it cannot ship to {country}.",
            f"The checkout's stock is held at {', '.join(refusing)}, which does not ship to "
            f"{country}; start a new checkout for this address.",
        )


def _held_demand(checkout: Checkout) -> dict:
    quantities = {line["sku"]: line["quantity"] for line in checkout.lines}
    product_ids = dict(Product.objects.filter(sku__in=quantities).values_list("sku", "pk"))
    return {
        position: {product_ids[sku]: units}
        for position, (sku, units) in enumerate(sorted(quantities.items()))
        if sku in product_ids
    }


def _refuse_country(detail: str, message: str) -> NoReturn:
    raise OrderValidationError(detail, errors={"shipping_address": {"country": [message]}})


def checkout_transfer_to_order(*, checkout: Checkout, order: Order) -> int:
    """Re-label the checkout's reservations to the order's lines; return the units moved.

    Lines of one SKU take its held units in line order; a reservation shared by two lines is
    split (the stock level's allocated units do not change, so no movement is written).
    Raises `CheckoutExpired` if the hold was already (partly) released.
    """
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    rows = list(
        StockReservation.objects.select_for_update(of=("self", "stock_level"))
        .filter(reference=checkout_reference(checkout))
        .select_related("stock_level")
        .order_by("stock_level_id")
    )
    held, wanted = defaultdict(int), defaultdict(int)
    for row in rows:
        held[row.stock_level.product_id] += row.quantity
    for line in lines:
        wanted[line.product_id] += line.quantity
    if held != wanted:
        raise CheckoutExpired("Part of the hold was already released; start a new checkout.")
    waiting = {product_id: [] for product_id in wanted}
    for line in lines:
        waiting[line.product_id].append([line.pk, line.quantity])
    allocated = defaultdict(int)
    new_rows = []
    for row in rows:
        pieces = _take(waiting[row.stock_level.product_id], row.quantity)
        (first_line, first_units), *others = pieces
        StockReservation.objects.filter(pk=row.pk).update(
            reference=f"order_line:{first_line}", quantity=first_units, expires_at=None
        )
        new_rows.extend(
            StockReservation(
                stock_level_id=row.stock_level_id, reference=f"order_line:{line_id}", quantity=units
            )
            for line_id, units in others
        )
        for line_id, units in pieces:
            allocated[line_id] += units
    StockReservation.objects.bulk_create(new_rows)
    for line_id, units in allocated.items():
        OrderLine.objects.filter(pk=line_id).update(
            quantity_allocated=F("quantity_allocated") + units
        )
    return sum(held.values())


def _take(waiting: list[list[int]], units: int) -> list[tuple[int, int]]:
    """Hand `units` to the waiting [line id, units still wanted] entries in order."""
    pieces = []
    while units:
        line_id, wanted = waiting[0]
        given = min(wanted, units)
        pieces.append((line_id, given))
        units -= given
        if given == wanted:
            waiting.pop(0)
        else:
            waiting[0][1] = wanted - given
    return pieces


def checkout_cancel(*, checkout: Checkout, actor: str) -> Checkout:
    """Cancel an open checkout and give its held units back; return the checkout.

    Cancelling a cancelled checkout changes nothing and returns it again, so a retried cancel
    succeeds. Raises `CheckoutClosed` for a completed checkout (its units belong to the order
    now: cancel the order instead) and `CheckoutExpired` for an expired one (its units were
    already released).
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status == Checkout.Status.COMPLETED:
            number = checkout.order.number if checkout.order_id else None
            raise CheckoutClosed(
                "This checkout was completed into an order; cancel the order instead.",
                extra={"order_number": number},
            )
        if checkout.status == Checkout.Status.EXPIRED:
            raise CheckoutExpired("The stock hold already expired and was released.")
        if checkout.status == Checkout.Status.OPEN:
            _release(checkout, actor, Checkout.Status.CANCELLED)
    return checkout


def checkout_release(*, checkout: Checkout, actor: str, status: str) -> int:
    """Give an open checkout's held units back and mark it `status` (expired or cancelled);
    return the units released (0, changing nothing, when it is no longer open)."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status != Checkout.Status.OPEN:
            return 0
        return _release(checkout, actor, status)


def _release(checkout: Checkout, actor: str, status: str) -> int:
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
