"""Money every app shares: the ISO 4217 currencies it can be in (orders, payments, supplier
prices), the decimals an amount in each may have, and the most any one amount may be."""

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
# ISO 4217 minor unit 0 (List One; pycountry does not carry minor units): no cents, so an
# amount in one of these is whole (1000 JPY, not 1000.50), or nobody can charge, invoice or
# book it. UYI is a fund code (Uruguayan peso in indexed units).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
        "VND", "VUV", "XAF", "XOF", "XPF",
    }
)
# Every other currency takes two decimals, as amounts are stored with two. That includes those
# whose minor unit is 3 (BHD, IQD, JOD, KWD, LYD, OMR, TND) or 4 (CLF, UYW): their amounts are
# sent and kept to two decimals (0.125 KWD is refused, as any third decimal is).


def currency_amount_errors(currency: str, amounts: dict[str, Decimal | None]) -> dict:
    """Name the amounts ({field: amount}) that `currency` has no such fraction for, as field
    errors: a yen amount with decimals is refused, 1000 or 1000.00 JPY is not. Amounts in other
    currencies pass (their two decimals are checked where they are parsed). Only a set lookup
    for those, as it runs on the hot path of order creation."""
    if currency not in ZERO_DECIMAL_CURRENCIES:
        return {}
    message = f"{currency} has no minor unit: send whole amounts."
    return {
        field: [message]
        for field, amount in amounts.items()
        if amount is not None and amount != amount.to_integral_value()
    }


def currency_code_validator(value: str) -> None:
    """Django validator: `value` is an ISO 4217 currency code in capitals, e.g. USD."""
    if value not in CURRENCY_CODES:
        raise ValidationError(
            "'%(value)s' is not an ISO 4217 currency code in capitals, e.g. USD.",
            code="invalid_currency",
            params={"value": value},
        )
