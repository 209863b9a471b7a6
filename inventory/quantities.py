"""The one rule every stock quantity passed to a service obeys."""

from inventory.errors import InvalidQuantity

MAX_QUANTITY = 10**9


def check_quantity(quantity: int, *, allow_zero: bool = False, allow_negative: bool = False):
    """Raise `InvalidQuantity` unless `quantity` is a whole number within the limits."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity("Quantities must be whole numbers.")
    if abs(quantity) > MAX_QUANTITY:
        raise InvalidQuantity(f"Quantities must not exceed {MAX_QUANTITY:,}.")
    if quantity < 0 and not allow_negative:
        raise InvalidQuantity("Quantities must not be negative.")
    if quantity == 0 and not allow_zero:
        raise InvalidQuantity("Quantities must be greater than zero.")
