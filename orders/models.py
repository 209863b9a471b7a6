"""Sales channels, API keys, orders and everything recorded about them."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from customers.models import Customer
from inventory.models import Product
from oms_project.models import TimelineEvent
from orders.states import OrderStatus
from warehouses.models import ServiceLevel, Warehouse, code_validator

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class SalesChannel(models.Model):
    """Where orders come from: a web shop, a marketplace, stores, wholesale."""

    class ShortagePolicy(models.TextChoices):
        REJECT = "reject", "Reject the order"
        BACKORDER = "backorder", "Accept and backorder"

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    warehouses = models.ManyToManyField(Warehouse, related_name="channels", blank=True)
    allow_split = models.BooleanField(
        default=True, help_text="Ship from several locations when no single one can fill it."
    )
    max_shipments = models.PositiveSmallIntegerField(default=3)
    shortage_policy = models.CharField(
        max_length=20, choices=ShortagePolicy.choices, default=ShortagePolicy.BACKORDER
    )
    reserve_on_create = models.BooleanField(
        default=False, help_text="Hold stock for unpaid orders as soon as they arrive."
    )
    checkout_ttl_minutes = models.PositiveIntegerField(default=15)
    return_window_days = models.PositiveIntegerField(default=30)
    subscription_reminder_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="Days before each subscription run to remind the customer (0: no reminder).",
    )
    follow_up_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Days after delivery to e-mail the customer asking whether all was right "
        "(0: no follow-up; empty: the OMS default, OMS_FOLLOW_UP_DAYS).",
    )
    order_number_prefix = models.CharField(max_length=8, default="", blank=True)
    customer_emails = models.BooleanField(
        default=True,
        db_default=True,
        help_text="E-mail this channel's customers about their orders (confirmation, shipping, "
        "delivery, returns...). Turn off for marketplaces that message their buyers themselves.",
    )
    support_email = models.EmailField(blank=True)
    brand_color = models.CharField(max_length=7, default="#1f4e79")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A credential for the API: a channel key, or an integration key with scopes.

    Only a SHA-256 hash of the secret is kept; the prefix identifies the key to humans.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    channel = models.ForeignKey(
        SalesChannel, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    scopes = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def actor(self) -> str:
        return f"api_key:{self.prefix}"


class FulfillmentMethod(models.TextChoices):
    SHIP = "ship", "Ship to address"
    PICKUP = "pickup", "Pickup in store"


class Order(models.Model):
    """An order from a channel, with snapshots of its addresses and its money totals."""

    number = models.CharField(max_length=32, unique=True)
    channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="orders")
    channel_order_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.CREATED, editable=False
    )
    hold_reason = models.CharField(max_length=30, blank=True, editable=False)
    fulfillment_method = models.CharField(
        max_length=10, choices=FulfillmentMethod.choices, default=FulfillmentMethod.SHIP
    )
    pickup_location = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="pickup_orders"
    )
    shipping_method = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    discount_total = models.DecimalField(**MONEY, default=ZERO)
    shipping_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    paid_total = models.DecimalField(**MONEY, default=ZERO, editable=False)
    refund_due = models.DecimalField(**MONEY, default=ZERO, editable=False)
    cancelled_total = models.DecimalField(
        **MONEY,
        default=ZERO,
        editable=False,
        help_text="What cancelled units took off the order (with their share of discount, tax "
        "and, once all are cancelled, shipping): the order is paid for at its total less this.",
    )
    payment_method = models.CharField(max_length=50, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    notify_customer = models.BooleanField(
        default=True,
        db_default=True,  # rows written without it (older code, raw SQL) are notified
        help_text="Off when the order came in without customer e-mails (e.g. a historic "
        "import): nothing about it is e-mailed to the customer.",
    )
    promised_ship_date = models.DateField(null=True, blank=True, editable=False)
    promised_delivery_date = models.DateField(null=True, blank=True, editable=False)
    placed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "channel_order_id"], name="order_channel_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount_total__gte=0)
                & Q(shipping_total__gte=0)
                & Q(tax_total__gte=0)
                & Q(total__gte=0),
                name="order_money_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "placed_at"]),
            models.Index(fields=["channel", "status", "placed_at"]),
            models.Index(fields=["placed_at", "id"]),
            models.Index(fields=["email"]),
            models.Index(fields=["customer", "placed_at"]),
            # `?updated_after=...&ordering=updated_at`: integrators paging through changes.
            models.Index(fields=["updated_at", "id"]),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """One SKU on an order with its quantities through fulfillment.

    `quantity_allocated` counts units currently reserved (not yet shipped); shipped units move to
    `quantity_shipped`; cancelled units to `quantity_cancelled`.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField()
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=ZERO)
    line_total = models.DecimalField(**MONEY)
    # Backorders with dates (orders.services.backorder_dates): the purchase order expected to
    # fill the line's open units and the date it is expected.
    backorder_purchase_order = models.ForeignKey(
        "inventory.PurchaseOrder", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="backordered_lines", editable=False,
    )
    backorder_expected_date = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_allocated")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="line_quantities_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_shipped")),
                name="line_returned_within_shipped",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(discount__gte=0) & Q(line_total__gte=0),
                name="line_money_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["sku"])]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"

    @property
    def quantity_open(self) -> int:
        """Units neither allocated, shipped nor cancelled (waiting for stock)."""
        return (
            self.quantity
            - self.quantity_allocated
            - self.quantity_shipped
            - self.quantity_cancelled
        )


