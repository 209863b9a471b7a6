"""Customer profiles, their addresses and the channels that know them."""

from decimal import Decimal

from django.db import models
from django.db.models.functions import Lower
from django_countries.fields import CountryField


class Customer(models.Model):
    """A buyer, identified by e-mail (case-insensitive) or by a channel's customer id."""

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    accepts_marketing = models.BooleanField(default=False)
    preferred_shipping_method = models.CharField(max_length=50, blank=True)
    preferred_payment_method = models.CharField(max_length=50, blank=True)
    note = models.TextField(blank=True)
    orders_count = models.PositiveIntegerField(default=0)
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(lifetime_value__gte=0), name="customer_ltv_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerChannel(models.Model):
    """Links a customer to a sales channel, with that channel's own customer id if it has one.

    The channel is named by its code because channels live in a higher layer (orders).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="channels")
    channel_code = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_code", "customer"], name="customer_channel_unique"
            ),
            models.UniqueConstraint(
                fields=["channel_code", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="customer_channel_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_code}:{self.external_id or '-'}"


class Address(models.Model):
    """A postal address a customer has used; deduplicated by its fingerprint."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=100, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField()
    phone = models.CharField(max_length=40, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "fingerprint"], name="address_customer_fingerprint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.postal_code} {self.city}, {self.country}"


class CustomerErasure(models.Model):
    """A customer's personal data was erased (GDPR art. 17): who, when, why and how many
    records were anonymised; never the erased data itself. One per customer, so an erasure
    runs once (`oms_project.erasure.customer_erase`)."""

    customer = models.OneToOneField(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasure"
    )
    customer_number = models.PositiveBigIntegerField(
        help_text="The customer's id, kept if the anonymous profile is deleted later."
    )
    actor = models.CharField(max_length=150)
    reason = models.TextField(help_text="Why, without personal data (e.g. a ticket number).")
    counts = models.JSONField(default=dict, blank=True, help_text="Records anonymised, by kind.")
    erased_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Customer {self.customer_number} erased {self.erased_at:%Y-%m-%d}"
