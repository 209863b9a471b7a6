"""Refund arithmetic. All amounts are Decimal in the order's currency, to the cent.

What units of a line are worth comes from `orders.pricing.units_value`: the line's total
(unit price times quantity minus the line discount) shared out per unit, plus the units'
share of the order-level discount (subtracted) and of the order's tax (added), shares in
proportion to the line's part of the subtotal, rounded half-up to the cent.

Rounding never over- or under-refunds a line over several refunds: the value of a refund's
units is computed *cumulatively*, as the value of all units refunded so far including these
minus the value of the units refunded before. The parts therefore always add up to exactly
`units_value` of every refunded unit, and a line refunded in full returns exactly its share
of the order total (no stray cent from rounding each refund on its own). The tax part of each
line is computed the same way from the line's share of `tax_total`.

A refund for a return adds, on request, the order's shipping not yet refunded, subtracts an
optional restocking fee (at most the goods value), adds a staff adjustment (positive or
negative, with a reason) and subtracts the exchange credit already used to pay a replacement
order. The result must be positive and at most what the customer paid and was not yet
refunded. The refund's tax is the tax in the money refunded: the returned units' tax less the
share the exchange credit took with it to the replacement order (booked there without tax).

A refund of cancelled units has no lines: it pays back (part of) the order's refund due, and
its tax and shipping are what the cancellations owe back of each and earlier cancellation
refunds did not yet give back (`cancellation_refund_quote`), so the refunds together give
back the tax and shipping the sale booked for those units, once.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from oms_project.models import OutboxEvent
from orders import pricing
from orders.models import Order, OrderLine
from orders.pricing import line_units_value
from returns.models import Refund

ZERO = Decimal("0.00")


def units_tax(*, order: Order, line: OrderLine, units: int) -> Decimal:
    """The tax share of `units` of a line (proportional to its part of the subtotal)."""
    if units <= 0 or line.quantity <= 0 or order.subtotal <= 0:
        return ZERO
    goods = line.line_total * units / line.quantity
    return pricing.money(order.tax_total * goods / order.subtotal)


@dataclass
class LineRefund:
    order_line: OrderLine
    quantity: int
    amount: Decimal
    tax_amount: Decimal


@dataclass
class RefundQuote:
    """The computed refund before it is recorded."""

    lines: list[LineRefund] = field(default_factory=list)
    shipping_amount: Decimal = ZERO
    restocking_fee: Decimal = ZERO
    adjustment: Decimal = ZERO
    adjustment_reason: str = ""
    exchange_credit: Decimal = ZERO
    # Goods paid back without lines of their own (a refund of cancelled units settles the
    # order's refund due as a whole), and the tax included in them.
    other_goods_amount: Decimal = ZERO
    other_tax_amount: Decimal = ZERO

    @property
    def goods_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), self.other_goods_amount)

    @property
    def tax_amount(self) -> Decimal:
        """The tax included in the money refunded: the goods' tax less the share the exchange
        credit carries to the replacement order (which books that value without tax)."""
        lines_tax = sum((line.tax_amount for line in self.lines), ZERO)
        return lines_tax + self.other_tax_amount - self.exchange_credit_tax

    @property
    def exchange_credit_tax(self) -> Decimal:
        """The tax of the returned goods that the exchange credit took to the replacement:
        their tax in proportion to the part of their value the credit used."""
        lines_goods = sum((line.amount for line in self.lines), ZERO)
        lines_tax = sum((line.tax_amount for line in self.lines), ZERO)
        if self.exchange_credit <= 0 or lines_goods <= 0:
            return ZERO
        return pricing.money(lines_tax * min(self.exchange_credit, lines_goods) / lines_goods)

    def split_off(self, amount: Decimal) -> "RefundQuote":
        """Take `amount` of this refund off as goods without lines, with their share of its
        tax, and return it as a quote of its own (the part of a refund that goes back to
        another payment method); this quote keeps the lines and refunds `amount` less."""
        tax = pricing.money(self.tax_amount * amount / self.amount) if self.amount > 0 else ZERO
        goods = min(amount, self.goods_amount)
        self.other_goods_amount -= goods
        self.other_tax_amount -= tax
        # Only when shipping or a positive adjustment made the refund exceed its goods.
        self.adjustment -= amount - goods
        return RefundQuote(other_goods_amount=amount, other_tax_amount=tax)

    @property
    def amount(self) -> Decimal:
        return pricing.money(
            self.goods_amount
            + self.shipping_amount
            - self.restocking_fee
            + self.adjustment
            - self.exchange_credit
        )

    def as_dict(self) -> dict:
        return {
            "lines": [
                {
                    "line_id": line.order_line.pk,
                    "sku": line.order_line.sku,
                    "quantity": line.quantity,
                    "amount": str(line.amount),
                    "tax_amount": str(line.tax_amount),
                }
                for line in self.lines
            ],
            "goods_amount": str(self.goods_amount),
            "tax_amount": str(self.tax_amount),
            "shipping_amount": str(self.shipping_amount),
            "restocking_fee": str(self.restocking_fee),
            "adjustment": str(self.adjustment),
            "adjustment_reason": self.adjustment_reason,
            "exchange_credit": str(self.exchange_credit),
            "amount": str(self.amount),
        }


def line_refund(
    *, order: Order, line: OrderLine, units: int, units_refunded_before: int
) -> LineRefund:
    """The value and tax of `units` more units of a line, given how many were refunded."""
    total = units_refunded_before + units
    amount = line_units_value(order=order, line=line, units=total) - line_units_value(
        order=order, line=line, units=units_refunded_before
    )
    tax = units_tax(order=order, line=line, units=total) - units_tax(
        order=order, line=line, units=units_refunded_before
    )
    return LineRefund(
        order_line=line, quantity=units, amount=max(amount, ZERO), tax_amount=max(tax, ZERO)
    )


def cancellation_refund_quote(*, order: Order, amount: Decimal) -> RefundQuote:
    """How a refund of `amount` for cancelled units divides into goods (tax included), the tax
    in them, and shipping.

    Of the tax and shipping the cancellations owe back (`cancelled_parts_owed`), the part not
    yet given back by earlier cancellation refunds goes with this one in proportion to what it
    pays of the refund due (`Order.refund_due`, read before it is settled); a refund of all
    that is due takes the rest, so cancellation refunds paid in steps give back each part
    exactly once, to the cent.
    """
    if order.cancelled_total <= 0 or order.refund_due <= 0:
        return RefundQuote(other_goods_amount=amount)
    before = Refund.objects.filter(order=order, kind=Refund.Kind.CANCELLATION).aggregate(
        amount=Sum("amount"), tax=Sum("tax_amount"), shipping=Sum("shipping_amount")
    )
    # Money to the cent: SQLite sums decimals as floats.
    before = {name: pricing.money(value or ZERO) for name, value in before.items()}
    owed = cancelled_parts_owed(order=order, refunded_before=before["amount"])
    left = {name: max(owed[name] - before[name], ZERO) for name in ("tax", "shipping")}
    if amount < order.refund_due:
        share = amount / order.refund_due
        left = {name: pricing.money(value * share) for name, value in left.items()}
    shipping = min(left["shipping"], amount)
    return RefundQuote(
        shipping_amount=shipping,
        other_goods_amount=amount - shipping,
        other_tax_amount=min(left["tax"], amount - shipping),
    )


def cancelled_parts_owed(*, order: Order, refunded_before: Decimal) -> dict[str, Decimal]:
    """The `tax` and `shipping` that all the order's cancellation refunds give back together.

    Once `order.paid` booked the sale, that is what the sale booked of each part less what the
    units still ordered keep: the cancelled units' share the sale included (a part payment
    they were paid with) and all of what units cancelled after it took off. Before any sale (an
    order cancelled before it was paid in full), the cancelled units' share in proportion to
    the part of `Order.cancelled_total` owed back (`refunded_before` plus the refund due).
    """
    parts = pricing.order_cancelled_parts(order, order.lines.all())
    sale = sale_booked(order=order)
    if sale is None:
        share = min((refunded_before + order.refund_due) / order.cancelled_total, 1)
        return {name: pricing.money(parts[name] * share) for name in ("tax", "shipping")}
    return {
        "tax": max(_money(sale.get("tax_total")) - (order.tax_total - parts["tax"]), ZERO),
        "shipping": max(
            _money(sale.get("shipping_total")) - (order.shipping_total - parts["shipping"]), ZERO
        ),
    }


def sale_booked(*, order: Order) -> dict | None:
    """The `sale` the order's `order.paid` event booked (events written before the `sale` part
    was added carry the order's figures), or None when the order was never paid in full."""
    event = (
        OutboxEvent.objects.filter(topic="order.paid", reference=order.number)
        .order_by("pk")
        .values_list("payload", flat=True)
        .first()
    )
    if not isinstance(event, dict):
        return None
    return event["sale"] if isinstance(event.get("sale"), dict) else event


def _money(value) -> Decimal:
    try:
        return pricing.money(Decimal(str(value or "0")))
    except ArithmeticError:
        return ZERO
