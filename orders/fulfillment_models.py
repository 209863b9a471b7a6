"""Routing rules per channel, stored routing decisions, and fulfillment orders (one per
location per order) with their lines.

Imported at the bottom of `orders.models` so Django registers them with the orders app.
Rule sets live here, one per `SalesChannel`, because channels belong to orders and the
warehouses app must not look upward.
"""

from django.db import models
from django.db.models import Q

from orders.fulfillment_states import FulfillmentStatus
from warehouses.models import ServiceLevel, Warehouse


def _default_strategies() -> list[str]:
    return ["priority"]


class RoutingRuleSet(models.Model):
    """How a channel's orders are routed: ranking strategies in order, filters, locations.

    Without an active rule set a channel is routed by location priority with every filter on.
    Each save raises `version`, which every stored decision records.
    """

    channel = models.OneToOneField(
        "orders.SalesChannel", on_delete=models.CASCADE, related_name="routing_rules"
    )
    is_active = models.BooleanField(default=True)
    strategies = models.JSONField(
        default=_default_strategies,
        help_text="Ranking strategies, most important first: priority, nearest, "
        "fewest_shipments, most_stock, earliest_promise.",
    )
    preferred_locations = models.JSONField(
        default=list, blank=True, help_text="Location codes ranked before all others, in order."
    )
    excluded_locations = models.JSONField(
        default=list, blank=True, help_text="Location codes never used for this channel."
    )
    check_freight = models.BooleanField(
        default=True, help_text="Hazmat, oversize and cold products only where accepted."
    )
    check_destination = models.BooleanField(
        default=True, help_text="Only locations that ship to the destination country or region."
    )
    check_capacity = models.BooleanField(
        default=True, help_text="Skip locations that took their daily order capacity."
    )
    check_outages = models.BooleanField(default=True, help_text="Skip paused locations.")
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = models.CharField(max_length=150, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "routing rule set"

    def __str__(self) -> str:
        return f"Routing rules of {self.channel} (v{self.version})"


class RoutingDecision(models.Model):
    """Where the engine sent an order's units and why (candidates, rejections, scores)."""

    class Trigger(models.TextChoices):
        ALLOCATION = "allocation", "Allocation"
        REROUTE = "reroute", "Re-route"

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="routing_decisions"
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    rules_version = models.PositiveIntegerField(default=0)
    strategies = models.JSONField(default=list)
    locations = models.JSONField(default=list, help_text="Codes of the locations chosen.")
    is_complete = models.BooleanField(default=True)
    is_split = models.BooleanField(default=False)
    explanation = models.JSONField(default=dict)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["order", "id"]),
            # The list's created_after / created_before filters.
            models.Index(fields=["created_at"], name="routing_decision_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {', '.join(self.locations) or 'nowhere'}"


class FulfillmentOrder(models.Model):
    """The part of an order one location fills, with its own states (pick, pack, ship)."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="fulfillment_orders"
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="fulfillment_orders"
    )
    status = models.CharField(
        max_length=20,
        choices=FulfillmentStatus.choices,
        default=FulfillmentStatus.OPEN,
        editable=False,
    )
    status_before_hold = models.CharField(max_length=20, blank=True, editable=False)
    hold_reason = models.CharField(max_length=200, blank=True, editable=False)
    service_level = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promised_ship_date = models.DateField(null=True, blank=True)
    promised_delivery_date = models.DateField(null=True, blank=True)
    routing_decision = models.ForeignKey(
        RoutingDecision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pickup_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    pickup_code_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    pickup_code_failures = models.PositiveSmallIntegerField(
        default=0, editable=False,
        help_text="Wrong pickup codes entered since the counting window started.",
    )
    pickup_code_failed_since = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="The first wrong pickup code of the current counting window.",
    )
    pickup_code_locked_until = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="After too many wrong codes, no code is accepted before this time.",
    )
    shipment = models.ForeignKey(
        "orders.Shipment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    packed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["warehouse", "status", "promised_ship_date"], name="fo_queue_idx"
            ),
            models.Index(fields=["warehouse", "created_at"], name="fo_routed_today_idx"),
            models.Index(fields=["order", "status"], name="fo_order_status_idx"),
        ]

    def __str__(self) -> str:
        return f"FO-{self.pk} {self.warehouse_id} ({self.status})"


class FulfillmentOrderLine(models.Model):
    """Units of one order line that a fulfillment order's location picks and ships."""

    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="fulfillment_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fulfillment_order", "order_line"], name="fulfillment_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfillment_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} x {self.quantity}"
