"""Creating orders from channels: validate, upsert the customer, write, pay, allocate."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.services import (
    address_remember,
    customer_record_order,
    customer_upsert,
    normalize_email,
)
from inventory.errors import InsufficientStock
from inventory.models import Product
from oms_project.currencies import MAX_AMOUNT
from oms_project.errors import OmsError, item_errors
from oms_project.outbox import outbox_emit
from oms_project.sql import placeholders
from orders import pricing
from orders.errors import DuplicateOrder, OrderValidationError
from orders.events import order_event_record
from orders.models import FulfillmentMethod, Order, OrderLine, SalesChannel
from orders.notifications import order_email
from orders.payloads import order_paid_payload, order_payload
from orders.services import routing_config
from orders.services.allocation import order_allocate, order_is_paid
from orders.services.lifecycle import order_transition
from orders.services.payments import payment_apply
from orders.states import OrderStatus
from warehouses.models import ServiceLevel, Warehouse


def order_create(
    *, channel: SalesChannel, data: dict, actor: str, checkout=None, with_related: bool = False
) -> Order:
    """Create an order from a channel's validated payload.

    Checks what the serializer cannot (SKUs, pickup store, service level, totals), upserts the
    customer, writes order, lines and payment, then allocates if the order is paid (or the
    channel reserves at creation). Raises `OrderValidationError` (nothing written),
    `DuplicateOrder` for a known `channel_order_id`, and `InsufficientStock` when the channel
    rejects short orders.

    A new order is written by the set-based writer of `orders.services.bulk_creation` (a
    batch of one: a constant, small number of statements, stock reserved last); an order
    taking over a checkout's holds, and any order that writer hands back, goes step by step
    through `order_create_stepwise`.

    `with_related` gives the order its written lines, payments and events as if prefetched
    (to answer with them at once); leave it off when the order is changed afterwards.
    """
    if checkout is not None:
        return order_create_stepwise(channel=channel, data=data, actor=actor, checkout=checkout)
    from orders.services.bulk_creation import orders_create_bulk

    (outcome,) = orders_create_bulk(
        entries=[(channel, data)], actor=actor, with_related=with_related
    )
    if isinstance(outcome, OmsError):
        raise outcome
    return outcome


def order_create_stepwise(*, channel: SalesChannel, data: dict, actor: str, checkout=None) -> Order:
    """`order_create` one service call at a time (the reference the set-based writer matches:
    its errors are the ones callers see for orders that writer does not decide itself)."""
    existing = (
        Order.objects.filter(channel=channel, channel_order_id=data["channel_order_id"])
        .values_list("number", flat=True)
        .first()
    )
    if existing:
        raise DuplicateOrder(existing)
    resolved = order_resolve(
        channel=channel, data=data, lookups=order_lookups_load(entries=[(channel, data)])
    )
    try:
        with transaction.atomic():
            return _write(channel, data, resolved, actor, checkout)
    except IntegrityError:
        existing = (
            Order.objects.filter(channel=channel, channel_order_id=data["channel_order_id"])
            .values_list("number", flat=True)
            .first()
        )
        if existing:
            raise DuplicateOrder(existing)
        raise


@dataclass
class OrderLookups:
    """The rows order payloads refer to, read once for one order or a whole batch."""

    products: dict[str, Product] = field(default_factory=dict)
    service_levels: dict[str, ServiceLevel] = field(default_factory=dict)
    pickups: dict[tuple[int, str], Warehouse] = field(default_factory=dict)


def order_lookups_load(*, entries: list[tuple[SalesChannel, dict]]) -> OrderLookups:
    """Read the products, service levels (kept a few seconds by `routing_config`) and pickup
    stores the payloads name (<= 2 + channels with pickup orders queries)."""
    skus = {line["sku"] for _channel, data in entries for line in data["lines"]}
    lookups = OrderLookups()
    if skus:  # plain SQL: it runs for every order (oms_project.sql)
        lookups.products = {
            product.sku: product
            for product in Product.objects.raw(
                f"SELECT * FROM {Product._meta.db_table} WHERE sku IN ({placeholders(skus)})",
                sorted(skus),
            )
        }
    codes = {data["shipping_method"] for _channel, data in entries if data.get("shipping_method")}
    if codes:
        lookups.service_levels = routing_config.service_levels(codes)
    pickups = defaultdict(set)
    for channel, data in entries:
        if data.get("fulfillment_method") == FulfillmentMethod.PICKUP and data.get(
            "pickup_location"
        ):
            pickups[channel].add(data["pickup_location"])
    for channel, pickup_codes in pickups.items():
        for warehouse in Warehouse.objects.filter(
            code__in=pickup_codes, pickup_enabled=True, is_active=True, channels=channel
        ):
            lookups.pickups[(channel.pk, warehouse.code)] = warehouse
    return lookups


def order_resolve(*, channel: SalesChannel, data: dict, lookups: OrderLookups) -> dict:
    """Check what the serializer cannot (SKUs, pickup store, service level, totals).

    Returns the products, pickup store, service level, subtotal and total; raises
    `OrderValidationError` with every field error.
    """
    errors: dict = {}
    products = lookups.products
    line_errors = []
    for line in data["lines"]:
        product = products.get(line["sku"])
        value = line["unit_price"] * line["quantity"]
        if product is None:
            line_errors.append({"sku": [f"Unknown SKU '{line['sku']}'."]})
        elif not product.is_active:
            line_errors.append({"sku": [f"SKU '{line['sku']}' is not for sale."]})
        elif line.get("discount", 0) > value:
            line_errors.append({"discount": ["Discount exceeds the line's value."]})
        elif value - line.get("discount", 0) > MAX_AMOUNT:
            line_errors.append({"quantity": [_over_limit("The line", value)]})
        else:
            line_errors.append({})
    if any(line_errors):
        errors["lines"] = item_errors(line_errors)
    pickup = None
    if data.get("fulfillment_method") == FulfillmentMethod.PICKUP:
        code = data.get("pickup_location")
        pickup = lookups.pickups.get((channel.pk, code)) if code else None
        if pickup is None:
            errors["pickup_location"] = [
                "Give the code of an active pickup store of this channel."
                if code
                else "A pickup order needs a pickup_location."
            ]
    elif data.get("pickup_location"):
        errors["pickup_location"] = ["Only pickup orders take a pickup_location."]
    elif not data.get("shipping_address"):
        errors["shipping_address"] = ["A shipped order needs a shipping address."]
    service_level = None
    if data.get("shipping_method"):
        service_level = lookups.service_levels.get(data["shipping_method"])
        if service_level is None:
            errors["shipping_method"] = [f"Unknown shipping method '{data['shipping_method']}'."]
    totals = order_totals(data)
    payment = data.get("payment")
    if "lines" in errors:
        pass  # the totals of lines in error say nothing more
    elif totals["total"] < 0:
        errors["discount_total"] = ["The discounts exceed the order's value."]
    elif max(totals.values()) > MAX_AMOUNT:
        errors["total"] = [_over_limit("The order", max(totals.values()))]
    elif payment and payment["amount"] > totals["total"]:
        errors["payment"] = {
            "amount": [
                f"The payment ({payment['amount']}) exceeds the order total ({totals['total']})."
            ]
        }
    if payment and payment.get("currency", data["currency"]) != data["currency"]:
        errors["payment"] = {"currency": ["The payment currency differs from the order's."]}
    if errors:
        raise OrderValidationError("The order has invalid fields.", errors=errors)
    products = {line["sku"]: products[line["sku"]] for line in data["lines"]}
    return {"products": products, "pickup": pickup, "service_level": service_level, **totals}


def _over_limit(what: str, amount) -> str:
    return f"{what} comes to {pricing.money(amount)}, over the limit of {MAX_AMOUNT}."


def order_totals(data: dict) -> dict:
    subtotal = sum(
        (
            pricing.line_total(
                unit_price=line["unit_price"],
                quantity=line["quantity"],
                discount=line.get("discount", Decimal("0")),
            )
            for line in data["lines"]
        ),
        Decimal("0.00"),
    )
    total = pricing.order_total(
        subtotal=subtotal,
        discount_total=data.get("discount_total", Decimal("0")),
        shipping_total=data.get("shipping_total", Decimal("0")),
        tax_total=data.get("tax_total", Decimal("0")),
    )
    return {"subtotal": pricing.money(subtotal), "total": total}


def _write(channel: SalesChannel, data: dict, resolved: dict, actor: str, checkout) -> Order:
    customer_data = data["customer"]
    customer = customer_upsert(
        channel_code=channel.code,
        email=customer_data["email"],
        external_id=customer_data.get("channel_customer_id") or None,
        profile={
            field: customer_data.get(field, "") for field in ("first_name", "last_name", "phone")
        },
    )
    if data.get("shipping_address"):
        address_remember(customer=customer, data=data["shipping_address"], shipping=True)
    if data.get("billing_address"):
        address_remember(customer=customer, data=data["billing_address"], billing=True)
    payment = data.get("payment")
    order = Order.objects.create(
        number=f"tmp-{uuid.uuid4().hex[:27]}",
        channel=channel,
        channel_order_id=data["channel_order_id"],
        customer=customer,
        email=normalize_email(customer_data["email"]),
        fulfillment_method=data.get("fulfillment_method", FulfillmentMethod.SHIP),
        pickup_location=resolved["pickup"],
        shipping_method=resolved["service_level"],
        currency=data["currency"],
        subtotal=resolved["subtotal"],
        discount_total=data.get("discount_total", Decimal("0")),
        shipping_total=data.get("shipping_total", Decimal("0")),
        tax_total=data.get("tax_total", Decimal("0")),
        total=resolved["total"],
        payment_method=payment["method"] if payment else "",
        shipping_address=address_snapshot(data.get("shipping_address")),
        billing_address=address_snapshot(data.get("billing_address")),
        attributes=data.get("attributes") or {},
        notify_customer=data.get("notify_customer", True),
        placed_at=data.get("placed_at") or timezone.now(),
    )
    order.number = f"{channel.order_number_prefix}{100000 + order.pk}"
    Order.objects.filter(pk=order.pk).update(number=order.number)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=resolved["products"][line["sku"]],
                sku=line["sku"],
                name=resolved["products"][line["sku"]].name,
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line.get("discount", Decimal("0")),
                line_total=pricing.line_total(
                    unit_price=line["unit_price"],
                    quantity=line["quantity"],
                    discount=line.get("discount", Decimal("0")),
                ),
            )
            for line in data["lines"]
        ]
    )
    order_event_record(
        order=order,
        type="created",
        actor=actor,
        to_status=OrderStatus.CREATED,
        message=f"Order received from {channel.name}.",
    )
    customer_record_order(
        customer=customer,
        total=order.total,
        placed_at=order.placed_at,
        shipping_method=data.get("shipping_method") or "",
        payment_method=payment["method"] if payment else "",
    )
    if payment:
        payment_apply(
            order=order,
            method=payment["method"],
            amount=payment["amount"],
            status=payment["status"],
            reference=payment.get("reference", ""),
            actor=actor,
            allocate=False,
        )
    if checkout is not None:
        from orders.services.checkouts import checkout_transfer_to_order

        units = checkout_transfer_to_order(checkout=checkout, order=order)
        order_event_record(
            order=order,
            type="allocated",
            actor=actor,
            message=f"{units} unit(s) taken over from checkout {checkout.token}.",
        )
    order.refresh_from_db()
    # What needs no stock happens first: stock rows stay locked from their reservation to the
    # commit. Only the confirmation follows the reservation, as it says which items wait for
    # stock.
    outbox_emit(topic="order.created", payload=order_payload(order), reference=order.number)
    _allocate_new(order, actor)
    order_email(order=order, template="order_confirmation")
    if order_is_paid(order):
        outbox_emit(topic="order.paid", payload=order_paid_payload(order), reference=order.number)
    return order


def _allocate_new(order: Order, actor: str) -> None:
    if order_is_paid(order):
        try:
            result = order_allocate(order=order, actor=actor, refuse_unserved=True)
        except InsufficientStock as error:
            raise _shortage_by_position(order, error) from None
        target = OrderStatus.BACKORDERED if result["short"] else OrderStatus.PROCESSING
        order_transition(
            order=order,
            to_status=target,
            actor=actor,
            reason="Paid" + (" with units on backorder" if result["short"] else ""),
        )
    elif order.channel.reserve_on_create:
        order_allocate(order=order, actor=actor, allow_backorder=True, refuse_unserved=True)


def _shortage_by_position(order: Order, error: InsufficientStock) -> InsufficientStock:
    """The refusal of an order that is not kept names its lines by their position in the
    request (`line`): the routing refusal names line ids; a reservation that lost a race to
    another order names the SKU and warehouse, and is given the SKU's first line."""
    lines = list(order.lines.order_by("pk").values_list("pk", "sku"))
    position = {pk: index for index, (pk, _sku) in enumerate(lines)}
    first_with_sku: dict[str, int] = {}
    for index, (_pk, sku) in enumerate(lines):
        first_with_sku.setdefault(sku, index)
    return InsufficientStock(
        [
            {
                "sku": item["sku"],
                "line": position[item["line_id"]]
                if "line_id" in item
                else first_with_sku.get(item["sku"]),
                "warehouse": item.get("warehouse"),
                "requested": item["requested"],
                "available": item["available"],
            }
            for item in error.short
        ]
    )


def address_snapshot(address: dict | None) -> dict:
    if not address:
        return {}
    return {key: (str(value) if value is not None else None) for key, value in address.items()}
