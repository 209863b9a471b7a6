"""Errors raised by the customer services."""

from oms_project.errors import Conflict


class DuplicateCustomer(Conflict):
    code = "duplicate_customer"
    title = "A customer with this e-mail already exists"


class CustomerHasOrders(Conflict):
    code = "customer_has_orders"
    title = "This customer has orders and cannot be deleted"


class CustomerHasSubscriptions(Conflict):
    code = "customer_has_subscriptions"
    title = "This customer has active subscriptions and cannot be deleted"
