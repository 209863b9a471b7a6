"""Locations that hold and ship stock, and the carriers and service levels they ship with."""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django_countries.fields import CountryField

from warehouses.list_settings import (
    contact_emails_validator,
    country_codes_validator,
    freight_classes_validator,
)

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    "Use letters, digits, '-', '_' or '.', starting with a letter or digit.",
)


class FreightClass(models.TextChoices):
    STANDARD = "standard", "Standard"
    OVERSIZE = "oversize", "Oversize"
    HAZMAT = "hazmat", "Hazardous materials"
    COLD = "cold", "Cold chain"


class Warehouse(models.Model):
    """A stock location: warehouse, store, 3PL or drop-ship vendor."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"
        THIRD_PARTY = "3pl", "Third-party logistics"
        DROPSHIP = "dropship", "Drop-ship vendor"

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)
    line1 = models.CharField("address line 1", max_length=200, blank=True)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField()
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower numbers are preferred when routing orders."
    )
    is_active = models.BooleanField(default=True)
    can_ship = models.BooleanField(default=True, help_text="Ships parcels to customers.")
    pickup_enabled = models.BooleanField(default=False, help_text="Customers can collect here.")
    daily_order_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders it can take a day; empty means no limit."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    order_cutoff_time = models.TimeField(
        null=True, blank=True, help_text="Orders routed after this local time ship next day."
    )
    handling_days = models.PositiveSmallIntegerField(default=0)
    accepted_freight_classes = models.JSONField(
        default=list,
        blank=True,
        validators=[freight_classes_validator],
        help_text="Freight classes beyond standard it may hold and ship (oversize, hazmat, cold).",
    )
    ships_to_countries = models.JSONField(
        default=list,
        blank=True,
        validators=[country_codes_validator],
        help_text="ISO country codes; empty means anywhere.",
    )
    contact_emails = models.JSONField(
        default=list, blank=True, validators=[contact_emails_validator]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "code"]
        indexes = [models.Index(fields=["is_active", "priority"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True)
                | models.Q(latitude__gte=-90, latitude__lte=90),
                name="warehouse_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True)
                | models.Q(longitude__gte=-180, longitude__lte=180),
                name="warehouse_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} - {self.name}"


class Carrier(models.Model):
    """A parcel carrier; its tracking URL template builds links from tracking numbers."""

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    tracking_url_template = models.CharField(
        max_length=500, blank=True, help_text="Use {tracking_number} where the number goes."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def tracking_url(self, tracking_number: str) -> str:
        if not self.tracking_url_template or not tracking_number:
            return ""
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)


class ServiceLevelQuerySet(models.QuerySet):
    def offered(self):
        """The services orders may choose: active, of an active carrier (a carrier that
        stopped collecting takes its services with it)."""
        return self.filter(is_active=True, carrier__is_active=True)


class ServiceLevel(models.Model):
    """A carrier's delivery service (e.g. ground, express) with its transit times."""

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="service_levels")
    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    transit_days_min = models.PositiveSmallIntegerField(default=1)
    transit_days_max = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(0)]
    )
    accepted_freight_classes = models.JSONField(
        default=list,
        blank=True,
        validators=[freight_classes_validator],
        help_text="Freight classes beyond standard it may carry.",
    )
    is_active = models.BooleanField(default=True)

    objects = ServiceLevelQuerySet.as_manager()

    class Meta:
        ordering = ["carrier__code", "transit_days_min", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(transit_days_max__gte=models.F("transit_days_min")),
                name="service_level_transit_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code}/{self.code}"


class LocationOutage(models.Model):
    """A location closed between two times (stock count, storm, system outage): routing skips
    it while the closure lasts, promises ship dates past a closure ahead (ranking it after
    locations that ship on time), and rejects it when it stays closed beyond
    `warehouses.routing.terms.CLOSURE_HORIZON`."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="outages")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["warehouse", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="location_outage_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id} paused {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M}"


class PostalCode(models.Model):
    """The centre of a postal code, so routing can measure distance to addresses without
    coordinates (`manage.py load_postal_codes FILE.csv`)."""

    country = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=20)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    place_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["country", "postal_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "postal_code"], name="postal_code_country_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90)
                & models.Q(longitude__gte=-180, longitude__lte=180),
                name="postal_code_coordinates_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.postal_code}"
