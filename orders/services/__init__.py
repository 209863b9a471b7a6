"""Every write to orders, channels and API keys (re-exported from the concern modules)."""

from orders.services.addresses import order_shipping_address_change
from orders.services.allocation import order_allocate
from orders.services.api_keys import KNOWN_SCOPES, api_key_create, api_key_revoke
from orders.services.bulk_creation import orders_create_bulk
from orders.services.cancellation import order_cancel
from orders.services.creation import order_create
from orders.services.lifecycle import order_hold, order_release_hold, order_transition
from orders.services.payments import payment_apply
from orders.services.shipments import shipment_create
from orders.services.tracking import shipment_mark_delivered

__all__ = [
    "order_shipping_address_change",
    "KNOWN_SCOPES",
    "api_key_create",
    "api_key_revoke",
    "order_allocate",
    "order_cancel",
    "order_create",
    "order_hold",
    "order_release_hold",
    "order_transition",
    "orders_create_bulk",
    "payment_apply",
    "shipment_create",
    "shipment_mark_delivered",
]
