"""Recurring purchases: subscriptions, their lines, their runs (occurrences) and audit trail.

A subscription places an ordinary order through `orders.services.order_create` on each run.
The schedule arithmetic lives in `orders.subscriptions.schedule`; every write goes through
`orders.subscriptions.services` and `orders.subscriptions.scheduler`.
"""

from django.db import models
from django.db.models import Q

from customers.models import Customer
from inventory.models import Product
from orders.models import MONEY, ZERO, SalesChannel
from warehouses.models import ServiceLevel

__all__ = [
    "IntervalUnit",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionLine",
    "SubscriptionOccurrence",
    "SubscriptionStatus",
]


class IntervalUnit(models.TextChoices):
    DAY = "day", "Days"
    WEEK = "week", "Weeks"
    MONTH = "month", "Months"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed (end date or number of orders reached)"


class Subscription(models.Model):
    """A customer's standing order: what, where, how often, and when the next run is due.

    `next_occurrence_date` is the customer's local date of the next run and `next_run_at` the
    instant it is due (the local time on that date in `time_zone`); both are empty unless the
    subscription is active. `anchor_day` is the day of the month (1-31, clamped to short
    months) for monthly schedules and the ISO weekday (1 = Monday) for weekly ones.

    The subscriber is `customer`: runs are ordered for that profile and e-mails go to its
    current address. `email` only records the address given at sign-up; it is not updated
    when the customer changes theirs, so nothing reads it to reach or identify them.
    """

    class PauseReason(models.TextChoices):
        CUSTOMER = "customer", "Paused by the customer"
        STAFF = "staff", "Paused by staff"
        PAYMENT_FAILED = "payment_failed", "Payment failed"

    channel = models.ForeignKey(
        SalesChannel, on_delete=models.PROTECT, related_name="subscriptions"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    email = models.EmailField()  # as given at sign-up; the current one is `customer.email`
    status = models.CharField(
        max_length=20,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
        editable=False,
    )
    pause_reason = models.CharField(
        max_length=20, choices=PauseReason.choices, blank=True, editable=False
    )
    shipping_address = models.JSONField(default=dict)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_method = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=3, default="USD")
    shipping_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    # The tax as last set and the goods subtotal it was set for: changed quantities scale the
    # tax from these, so changing down and back again gives the same tax (no rounding drift).
    tax_basis_total = models.DecimalField(**MONEY, null=True, blank=True, editable=False)
    tax_basis_subtotal = models.DecimalField(**MONEY, null=True, blank=True, editable=False)
    payment_method = models.CharField(max_length=50)
    payment_reference = models.CharField(
        max_length=100, help_text="The processor's token for the customer's stored payment."
    )
    interval_unit = models.CharField(max_length=10, choices=IntervalUnit.choices)
    interval_count = models.PositiveSmallIntegerField(default=1)
    anchor_day = models.PositiveSmallIntegerField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    local_time = models.TimeField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    max_orders = models.PositiveIntegerField(null=True, blank=True)
    occurrence_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Runs scheduled so far (skipped runs not counted)."
    )
    next_occurrence_date = models.DateField(null=True, blank=True, editable=False)
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_for_date = models.DateField(null=True, blank=True, editable=False)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_count__gte=1), name="subscription_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(anchor_day__isnull=True) | Q(anchor_day__gte=1, anchor_day__lte=31),
                name="subscription_anchor_day_range",
            ),
            models.CheckConstraint(
                condition=Q(max_orders__isnull=True) | Q(max_orders__gte=1),
                name="subscription_max_orders_positive",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="subscription_end_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(status="active")
                | Q(next_run_at__isnull=False, next_occurrence_date__isnull=False),
                name="subscription_active_has_next_run",
            ),
            models.CheckConstraint(
                condition=Q(shipping_total__gte=0) & Q(tax_total__gte=0),
                name="subscription_money_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_run_at"]),
            models.Index(fields=["channel", "status", "next_run_at"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        """Name the subscription with its customer's current e-mail (load `customer` with it)."""
        email = self.customer.email if self.customer_id else self.email
        return f"Subscription {self.pk} ({email})"


class SubscriptionLine(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="subscription_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="subscription_line_price_non_negative"
            ),
            models.UniqueConstraint(
                fields=["subscription", "product"], name="subscription_line_product_unique"
            ),
        ]
        indexes = [models.Index(fields=["product"])]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"


class SubscriptionOccurrence(models.Model):
    """One run of a subscription, unique per local date, so a run never places two orders.

    `attempt_at` is when the scheduler should next work on a pending or retrying run; while a
    worker holds the run it is pushed ahead by a lease, so a crashed worker's run is retried.
    `catch_up_from` is the first missed run date when this run stands in for several runs the
    scheduler missed while it was down.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAYMENT_RETRY = "payment_retry", "Payment failed, will retry"
        PLACED = "placed", "Order placed"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="occurrences"
    )
    occurrence_date = models.DateField()
    scheduled_for = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment_reference = models.CharField(max_length=100, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_detail = models.TextField(blank=True)
    catch_up_from = models.DateField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurrence_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "occurrence_date"],
                name="subscription_occurrence_once_per_date",
            )
        ]
        indexes = [models.Index(fields=["status", "attempt_at"])]

    def __str__(self) -> str:
        return f"{self.subscription_id} on {self.occurrence_date} ({self.status})"


class SubscriptionEvent(models.Model):
    """The audit trail of a subscription: creation, changes, pauses, skips, runs, failures."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=40)
    actor = models.CharField(max_length=150, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subscription", "id"])]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.type}"
