"""Admin for customer profiles, their address book and their channel ids.

Lifetime totals are kept by `customers.services` as orders arrive, are cancelled and are
refunded, so they are read-only here; an action checks them against the order history and
repairs them (`returns.lifetime`). The orders app adds a (limited, read-only) list of the
customer's orders to this page. *Erase personal data…* anonymises the selected customers
everywhere in the OMS (`oms_project.erasure`) after a page listing what it will erase.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.response import TemplateResponse

from customers.models import Address, Customer, CustomerChannel, CustomerErasure
from customers.services import customer_create, customer_update
from oms_project.admin import IndexedSearchMixin, ViewOnlyMixin
from oms_project.erasure import customer_erase, customer_erasure_preview
from oms_project.errors import OmsError

# Customers one confirmation page erases at most.
ERASE_LIMIT = 100


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


class EraseForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Why (e.g. the request's ticket number), without personal data: it is kept "
        "in the erasure's audit record.",
    )


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
    actions = ["totals_repair", "erase_selected"]

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

    @admin.action(description="Erase personal data…")
    def erase_selected(self, request, queryset):
        """Show what erasing will anonymise; on confirmation erase each customer
        (`oms_project.erasure.customer_erase`) and report each result."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        customers = list(queryset.order_by("pk")[:ERASE_LIMIT])
        form = EraseForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            actor = f"user:{request.user.get_username()}"
            for customer in customers:
                self._erase_one(request, customer, actor, form.cleaned_data["reason"])
            return None
        previews = [customer_erasure_preview(customer=customer) for customer in customers]
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase customers' personal data",
            "opts": self.model._meta,
            "previews": previews,
            "form": form,
            "selected": [customer.pk for customer in customers],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "any_allowed": any(not preview["refusal"] for preview in previews),
            "more": max(queryset.count() - ERASE_LIMIT, 0),
        }
        return TemplateResponse(
            request, "admin/customers/customer/erase_confirmation.html", context
        )

    def _erase_one(self, request, customer: Customer, actor: str, reason: str) -> None:
        label = f"Customer {customer.pk}"  # not the name: it is what is being erased
        try:
            erasure = customer_erase(customer=customer, actor=actor, reason=reason)
        except OmsError as error:
            self.message_user(request, f"{label}: {error.detail}", messages.ERROR)
            return
        if not erasure.is_new:
            self.message_user(request, f"{label}: erased already.", messages.WARNING)
            return
        self.message_user(request, f"{label}: personal data erased.", messages.SUCCESS)

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


@admin.register(CustomerErasure)
class CustomerErasureAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Who erased which customer's personal data, when and why (no personal data)."""

    list_display = ["customer_number", "erased_at", "actor", "reason"]
    search_fields = ["=customer_number"]
    search_help_text = "Exact customer id."
    date_hierarchy = "erased_at"
    show_full_result_count = False
