"""Money arithmetic for orders. All amounts are Decimal, rounded half-up to the cent."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models.functions import Round

CENT = Decimal("0.01")


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money_expression(expression) -> Round:
    """Round money arithmetic done by the database (`F("refund_due") + amount` in an UPDATE)
    to the cent. SQLite adds and subtracts decimals in floating point (1.38 + 1.59 =
    2.9699999999999998), so the stored value would fall short of 2.97 in later comparisons;
    PostgreSQL computes exactly, and rounding an exact sum of cents changes nothing there."""
    return Round(expression, 2)


def line_total(*, unit_price: Decimal, quantity: int, discount: Decimal) -> Decimal:
    return money(unit_price * quantity - discount)


def order_total(
    *, subtotal: Decimal, discount_total: Decimal, shipping_total: Decimal, tax_total: Decimal
) -> Decimal:
    return money(subtotal - discount_total + shipping_total + tax_total)


def units_value(
    *,
    line_total_amount: Decimal,
    quantity: int,
    units: int,
    subtotal: Decimal,
    order_discount: Decimal,
    tax_total: Decimal,
) -> Decimal:
    """What `units` of a line are worth, with their share of order discount and tax.

    The share is proportional to the line's part of the subtotal; each step rounds half-up
    to the cent, so the shares of all units of an order can differ from the totals by at
    most a cent per line.
    """
    if quantity <= 0 or units <= 0:
        return Decimal("0.00")
    goods = line_total_amount * units / quantity
    if subtotal > 0:
        share = goods / subtotal
        goods = goods - order_discount * share + tax_total * share
    return max(money(goods), Decimal("0.00"))


def balance_due(*, total: Decimal, cancelled_total: Decimal, paid_total: Decimal) -> Decimal:
    """What the customer still owes: the order's total less what cancellations took off and
    what was captured (never below zero)."""
    return max(total - cancelled_total - paid_total, Decimal("0.00"))


def cancellation_refund(
    *,
    total: Decimal,
    cancelled_total: Decimal,
    paid_total: Decimal,
    cancelling: Decimal,
    refundable: Decimal | None = None,
) -> Decimal:
    """What cancelling units worth `cancelling` owes the customer back: the part of the
    payments that the order, worth less now, no longer covers (nothing while the payments
    fall short of what is left to pay for), at most `refundable`, the money the order still
    holds and does not owe back yet (what was paid less every refund, goodwill included, the
    exchange credit its returns moved out and the refund due: `returns.selectors.
    order_refundable`), so money that already went back is never owed back again; None
    caps nothing (an order no money went back from and that owes nothing back)."""

    def overpaid(worth: Decimal) -> Decimal:
        return max(paid_total - max(worth, Decimal("0.00")), Decimal("0.00"))

    worth = total - cancelled_total
    refund = money(overpaid(worth - cancelling) - overpaid(worth))
    if refundable is not None:
        refund = min(refund, max(money(refundable), Decimal("0.00")))
    return refund


def line_units_value(*, order, line, units: int) -> Decimal:
    """What `units` of an order line are worth together (`units_value` with the order's
    subtotal, discount and tax). Valued cumulatively (all units so far, less those before),
    a line taken in several steps comes to exactly what it would at once."""
    return units_value(
        line_total_amount=line.line_total,
        quantity=line.quantity,
        units=units,
        subtotal=order.subtotal,
        order_discount=order.discount_total,
        tax_total=order.tax_total,
    )


def order_cancelled_parts(order, lines) -> dict[str, Decimal]:
    """`cancelled_parts` of an order and its lines (each with its `quantity_cancelled`)."""
    return cancelled_parts(
        lines=[(line.line_total, line.quantity, line.quantity_cancelled) for line in lines],
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        shipping_total=order.shipping_total,
        tax_total=order.tax_total,
    )


def cancelled_parts(
    *,
    lines,
    subtotal: Decimal,
    discount_total: Decimal,
    shipping_total: Decimal,
    tax_total: Decimal,
) -> dict[str, Decimal]:
    """What an order's cancelled units took off it, by part: their share of the order's
    `tax`, `discount` and (once every unit is cancelled) `shipping`, with the shares
    `units_value` gives them (in proportion to each line's part of the subtotal, all cancelled
    units of a line together). `lines` are (line total, quantity, units cancelled)."""
    lines = list(lines)
    if lines and all(cancelled >= quantity for _total, quantity, cancelled in lines):
        return {"tax": tax_total, "discount": discount_total, "shipping": shipping_total}
    tax = discount = Decimal("0.00")
    for line_total_amount, quantity, cancelled in lines:
        if cancelled and quantity > 0 and subtotal > 0:
            share = line_total_amount * cancelled / quantity / subtotal
            tax += money(tax_total * share)
            discount += money(discount_total * share)
    return {"tax": tax, "discount": discount, "shipping": Decimal("0.00")}