class Payment(models.Model):
    """Money authorised or captured for an order by a payment processor."""

    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"
        CAPTURED = "captured", "Captured"
        FAILED = "failed", "Failed"
        VOIDED = "voided", "Voided"
        REFUNDED = "refunded", "Refunded"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=50)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} {self.currency} ({self.status})"


class OrderEvent(TimelineEvent):
    """The audit trail of an order: every transition, payment, note and decision."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        indexes = [models.Index(fields=["order", "id"])]


class IdempotencyRecord(models.Model):
    """The first response to a request made with an `Idempotency-Key`, replayed on retries."""

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    is_complete = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class Shipment(models.Model):
    """A parcel that left a location with some of an order's units."""

    class Status(models.TextChoices):
        AWAITING = "awaiting", "Awaiting pickup by carrier"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered", "Delivered"
        EXCEPTION = "exception", "Exception"
        RETURNED = "returned", "Returned to sender"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    reference = models.CharField(max_length=100)
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    carrier_name = models.CharField(max_length=100, blank=True)
    service_level = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    tracking_number = models.CharField(max_length=100, blank=True, db_index=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING)
    estimated_delivery_date = models.DateField(null=True, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "reference"], name="shipment_order_reference_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "estimated_delivery_date"]),
            models.Index(fields=["updated_at", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.reference}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} x {self.quantity}"


class Checkout(models.Model):
    """A storefront basket whose stock is held for a limited time until it becomes an order."""

    class Status(models.TextChoices):
        OPEN = "open", "Open (stock held)"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    token = models.UUIDField(unique=True)
    channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="checkouts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    lines = models.JSONField(default=list)
    destination = models.JSONField(default=dict, blank=True)
    fulfillment_method = models.CharField(
        max_length=10, choices=FulfillmentMethod.choices, default=FulfillmentMethod.SHIP
    )
    pickup_location = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="checkouts"
    )
    expires_at = models.DateTimeField(db_index=True)
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkout"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return str(self.token)


class ShipmentEvent(models.Model):
    """A tracking update from a carrier or 3PL: status, when, where, what they said."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=Shipment.Status.choices)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["shipment", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class CustomerNotice(models.Model):
    """A notice sent once per cause (a delay, a follow-up), so periodic jobs never repeat it.

    `key` names the cause, e.g. `shipment:12:2026-03-01` for a shipment late against that
    estimated date, or `backorder:34` for a line waiting for stock.
    """

    class Kind(models.TextChoices):
        DELAY = "delay", "Delay notice"
        FOLLOW_UP = "follow_up", "Delivery follow-up"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=100)
    email_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "key"], name="customer_notice_once_per_cause"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class AccountingJournal(Order):
    """The daily accounting journal, shown in the admin (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "accounting journal"
        verbose_name_plural = "accounting journal"


from orders.fulfillment_models import (  # noqa: E402,F401  (fulfillment models live there)
    FulfillmentOrder,
    FulfillmentOrderLine,
    RoutingDecision,
    RoutingRuleSet,
)
from orders.subscription_models import *  # noqa: E402,F401,F403  (subscriptions)
