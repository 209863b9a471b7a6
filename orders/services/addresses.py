"""Changing where an order ships, before any of it leaves."""

from django.db import transaction

from customers.services import address_remember
from oms_project.errors import InvalidTransition
from oms_project.outbox import outbox_emit
from orders.errors import OrderValidationError
from orders.events import order_event_record
from orders.fulfillment_states import ACTIVE_FULFILLMENT_STATUSES, FulfillmentStatus
from orders.models import FulfillmentMethod, FulfillmentOrder, Order
from orders.states import OrderStatus

# A shipped order's address may change in these states; later, units are on their way.
CHANGEABLE = frozenset(
    {OrderStatus.CREATED, OrderStatus.ON_HOLD, OrderStatus.PROCESSING, OrderStatus.BACKORDERED}
)


class AddressChangeRefused(InvalidTransition):
    code = "address_change_refused"
    title = "The shipping address cannot change now"


def order_shipping_address_change(
    *, order: Order, address: dict, actor: str, reason: str = ""
) -> Order:
    """Send a shipped order to `address` (validated fields, as order creation takes them).

    Allowed while no unit has shipped: the order ships (not pickup) and is created, on hold,
    processing or backordered. Every location holding units of the order must ship to the new
    country, and a still unallocated order needs a location of its channel that does; else
    `AddressChangeRefused` (409) or `OrderValidationError` (400, on `country`) and nothing
    changes: re-route first, or keep the address. The same address again changes nothing.

    Records an `order_address_changed` event with both addresses (and one per packed
    fulfillment order, whose parcel needs a new label), adds the address to the customer's
    book, emits `order.address_changed` and e-mails the customer the new address.
    """
    from orders.notifications import order_email
    from orders.payloads import order_payload
    from orders.services.creation import address_snapshot

    new = address_snapshot(address)
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("channel", "customer")
            .get(pk=order.pk)
        )
        _check_changeable(order)
        old = order.shipping_address or {}
        if _same(old, new):
            return order
        country = (new.get("country") or "").upper()
        holding = list(
            FulfillmentOrder.objects.filter(
                order=order, status__in=ACTIVE_FULFILLMENT_STATUSES
            ).select_related("warehouse")
        )
        _check_served(order, holding, country)
        order.shipping_address = new
        order.save(update_fields=["shipping_address", "updated_at"])
        order_event_record(
            order=order,
            type="address_changed",
            actor=actor,
            message=reason or "Shipping address changed",
            data={"from": old, "to": new},
        )
        for packed in (item for item in holding if item.status == FulfillmentStatus.PACKED):
            order_event_record(
                order=order,
                type="address_changed",
                actor=actor,
                message=f"FO-{packed.pk} is packed: print a new label for the new address.",
                data={"fulfillment_order": packed.pk},
            )
        if order.customer_id:
            address_remember(customer=order.customer, data=new, shipping=True)
        outbox_emit(
            topic="order.address_changed",
            payload={**order_payload(order), "previous_shipping_address": old},
            reference=order.number,
        )
        order_email(order=order, template="order_address_changed", extra={"previous": old})
    return order


def address_may_change(order: Order) -> bool:
    """Whether the order's shipping address may change now (see `_check_changeable`)."""
    return (
        order.fulfillment_method != FulfillmentMethod.PICKUP
        and order.status in CHANGEABLE
        and not _has_shipped(order)
    )


def _has_shipped(order: Order) -> bool:
    # A held order may be partly shipped: the hold does not say what came before it.
    return order.lines.filter(quantity_shipped__gt=0).exists()


def _check_changeable(order: Order) -> None:
    if order.fulfillment_method == FulfillmentMethod.PICKUP:
        raise AddressChangeRefused(
            f"Order {order.number} is collected in store; it has no shipping address to change."
        )
    if order.status not in CHANGEABLE or _has_shipped(order):
        raise AddressChangeRefused(
            f"Order {order.number} is {order.get_status_display().lower()}; its address can "
            "change only before any unit ships.",
            extra={"order_status": order.status},
        )


def _check_served(order: Order, holding: list[FulfillmentOrder], country: str) -> None:
    refusing = sorted(
        {
            item.warehouse.code
            for item in holding
            if item.warehouse.ships_to_countries
            and country not in {code.upper() for code in item.warehouse.ships_to_countries}
        }
    )
    if refusing:
        raise AddressChangeRefused(
            f"{', '.join(refusing)} hold(s) units of order {order.number} and do(es) not ship "
            f"to {country}; re-route the fulfillment orders first.",
            errors={"country": [f"{', '.join(refusing)} do(es) not ship to {country}."]},
            extra={"locations": refusing},
        )
    if holding:
        return
    locations = order.channel.warehouses.filter(is_active=True, can_ship=True).only(
        "ships_to_countries"
    )
    if not any(
        not location.ships_to_countries
        or country in {code.upper() for code in location.ships_to_countries}
        for location in locations
    ):
        raise OrderValidationError(
            f"No location of channel {order.channel.code} ships to {country}.",
            errors={"country": [f"No location ships to {country}."]},
        )


def _same(old: dict, new: dict) -> bool:
    keys = set(old) | set(new)
    return all((old.get(key) or "") == (new.get(key) or "") for key in keys)
