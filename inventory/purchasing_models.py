"""Suppliers, what they supply, purchase orders, their receipts and their audit trail.

Imported at the end of `inventory.models`, so these models belong to the inventory app.
The database enforces what must never happen whatever the caller: supplier codes unique
whatever their case, one preferred supplier per SKU, one open draft purchase order per supplier
and ship-to warehouse, one line per SKU on a purchase order, and no negative quantities or
costs.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, validate_email
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from inventory.models import Product
from inventory.purchasing.states import PurchaseOrderStatus
from oms_project.currencies import currency_code_validator
from oms_project.models import TimelineEvent
from warehouses.models import Warehouse, code_validator

__all__ = [
    "PurchaseOrder",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "PurchaseReceipt",
    "PurchaseReceiptLine",
    "Supplier",
    "SupplierProduct",
]

MONEY = {"max_digits": 14, "decimal_places": 2}
UNIT_COST = {"max_digits": 14, "decimal_places": 4}
EMAIL_SEPARATORS = re.compile(r"[,;\s]+")
SUPPLIER_CODE_TAKEN = "A supplier with this code already exists (codes ignore case)."


def email_list(value: str) -> list[str]:
    """Split a contact e-mail field (commas, semicolons or spaces) into addresses."""
    return [address for address in EMAIL_SEPARATORS.split(value or "") if address]


def contact_emails_validator(value: str) -> None:
    addresses = email_list(value)
    if not addresses:
        raise ValidationError("Give at least one contact e-mail address.")
    for address in addresses:
        validate_email(address)


class Supplier(models.Model):
    """A vendor the merchant buys stock from."""

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    contact_emails = models.CharField(
        max_length=500,
        validators=[contact_emails_validator],
        help_text="Where purchase orders are sent; several addresses separated by commas.",
    )
    lead_time_days = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(365)],
        help_text="Days from sending a purchase order to its delivery.",
    )
    currency = models.CharField(
        max_length=3, default="USD", validators=[currency_code_validator],
        help_text="What its prices and purchase orders are in. It cannot change while purchase "
        "orders are open; its prices carry no currency of their own and read as amounts in the "
        "new one, so re-enter them with the change.",
    )
    minimum_order_value = models.DecimalField(**MONEY, default=0)
    over_receipt_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)],
        help_text="How far above the ordered quantity a line may be received, in percent of "
        "the ordered quantity (rounded down to whole units). 0 refuses any over-receipt.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                Lower("code"), name="supplier_code_unique_ignoring_case",
                violation_error_message=SUPPLIER_CODE_TAKEN,
            ),
            models.CheckConstraint(
                condition=Q(minimum_order_value__gte=0), name="supplier_minimum_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(lead_time_days__lte=365) & Q(over_receipt_percent__lte=100),
                name="supplier_terms_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} - {self.name}"

    @property
    def email_addresses(self) -> list[str]:
        return email_list(self.contact_emails)


class SupplierProduct(models.Model):
    """A SKU a supplier sells: its own SKU, cost, pack size and minimum order quantity."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="supplier_offers")
    supplier_sku = models.CharField("supplier SKU", max_length=64, blank=True)
    unit_cost = models.DecimalField(**UNIT_COST)
    pack_size = models.PositiveIntegerField(
        default=1, help_text="Units per pack; quantities are ordered in whole packs."
    )
    minimum_quantity = models.PositiveIntegerField(
        default=1, help_text="The fewest units the supplier accepts on an order line."
    )
    is_preferred = models.BooleanField(
        default=False, help_text="Reorder suggestions for this SKU go to this supplier."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["supplier__code", "product__sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "product"], name="supplier_product_unique"
            ),
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_preferred=True),
                name="supplier_product_one_preferred",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0) & Q(pack_size__gte=1) & Q(minimum_quantity__gte=1),
                name="supplier_product_terms_positive",
            ),
        ]
        indexes = [models.Index(fields=["product", "supplier"])]

    def __str__(self) -> str:
        return f"{self.product_id} from {self.supplier_id}"


class PurchaseOrder(models.Model):
    """Stock ordered from a supplier for one warehouse.

    `status` changes only through `purchase_order_transition`; at most one draft exists per
    supplier and warehouse (reorder suggestions add to it instead of starting another).
    """

    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    status = models.CharField(
        max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT,
        editable=False,
    )
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    expected_date = models.DateField(help_text="When the goods should arrive.")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "warehouse"], condition=Q(status="draft"),
                name="purchase_order_one_draft_per_supplier_warehouse",
            )
        ]
        indexes = [
            models.Index(fields=["status", "expected_date"]),
            models.Index(fields=["supplier", "status"]),
            models.Index(fields=["warehouse", "status"]),
        ]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    """A SKU on a purchase order: ordered, received into stock, and received damaged.

    Damaged units count against the ordered quantity but never enter stock.
    """

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_order_lines"
    )
    supplier_sku = models.CharField("supplier SKU", max_length=64, blank=True)
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(**UNIT_COST)
    quantity_received = models.PositiveIntegerField(default=0, editable=False)
    quantity_damaged = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="purchase_order_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="purchase_order_line_quantity_positive",
                violation_error_message="Order at least 1 unit; delete the line to order none.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="purchase_order_line_cost_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["product", "purchase_order"])]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"

    @property
    def quantity_outstanding(self) -> int:
        """Units still to come (never negative, even after an accepted over-receipt)."""
        return max(self.quantity - self.quantity_received - self.quantity_damaged, 0)


class PurchaseReceipt(models.Model):
    """One delivery booked against a purchase order (a supplier's delivery note)."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The supplier's delivery note or ASN number."
    )
    note = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "reference"], condition=~Q(reference=""),
                name="purchase_receipt_reference_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id} receipt {self.reference or self.pk}"


class PurchaseReceiptLine(models.Model):
    receipt = models.ForeignKey(PurchaseReceipt, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines"
    )
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_damaged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_received__gt=0) | Q(quantity_damaged__gt=0),
                name="purchase_receipt_line_not_empty",
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: +{self.quantity_received} ({self.quantity_damaged} damaged)"


class PurchaseOrderEvent(TimelineEvent):
    """The audit trail of a purchase order: creation, edits, transitions, receipts."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events"
    )

    class Meta(TimelineEvent.Meta):
        indexes = [models.Index(fields=["purchase_order", "id"])]
