"""Errors raised by the order services, each with a stable code."""

from oms_project.errors import Conflict, InvalidTransition, NotFound, ValidationFailed

__all__ = [
    "DuplicateOrder",
    "InvalidTransition",
    "OrderNotFound",
    "OrderValidationError",
    "PaymentError",
    "ShipmentReferenceReused",
]


class DuplicateOrder(Conflict):
    """The channel already sent an order with this `channel_order_id`."""

    code = "duplicate_order"
    title = "This channel order already exists"

    def __init__(self, number: str):
        super().__init__(
            f"Order {number} already has this channel_order_id.", extra={"number": number}
        )


class OrderValidationError(ValidationFailed):
    """Input that the serializer could not judge alone (SKUs, totals, locations)."""


class OrderNotFound(NotFound):
    code = "order_not_found"


class PaymentError(ValidationFailed):
    code = "payment_error"
    title = "The payment cannot be recorded"


class ShipmentReferenceReused(Conflict):
    """The order already has a shipment with this reference, holding another parcel."""

    code = "shipment_reference_reused"
    title = "This shipment reference is already used for another shipment"
