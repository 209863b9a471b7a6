"""Admin for customer profiles, their address book and their channel ids.

Lifetime totals are kept by `customers.services` as orders arrive, are cancelled and are
refunded, so they are read-only here; an action checks them against the order history and
repairs them (`returns.lifetime`). The orders app adds a (limited, read-only) list of the
customer's orders to this page.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.db.models.functions import Lower

from customers.models import Address, Customer, CustomerChannel
from customers.services import customer_create, customer_update
from oms_project.admin import IndexedSearchMixin, ViewOnlyMixin


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    can_delete = False
    classes = ["collapse"]
    fields = [
        ("first_name", "last_name", "company"),
        ("line1", "line2"),
        ("postal_code", "city", "region", "country"),
        "phone",
        ("is_default_shipping", "is_default_billing"),
        ("created_at", "last_used_at"),
    ]
    readonly_fields = [
        "first_name", "last_name", "company", "line1", "line2", "postal_code", "city", "region",
        "country", "phone", "is_default_shipping", "is_default_billing", "created_at",
        "last_used_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        # Addresses are remembered from orders (deduplicated by fingerprint), not typed in.
        return False


class CustomerChannelInline(admin.TabularInline):
    model = CustomerChannel
    extra = 0
    can_delete = False
    fields = ["channel_code", "external_id", "created_at"]
    readonly_fields = fields
    verbose_name = "channel id"
    verbose_name_plural = "channel ids"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


LIFETIME_TOTALS_HELP = (
    "Orders and lifetime value count what the customer kept: cancelled units and refunds are "
    "taken off, and an order cancelled in full is not counted (it stays in the order history)."
)


class CustomerForm(forms.ModelForm):
    """The profile form; an e-mail another customer has (in any letter case) is refused on
    the field, before the database's unique index would refuse it by name."""

    class Meta:
        model = Customer
        fields = ["email", "first_name", "last_name", "phone", "accepts_marketing", "note"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        others = Customer.objects.alias(email_lower=Lower("email")).filter(
            email_lower=email.strip().lower()
        )
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        other = others.only("email").first()
        if other is not None:
            raise forms.ValidationError(
                f"Another customer already has this e-mail address ({other.email}).",
                code="unique",
            )
        return email


@admin.register(Customer)
class CustomerAdmin(IndexedSearchMixin, admin.ModelAdmin):
    form = CustomerForm
    list_display = [
        "email", "full_name", "orders_count", "lifetime_value", "last_order_at",
        "accepts_marketing", "created_at",
    ]
    list_filter = ["accepts_marketing", ("last_order_at", admin.DateFieldListFilter)]
    search_fields = ["email", "first_name", "last_name"]
    search_help_text = "Exact e-mail, or the start of an e-mail, first or last name."
    show_full_result_count = False
    inlines = [AddressInline, CustomerChannelInline]
    fieldsets = [
        (None, {"fields": ["email", ("first_name", "last_name"), "phone", "accepts_marketing"]}),
        ("Preferences", {"fields": ["preferred_shipping_method", "preferred_payment_method"]}),
        (
            "History",
            {
                "fields": [
                    ("orders_count", "lifetime_value"),
                    ("first_order_at", "last_order_at"),
                    ("created_at", "updated_at"),
                ],
                "description": LIFETIME_TOTALS_HELP,
            },
        ),
        ("Notes", {"fields": ["note"]}),
    ]
    readonly_fields = [
        "orders_count", "lifetime_value", "first_order_at", "last_order_at", "created_at",
        "updated_at", "preferred_shipping_method", "preferred_payment_method",
    ]
    actions = ["totals_repair"]

    @admin.action(description="Check and repair lifetime totals from order history")
    def totals_repair(self, request, queryset) -> None:
        """`manage.py customer_totals_check --fix` for the selected customers."""
        # Worked out from orders, returns and refunds: the returns app knows them all.
        from returns.lifetime import customer_totals_check

        checked, repaired = customer_totals_check(
            customer_ids=list(queryset.values_list("pk", flat=True)), fix=True
        )
        if not repaired:
            self.message_user(request, f"{checked} customers checked: all totals match.")
            return
        names = ", ".join(difference.email for difference in repaired[:10])
        more = f" and {len(repaired) - 10} more" if len(repaired) > 10 else ""
        self.message_user(
            request,
            f"{checked} customers checked; totals repaired for {names}{more}.",
            messages.WARNING,
        )

    def search_condition(self, term: str) -> Q:
        condition = (
            Q(email_lower=term.lower())  # answered by the unique index on lower(email)
            | Q(email__istartswith=term)
            | Q(first_name__istartswith=term)
            | Q(last_name__istartswith=term)
        )
        first, _, last = term.partition(" ")
        if last.strip():
            condition |= Q(first_name__iexact=first, last_name__istartswith=last.strip())
        return condition

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(
            request, queryset.alias(email_lower=Lower("email")), search_term
        )

    def save_model(self, request, obj, form, change) -> None:
        """Write through `customers.services`, which normalises the e-mail."""
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            customer_update(customer=obj, **changes)
            return
        profile = {
            field: form.cleaned_data[field]
            for field in form.cleaned_data
            if field != "email"
        }
        created = customer_create(email=form.cleaned_data["email"], **profile)
        for field in Customer._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    @admin.display(description="name", ordering="last_name")
    def full_name(self, customer: Customer) -> str:
        return customer.full_name


@admin.register(Address)
class AddressAdmin(ViewOnlyMixin, IndexedSearchMixin, admin.ModelAdmin):
    """The address book across customers; addresses are remembered from orders."""

    list_display = [
        "__str__", "customer", "is_default_shipping", "is_default_billing", "last_used_at",
    ]
    list_select_related = ["customer"]
    list_filter = ["is_default_shipping", "is_default_billing"]
    search_fields = ["customer__email", "postal_code"]
    search_help_text = "Exact customer e-mail or postal code."
    show_full_result_count = False
    exclude = ["fingerprint"]

    def search_condition(self, term: str) -> Q:
        return Q(customer__email=term.lower()) | Q(postal_code=term)


@admin.register(CustomerChannel)
class CustomerChannelAdmin(ViewOnlyMixin, IndexedSearchMixin, admin.ModelAdmin):
    """Which channel knows a customer under which id; written when orders arrive."""

    list_display = ["channel_code", "external_id", "customer", "created_at"]
    list_select_related = ["customer"]
    search_fields = ["external_id", "customer__email"]
    search_help_text = "Exact channel customer id or customer e-mail."
    show_full_result_count = False

    def search_condition(self, term: str) -> Q:
        return Q(external_id=term) | Q(customer__email=term.lower())
