"""Products, the stock ledger and reservations.

`StockLevel` holds the two numbers that matter (`on_hand`, `allocated`); the database refuses
negative or over-allocated stock through CHECK constraints. Every change to either number writes
a `StockMovement` in the same transaction (see `inventory.services`), and `allocated` equals the
sum of the open `StockReservation` rows of that level.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from inventory.quantities import MAX_QUANTITY
from warehouses.models import FreightClass, Warehouse, code_validator


class Product(models.Model):
    """A sellable item, identified by its SKU."""

    sku = models.CharField("SKU", max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(max_length=255)
    external_id = models.CharField("product id", max_length=100, blank=True, db_index=True)
    barcode = models.CharField(max_length=64, blank=True, db_index=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    freight_class = models.CharField(
        max_length=20, choices=FreightClass.choices, default=FreightClass.STANDARD
    )
    low_stock_threshold = models.PositiveIntegerField(
        default=5, help_text="At or below this many available units a storefront shows low stock."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            # A scan must name one product: a barcode belongs to one product only.
            models.UniqueConstraint(
                fields=["barcode"], condition=~Q(barcode=""), name="product_barcode_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} - {self.name}"

    def clean(self):
        errors = self.identifier_clashes()
        refusal = self.sku_change_refusal()
        if refusal:
            errors.setdefault("sku", []).append(refusal)
        if errors:
            raise ValidationError(errors)

    def identifier_clashes(self) -> dict[str, list[str]]:
        """Field errors for a barcode or SKU another product is already known by: packing
        reads a scan as a barcode or a SKU, so each must name one product."""
        others = Product.objects.exclude(pk=self.pk) if self.pk else Product.objects.all()
        errors: dict[str, list[str]] = {}
        if self.barcode:
            taken = others.filter(Q(barcode=self.barcode) | Q(sku=self.barcode)).first()
            if taken is not None:
                what = "barcode" if taken.barcode == self.barcode else "SKU"
                errors["barcode"] = [f"'{self.barcode}' is already the {what} of {taken.sku}."]
        if self.sku:
            taken = others.filter(barcode=self.sku).first()
            if taken is not None:
                errors["sku"] = [f"'{self.sku}' is already the barcode of {taken.sku}."]
        return errors

    def sku_change_refusal(self) -> str:
        """Why this product's SKU may not change to the one it has now ("" if it may): a SKU
        that stock, orders or suppliers already refer to stays, since channels, warehouses and
        order lines know the product by it."""
        if self.pk is None:
            return ""
        stored = Product.objects.filter(pk=self.pk).values_list("sku", flat=True).first()
        if stored is None or stored == self.sku or not self.is_in_use():
            return ""
        return (
            f"SKU {stored} is in use (stock, orders or suppliers refer to it) and cannot be "
            "renamed; create a product with the new SKU and deactivate this one."
        )

    def is_in_use(self) -> bool:
        """Anything that keeps this product from being deleted refers to it."""
        return any(
            relation.related_model._base_manager.filter(**{relation.field.name: self}).exists()
            for relation in self._meta.related_objects
            if relation.on_delete is models.PROTECT
        )


class StockLevel(models.Model):
    """Stock of one product at one warehouse."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    reorder_point = models.IntegerField(default=0)
    reorder_quantity = models.IntegerField(default=0)
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product__sku", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(
                condition=Q(on_hand__lte=MAX_QUANTITY),
                name="stock_on_hand_within_limit",
                violation_error_message=f"On hand may be at most {MAX_QUANTITY:,}.",
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0), name="stock_allocated_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="stock_allocated_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0)
                & Q(reorder_point__gte=0)
                & Q(reorder_quantity__gte=0),
                name="stock_settings_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "product"]),
            models.Index(fields=["updated_at", "id"]),  # pages of changes for pollers
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id}: {self.on_hand}/{self.allocated}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.allocated - self.safety_stock, 0)


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT = "count", "Stock count"
    IMPORT = "import", "Import"
    ALLOCATION = "allocation", "Allocation"
    RELEASE = "release", "Release"
    SHIPMENT = "shipment", "Shipment"
    RETURN_RESTOCK = "return_restock", "Return restock"
    TRANSFER = "transfer", "Transfer"
    RECONCILIATION = "reconciliation", "Reconciliation"


class StockMovement(models.Model):
    """One ledger row: how much `on_hand` and `allocated` changed, why, and who did it."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    delta_on_hand = models.IntegerField(default=0)
    delta_allocated = models.IntegerField(default=0)
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["stock_level", "id"])]

    def __str__(self) -> str:
        return f"{self.reason} {self.delta_on_hand:+d}/{self.delta_allocated:+d} ({self.reference})"


class StockReservation(models.Model):
    """Units of a stock level held for something (an order line, a checkout, a transfer)."""

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="reservations"
    )
    reference = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "stock_level"], name="reservation_reference_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity}"


class Transfer(models.Model):
    """Stock moving between two warehouses: out of the source, in transit, into the destination.

    `number` is given by `transfer_create` (`TR<pk>`), never typed. A transfer whose units
    did not all arrive is closed: what was still in transit is written off as lost.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received", "Received"
        CLOSED = "closed", "Closed short"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_by = models.CharField(max_length=150, blank=True, editable=False)
    close_reason = models.CharField(
        max_length=255, blank=True, editable=False,
        help_text="Why the units still in transit were written off as lost.",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_distinct_locations"
            )
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_lost = models.PositiveIntegerField(
        default=0, editable=False, help_text="Written off when the transfer was closed short."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transfer_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="transfer_line_received_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(quantity_lost__lte=F("quantity") - F("quantity_received")),
                name="transfer_line_lost_within_outstanding",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"


class ImportJob(models.Model):
    """A stock CSV import: validated first, then applied; progress and per-row errors kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed (nothing written)"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", "Write nothing if any row is bad"
        APPLY_VALID = "apply_valid", "Apply the valid rows"

    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    is_dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename}, {self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in {self.Status.COMPLETED, self.Status.FAILED} else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


from inventory.purchasing_models import *  # noqa: E402,F401,F403  (suppliers, purchase orders)
