"""The order's row lock, as every order service takes it."""

from orders.models import Order


def order_lock(order_id: int) -> Order:
    """Lock the order's row and return it fresh, with its sales channel. Call inside a
    transaction.

    Only the order's row is locked (`of=("self",)`): a plain FOR UPDATE would lock the joined
    channel row too, and every new order of the channel takes a share lock on that row when
    its foreign keys are checked at commit, already holding its stock and customer rows, so
    the two would deadlock.
    """
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order_id)
