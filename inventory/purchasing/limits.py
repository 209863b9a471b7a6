"""What a purchase order may say: amounts, expected dates and the supplier's pack terms.

Each function returns the error messages for a value (empty when it is fine); the services
put them on the right field and raise.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.purchasing.selectors import CENT
from oms_project.currencies import MAX_AMOUNT

# How far ahead an expected date may lie: suppliers' lead times are at most a year, so a date
# beyond two years is a typing mistake, not a plan.
EXPECTED_DATE_HORIZON = timedelta(days=730)


def amount_errors(what: str, amount: Decimal) -> list[str]:
    """`what` ("The line", "The purchase order") may come to at most `MAX_AMOUNT`, the bound
    every amount shares (`oms_project.currencies`)."""
    if amount <= MAX_AMOUNT:
        return []
    return [f"{what} comes to {amount.quantize(CENT)}, over the limit of {MAX_AMOUNT}."]


def expected_date_errors(expected_date: date, *, today: date | None = None) -> list[str]:
    """An expected date is today or later, and at most `EXPECTED_DATE_HORIZON` ahead: a date
    in the past would re-date waiting backorders into the past."""
    today = today or timezone.localdate()
    latest = today + EXPECTED_DATE_HORIZON
    if today <= expected_date <= latest:
        return []
    return [f"Give a date from {today.isoformat()} to {latest.isoformat()}."]


def pack_quantity_errors(
    *, sku: str, quantity: int, pack_size: int, minimum_quantity: int
) -> list[str]:
    """A supplier takes whole packs, and at least its minimum quantity, on a line."""
    pack_size = max(pack_size, 1)
    if quantity % pack_size == 0 and quantity >= minimum_quantity:
        return []
    if pack_size == 1:
        return [f"{sku} is sold from {minimum_quantity} units: order at least that many."]
    first = max(-(-minimum_quantity // pack_size), 1) * pack_size
    allowed = ", ".join(str(first + pack_size * step) for step in range(3))
    return [
        f"{sku} is sold in packs of {pack_size}, at least {minimum_quantity} units: "
        f"order {allowed}, ... units."
    ]
