"""Money every app shares: the ISO 4217 currencies it can be in (orders, payments, supplier
prices) and the most any one amount may be."""

from decimal import Decimal

import pycountry
from django.core.exceptions import ValidationError

# ISO 4217 codes that are units of account rather than money an order is paid in: precious
# metals, bond-market units, special drawing rights, and the testing and "no currency" codes.
NOT_MONEY = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)
# The most any one amount may be: a price, a line, an order's or a purchase order's total.
# Stored amounts have room for many such amounts (customers' lifetime totals).
MAX_AMOUNT = Decimal("9999999999.99")
CURRENCY_CODES = frozenset(currency.alpha_3 for currency in pycountry.currencies) - NOT_MONEY


def currency_code_validator(value: str) -> None:
    """Django validator: `value` is an ISO 4217 currency code in capitals, e.g. USD."""
    if value not in CURRENCY_CODES:
        raise ValidationError(
            "'%(value)s' is not an ISO 4217 currency code in capitals, e.g. USD.",
            code="invalid_currency",
            params={"value": value},
        )
