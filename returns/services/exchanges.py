"""Exchanges: replacement items become a new order, paid first from the returned value.

Pricing at the difference: when the return is received, the value of the units that came
back (resellable or damaged, with their share of discount and tax, computed as for a refund)
becomes an *exchange credit*, used up to the replacement order's total. The replacement order
is created through `orders.services.order_create` for the same customer and addresses, with
`channel_order_id` `<RMA>-X`, the requested items at their given unit prices (a returned
SKU defaults to what was paid per unit, so a like-for-like swap is even), no shipping and
no tax, and a captured payment of method `exchange_credit` (reference the RMA) for the credit
used. If the replacement costs more, the order waits in `created` (awaiting payment) until the
customer pays the difference like any other order payment; once paid it is routed and
allocated like any order. If it costs less, the rest of the returned value is refunded: the
return's refund subtracts the credit used (`Refund.exchange_credit`). The credit used leaves
the returned order's share of the customer's lifetime value: the replacement order counts it.
"""

from decimal import Decimal

from django.db import transaction

from orders import pricing
from orders.refund_methods import EXCHANGE_CREDIT
from orders.services import order_create
from orders.services.returns_bookkeeping import order_return_event_record
from returns import selectors
from returns.events import return_event_record
from returns.models import ReturnRequest
from returns.refund_pricing import line_refund
from returns.services.refunds import order_lifetime_value_reduce

ZERO = Decimal("0.00")


def returned_value(*, return_request: ReturnRequest) -> Decimal:
    """The value of the units of a received return that came back (resellable or damaged)."""
    order = return_request.order
    valued_before = selectors.units_valued_before(order=order)
    value = ZERO
    for line in return_request.lines.select_related("order_line"):
        if line.quantity_received:
            value += line_refund(
                order=order,
                line=line.order_line,
                units=line.quantity_received,
                units_refunded_before=valued_before.get(line.order_line_id, 0),
            ).amount
    return value


def exchange_order_create(*, return_request: ReturnRequest, actor: str):
    """Create the replacement order of a received return and link it; None if nothing came
    back (an exchange is only shipped against returned units).

    Raises what `order_create` raises (e.g. `InsufficientStock` for a channel that rejects
    short orders); the caller's transaction then writes nothing.
    """
    order = return_request.order
    items = list(return_request.exchange_items.select_related("product"))
    value = returned_value(return_request=return_request)
    if not items or value <= 0:
        return_event_record(
            return_request=return_request,
            type="exchange_skipped",
            actor=actor,
            message="No units came back; no replacement order was created.",
        )
        return None
    replacement_total = pricing.money(
        sum((item.unit_price * item.quantity for item in items), ZERO)
    )
    credit = min(value, replacement_total)
    data = {
        "channel_order_id": f"{return_request.number}-X",
        "customer": {
            "email": order.email,
            "first_name": order.customer.first_name,
            "last_name": order.customer.last_name,
        },
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "fulfillment_method": order.fulfillment_method,
        "pickup_location": order.pickup_location.code if order.pickup_location_id else "",
        "shipping_method": order.shipping_method.code if order.shipping_method_id else "",
        "currency": order.currency,
        "lines": [
            {"sku": item.product.sku, "quantity": item.quantity, "unit_price": item.unit_price}
            for item in items
        ],
        "attributes": {
            "exchange_for_return": return_request.number,
            "original_order": order.number,
        },
        "notify_customer": order.notify_customer,
    }
    if credit > 0:
        data["payment"] = {
            "method": EXCHANGE_CREDIT,
            "amount": credit,
            "status": "captured",
            "reference": return_request.number,
        }
    with transaction.atomic():
        exchange = order_create(channel=order.channel, data=data, actor=actor)
        order_lifetime_value_reduce(order=order, amount=credit)
        ReturnRequest.objects.filter(pk=return_request.pk).update(
            exchange_order=exchange, exchange_credit=credit
        )
        return_request.exchange_order = exchange
        return_request.exchange_credit = credit
        message = (
            f"Replacement order {exchange.number} created ({replacement_total} "
            f"{order.currency}); {credit} paid from the returned value"
        )
        if replacement_total > credit:
            message += f", {replacement_total - credit} to be paid by the customer"
        return_event_record(
            return_request=return_request,
            type="exchange_created",
            actor=actor,
            message=message,
            data={"order": exchange.number, "credit": str(credit)},
        )
        order_return_event_record(
            order=order,
            type="exchange_created",
            actor=actor,
            message=message,
            data={"return": return_request.number, "exchange_order": exchange.number},
        )
    return exchange


def _address(snapshot: dict) -> dict | None:
    if not snapshot:
        return None
    return {key: value for key, value in snapshot.items() if value not in (None, "")}
