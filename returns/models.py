"""Return requests (RMAs), their lines and replacement items, their timeline, and refunds.

A `ReturnRequest` names shipped units of one order that the customer sends back. Receiving
records, per line, how many units came back resellable (restocked at a location), damaged
(kept out of sellable stock: no ledger row, counted here only) or missing. A `Refund` returns
money for a return, for units cancelled before shipment, or as goodwill; its `RefundLine`s
say which units it paid for, so later refunds never pay for the same units twice.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from inventory.models import Product
from oms_project.models import TimelineEvent
from orders.models import Order, OrderLine, SalesChannel
from returns.states import ReturnStatus
from warehouses.models import Warehouse

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    DEFECTIVE = "defective", "Defective"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    SIZE_OR_FIT = "size_or_fit", "Size or fit"
    NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
    ARRIVED_LATE = "arrived_late", "Arrived too late"
    OTHER = "other", "Other"


class ItemCondition(models.TextChoices):
    RESELLABLE = "resellable", "Resellable (restock)"
    DAMAGED = "damaged", "Damaged (not sellable)"
    MISSING = "missing", "Missing (not received)"


class ReturnRequest(models.Model):
    """An RMA: which units of an order come back, why, and where the return stands."""

    number = models.CharField("RMA number", max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="return_requests")
    channel = models.ForeignKey(
        SalesChannel, on_delete=models.PROTECT, related_name="return_requests"
    )
    status = models.CharField(
        max_length=20,
        choices=ReturnStatus.choices,
        default=ReturnStatus.REQUESTED,
        editable=False,
    )
    customer_note = models.TextField(blank=True)
    window_override_reason = models.CharField(
        max_length=255,
        blank=True,
        help_text="Why staff accepted this return outside the channel's return window.",
    )
    rejection_reason = models.CharField(max_length=255, blank=True, editable=False)
    return_carrier = models.CharField(max_length=100, blank=True)
    return_tracking_number = models.CharField(max_length=100, blank=True)
    return_label_url = models.URLField(max_length=500, blank=True)
    exchange_order = models.OneToOneField(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchange_for_return",
        editable=False,
    )
    exchange_credit = models.DecimalField(**MONEY, default=ZERO, editable=False)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "return"
        constraints = [
            models.CheckConstraint(
                condition=Q(exchange_credit__gte=0), name="return_exchange_credit_non_negative"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["channel", "status", "created_at"]),
            models.Index(fields=["created_at", "id"]),
        ]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    """Units of one order line coming back, and what arrived in which condition."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="return_lines"
    )
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=30, choices=ReturnReason.choices)
    note = models.CharField(max_length=255, blank=True)
    quantity_resellable = models.PositiveIntegerField(default=0, editable=False)
    quantity_damaged = models.PositiveIntegerField(default=0, editable=False)
    quantity_missing = models.PositiveIntegerField(default=0, editable=False)
    restock_location = models.ForeignKey(
        Warehouse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_restocks",
        editable=False,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_resellable")
                    + F("quantity_damaged")
                    + F("quantity_missing")
                ),
                name="return_line_received_within_quantity",
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="return_line_once_per_order_line"
            ),
        ]
        indexes = [models.Index(fields=["reason"])]

    def __str__(self) -> str:
        return f"{self.order_line_id} x {self.quantity}"

    @property
    def quantity_received(self) -> int:
        """Units that physically came back (resellable or damaged)."""
        return self.quantity_resellable + self.quantity_damaged


class ReturnExchangeItem(models.Model):
    """A replacement the customer asked for instead of (part of) the money."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="exchange_items"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="exchange_item_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="exchange_item_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"


class ReturnEvent(TimelineEvent):
    """The return's timeline: every transition, receipt, refund and note."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="events"
    )

    class Meta(TimelineEvent.Meta):
        indexes = [models.Index(fields=["return_request", "id"])]


class Refund(models.Model):
    """Money returned to the customer: for a return, for cancelled units, or as goodwill.

    `amount = goods_amount + shipping_amount - restocking_fee + adjustment - exchange_credit`,
    where `goods_amount` includes the units' share of order discount and `tax_amount` (see
    `returns.refund_pricing`).
    """

    class Kind(models.TextChoices):
        RETURN = "return", "Return"
        CANCELLATION = "cancellation", "Cancelled units"
        GOODWILL = "goodwill", "Goodwill"

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        ReturnRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    goods_amount = models.DecimalField(**MONEY, default=ZERO)
    tax_amount = models.DecimalField(**MONEY, default=ZERO)
    shipping_amount = models.DecimalField(**MONEY, default=ZERO)
    restocking_fee = models.DecimalField(**MONEY, default=ZERO)
    adjustment = models.DecimalField(**MONEY, default=ZERO)
    adjustment_reason = models.CharField(max_length=255, blank=True)
    exchange_credit = models.DecimalField(**MONEY, default=ZERO)
    method = models.CharField(max_length=50)
    processor_reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(goods_amount__gte=0)
                & Q(tax_amount__gte=0)
                & Q(shipping_amount__gte=0)
                & Q(restocking_fee__gte=0)
                & Q(exchange_credit__gte=0),
                name="refund_parts_non_negative",
            ),
            models.UniqueConstraint(
                fields=["order", "processor_reference"],
                condition=~Q(processor_reference=""),
                name="refund_processor_reference_unique",
            ),
            # A return is refunded once, in one refund per way its order was paid (a
            # replacement paid by exchange credit and card: one of each); refunding it twice
            # is refused by the database too.
            models.UniqueConstraint(
                fields=["return_request", "method"],
                condition=Q(return_request__isnull=False),
                name="refund_once_per_return_and_method",
            ),
        ]
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return self.number


class RefundLine(models.Model):
    """Units of an order line a refund paid for, with their value (tax included)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="refund_lines"
    )
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_positive"),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(tax_amount__gte=0),
                name="refund_line_money_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} x {self.quantity}"
