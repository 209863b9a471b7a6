"""Every write to returns and refunds (re-exported from the concern modules)."""

from returns.services.exchanges import exchange_order_create
from returns.services.receiving import return_receive
from returns.services.refunds import order_refund, refund_quote, return_refund
from returns.services.requests import (
    return_approve,
    return_cancel,
    return_closable,
    return_close,
    return_create,
    return_reject,
    return_transition,
)

__all__ = [
    "exchange_order_create",
    "order_refund",
    "refund_quote",
    "return_approve",
    "return_cancel",
    "return_close",
    "return_closable",
    "return_create",
    "return_receive",
    "return_refund",
    "return_reject",
    "return_transition",
]
