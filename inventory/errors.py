"""Errors raised by the inventory services."""

from oms_project.errors import Conflict, OmsError, ValidationFailed


class InsufficientStock(OmsError):
    """Not enough available stock; `short` lists every short line."""

    code = "insufficient_stock"
    status = 409
    title = "Insufficient stock"

    def __init__(self, short: list[dict]):
        self.short = short
        skus = ", ".join(f"{item['sku']}@{item['warehouse']}" for item in short[:20])
        super().__init__(f"Not enough stock for: {skus}.", errors=short)


class StockChanged(Conflict):
    """A `set` carried an `expected_on_hand` that no longer matches."""

    code = "stock_changed"
    title = "Stock changed since it was read"


class BelowAllocated(ValidationFailed):
    code = "below_allocated"
    title = "On hand cannot fall below allocated units"


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"
    title = "Invalid quantity"
