"""Admin for sales channels, API keys, orders and their records.

Orders are read-only here: their status, money and quantities change only through
`orders.services`. To give operators a button, add a method decorated with
`oms_project.admin.object_action` to `OrderAdmin` and list its name in `object_actions`
(changelist actions go in `actions` as usual); the method calls one service and reports with
`message_user`, or use `run_for_each` for several orders.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from customers.admin import CustomerAdmin
from customers.models import Customer
from oms_project.admin import (
    IndexedSearchMixin,
    LimitedInlineFormSet,
    ObjectActionsMixin,
    ReadOnlyInline,
    ViewOnlyMixin,
    object_action,
    pretty_json,
    run_for_each,
)
from oms_project.errors import ValidationFailed
from orders.models import (
    ApiKey,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    SalesChannel,
)
from orders.order_entry_admin import order_entry_view
from orders.order_workflow_admin import (
    OrderWorkflowAdminMixin,
    PaymentMethodFilter,
    WarehouseFilter,
)
from orders.services import KNOWN_SCOPES, api_key_create, api_key_revoke
from orders.states import HoldReason, OrderStatus

ADDRESS_LINES = (
    ("first_name", "last_name"), ("company",), ("line1",), ("line2",),
    ("postal_code", "city"), ("region",), ("country",), ("phone",),
)


def status_badge(value: str, label: str) -> str:
    return format_html('<span class="oms-status oms-status-{}">{}</span>', value, label)


def _order_number_terms(term: str) -> set[str]:
    return {term, term.upper()}


# --- Channels and API keys ------------------------------------------------------------------


@admin.register(SalesChannel)
class SalesChannelAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = [
        "code", "name", "shortage_policy", "allow_split", "reserve_on_create",
        "return_window_days", "is_active",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["is_active", "shortage_policy", "allow_split"]
    search_fields = ["code", "name"]
    search_help_text = "The start of a channel code or name."
    autocomplete_fields = ["warehouses"]
    fieldsets = [
        (None, {"fields": [("code", "name"), "is_active", "warehouses"]}),
        (
            "Orders",
            {
                "fields": [
                    "order_number_prefix", "shortage_policy", "reserve_on_create",
                    ("allow_split", "max_shipments"), "checkout_ttl_minutes",
                    "return_window_days",
                ]
            },
        ),
        (
            "Customer communication",
            {"fields": ["customer_emails", "support_email", "brand_color", "follow_up_days"]},
        ),
        ("Record", {"fields": ["created_at"]}),
    ]
    readonly_fields = ["created_at"]

    def search_condition(self, term: str) -> Q:
        return Q(code__istartswith=term) | Q(name__istartswith=term)


class ApiKeyCreateForm(forms.Form):
    """What an operator chooses for a new key; the secret itself is generated."""

    name = forms.CharField(max_length=100, help_text="Who or what uses the key, e.g. “ERP”.")
    channel = forms.ModelChoiceField(
        queryset=SalesChannel.objects.filter(is_active=True),
        required=False,
        help_text="A channel key sees and creates only that channel's orders. "
        "Leave empty for an integration key with scopes.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in sorted(KNOWN_SCOPES)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What an integration key may read or write.",
    )


@admin.register(ApiKey)
class ApiKeyAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    """Keys are issued by `api_key_create` (the secret is shown once) and revoked, not deleted."""

    list_display = [
        "name", "prefix", "channel", "scope_list", "is_active", "created_at", "last_used_at",
        "revoked_at", "created_by",
    ]
    list_filter = ["is_active", "channel"]
    list_select_related = ["channel", "created_by"]
    search_fields = ["name", "prefix"]
    search_help_text = "Exact key prefix or the start of a key's name."
    actions = ["revoke_selected"]
    object_actions = ("revoke",)
    fields = [
        "name", "prefix", "channel", "scope_list", "is_active", "created_by", "created_at",
        "last_used_at", "revoked_at",
    ]
    readonly_fields = [
        "prefix", "channel", "scope_list", "is_active", "created_by", "created_at",
        "last_used_at", "revoked_at",
    ]

    def search_condition(self, term: str) -> Q:
        return Q(prefix=term.lower()) | Q(name__istartswith=term)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes) or ("all of its channel" if api_key.channel_id else "—")

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a key through `api_key_create` and show its secret once, in a message."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                api_key, raw_key = api_key_create(**form.cleaned_data, created_by=request.user)
            except ValidationFailed as error:
                self._add_service_errors(form, error)
            else:
                self.log_addition(request, api_key, [{"added": {}}])
                self.message_user(
                    request,
                    format_html(
                        "API key “{}” created. Copy it now, it is not shown again: "
                        "<code class='oms-api-key'>{}</code>",
                        api_key.name,
                        raw_key,
                    ),
                    messages.SUCCESS,
                )
                return redirect(self.object_change_url(api_key))
        return self._render_add_form(request, form, form_url)

    @staticmethod
    def _add_service_errors(form: forms.Form, error: ValidationFailed) -> None:
        field_errors = error.errors if isinstance(error.errors, dict) else {}
        for field, field_messages in field_errors.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
        if not field_errors:
            form.add_error(None, error.detail)

    def _render_add_form(self, request, form: forms.Form, form_url: str):
        fieldsets = [(None, {"fields": ["name", "channel", "scopes"]})]
        admin_form = helpers.AdminForm(form, fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": "Add API key",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    def _revoke(self, request, keys) -> None:
        def revoke(api_key: ApiKey) -> str:
            was_active = api_key.revoked_at is None
            api_key_revoke(api_key=api_key)
            return "revoked." if was_active else "was already revoked."

        run_for_each(self, request, keys, revoke)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        self._revoke(request, queryset.order_by("pk"))

    @object_action(label="Revoke", is_visible=lambda api_key: api_key.revoked_at is None)
    def revoke(self, request, api_key: ApiKey) -> None:
        self._revoke(request, [api_key])


# --- Orders ---------------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "id", "sku", "name", "quantity", "quantity_allocated", "quantity_shipped",
        "quantity_cancelled", "quantity_returned", "unit_price", "discount", "line_total",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["created_at", "method", "amount", "currency", "status", "reference"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "type", "from_status", "to_status", "actor", "message"]
    readonly_fields = fields
    verbose_name_plural = "history"


class HoldReasonFilter(admin.SimpleListFilter):
    title = "hold reason"
    parameter_name = "hold_reason"

    def lookups(self, request, model_admin):
        return HoldReason.choices

    def queryset(self, request, queryset):
        return queryset.filter(hold_reason=self.value()) if self.value() else queryset


@admin.register(Order)
class OrderAdmin(OrderWorkflowAdminMixin, ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = [
        "number", "placed_at", "channel", "email", "status_label", "fulfillment_method",
        "total_with_currency", "paid_total",
    ]
    list_filter = [
        "status", HoldReasonFilter, "channel", "fulfillment_method", PaymentMethodFilter,
        "shipping_method", WarehouseFilter, ("placed_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["channel"]
    search_fields = ["number", "channel_order_id", "email"]
    search_help_text = "Exact order number, channel order id or customer e-mail."
    show_full_result_count = False
    autocomplete_fields = ["customer", "channel", "pickup_location", "shipping_method"]
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]
    actions = ["cancel_selected"]
    object_actions = OrderWorkflowAdminMixin.workflow_actions
    show_save_buttons = False  # every field is read-only; changes are the object actions
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("number", "status_label", "hold_reason"),
                    ("channel", "channel_order_id"),
                    ("customer", "email", "notify_customer"),
                    ("placed_at", "created_at", "updated_at"),
                ]
            },
        ),
        (
            "Fulfillment",
            {"fields": [("fulfillment_method", "pickup_location", "shipping_method")]},
        ),
        (
            "Money",
            {
                "fields": [
                    ("currency", "payment_method"),
                    ("subtotal", "discount_total", "shipping_total", "tax_total", "total"),
                    ("paid_total", "cancelled_total", "refund_due"),
                ]
            },
        ),
        ("Addresses", {"fields": [("shipping_address_block", "billing_address_block")]}),
        ("Attributes", {"fields": ["attribute_table"]}),
    ]
    readonly_fields = [
        "number", "status_label", "hold_reason", "channel", "channel_order_id", "customer",
        "email", "notify_customer", "placed_at", "created_at", "updated_at", "fulfillment_method",
        "pickup_location", "shipping_method", "currency", "payment_method", "subtotal",
        "discount_total", "shipping_total", "tax_total", "total", "paid_total", "cancelled_total",
        "refund_due",
        "shipping_address_block", "billing_address_block", "attribute_table",
    ]

    def search_condition(self, term: str) -> Q:
        return (
            Q(number__in=_order_number_terms(term))
            | Q(channel_order_id=term)
            | Q(email__in={term, term.lower()})
        )

    def add_view(self, request, form_url="", extra_context=None):
        # Staff enter orders through the same validation and service as the API.
        return order_entry_view(self, request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_label(self, order: Order) -> str:
        return status_badge(order.status, order.get_status_display())

    @admin.display(description="total", ordering="total")
    def total_with_currency(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    @admin.display(description="shipping address")
    def shipping_address_block(self, order: Order) -> str:
        return self._address_block(order.shipping_address)

    @admin.display(description="billing address")
    def billing_address_block(self, order: Order) -> str:
        return self._address_block(order.billing_address)

    @admin.display(description="attributes")
    def attribute_table(self, order: Order) -> str:
        attributes = order.attributes or {}
        if not isinstance(attributes, dict) or not attributes:
            return pretty_json(attributes)
        rows = (
            (key, value if isinstance(value, str | int | float) else pretty_json(value))
            for key, value in sorted(attributes.items())
        )
        return format_html(
            "<table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @staticmethod
    def _address_block(address: dict) -> str:
        if not address:
            return "—"
        if not isinstance(address, dict):
            return pretty_json(address)
        lines = []
        for fields in ADDRESS_LINES:
            text = " ".join(str(address.get(field) or "").strip() for field in fields).strip()
            if text:
                lines.append((text,))
        known = {field for fields in ADDRESS_LINES for field in fields}
        extra = {key: value for key, value in address.items() if key not in known and value}
        return format_html(
            '<div class="oms-address">{}</div>{}',
            format_html_join("", "{}<br>", lines),
            pretty_json(extra) if extra else "",
        )


class OrderRecordAdmin(ViewOnlyMixin, IndexedSearchMixin, admin.ModelAdmin):
    """Rows that belong to an order, listed across orders; searched by exact order number."""

    list_select_related = ["order"]
    show_full_result_count = False

    @admin.display(description="order", ordering="order__number")
    def order_number(self, record) -> str:
        url = reverse("admin:orders_order_change", args=[record.order_id])
        return format_html("<a href='{}'>{}</a>", url, record.order.number)


@admin.register(OrderLine)
class OrderLineAdmin(OrderRecordAdmin):
    list_display = [
        "id", "order_number", "sku", "name", "quantity", "quantity_allocated",
        "quantity_shipped", "quantity_cancelled", "quantity_returned", "line_total",
    ]
    search_fields = ["order__number", "sku"]
    search_help_text = "Exact order number or SKU."

    def search_condition(self, term: str) -> Q:
        return Q(order__number__in=_order_number_terms(term)) | Q(sku=term)


@admin.register(Payment)
class PaymentAdmin(OrderRecordAdmin):
    list_display = ["created_at", "order_number", "method", "amount", "currency", "status"]
    list_filter = ["status"]
    search_fields = ["order__number", "reference"]
    search_help_text = "Exact order number or payment reference."

    def search_condition(self, term: str) -> Q:
        return Q(order__number__in=_order_number_terms(term)) | Q(reference=term)


class ToStatusFilter(admin.SimpleListFilter):
    title = "new status"
    parameter_name = "to_status"

    def lookups(self, request, model_admin):
        return OrderStatus.choices

    def queryset(self, request, queryset):
        return queryset.filter(to_status=self.value()) if self.value() else queryset


@admin.register(OrderEvent)
class OrderEventAdmin(OrderRecordAdmin):
    list_display = [
        "created_at", "order_number", "type", "from_status", "to_status", "actor", "message",
    ]
    list_filter = [ToStatusFilter]
    search_fields = ["order__number"]
    search_help_text = "Exact order number."
    fields = [
        "order", "created_at", "type", "from_status", "to_status", "actor", "message",
        "data_formatted",
    ]
    readonly_fields = fields

    def search_condition(self, term: str) -> Q:
        return Q(order__number__in=_order_number_terms(term))

    @admin.display(description="data")
    def data_formatted(self, event: OrderEvent) -> str:
        return pretty_json(event.data)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(IndexedSearchMixin, admin.ModelAdmin):
    """Stored first responses; deleting one lets a stuck client retry its key."""

    list_display = ["created_at", "scope", "key", "is_complete", "response_status"]
    list_filter = ["is_complete"]
    search_fields = ["key", "scope"]
    search_help_text = "Exact idempotency key or scope."
    show_full_result_count = False
    fields = [
        "scope", "key", "request_hash", "is_complete", "response_status", "created_at",
        "response_formatted",
    ]
    readonly_fields = fields

    def search_condition(self, term: str) -> Q:
        return Q(key=term) | Q(scope=term)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="response body")
    def response_formatted(self, record: IdempotencyRecord) -> str:
        return pretty_json(record.response_body)


# --- The customer page, with the customer's latest orders -----------------------------------


class LatestOrdersFormSet(LimitedInlineFormSet):
    limit = 10


class CustomerOrderInline(ReadOnlyInline):
    model = Order
    formset = LatestOrdersFormSet
    fields = ["number", "placed_at", "channel", "status", "total", "currency"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "latest orders"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")


class CustomerWithOrdersAdmin(CustomerAdmin):
    inlines = [*CustomerAdmin.inlines, CustomerOrderInline]
    readonly_fields = [*CustomerAdmin.readonly_fields, "all_orders"]
    fieldsets = [
        *CustomerAdmin.fieldsets[:-1],
        ("Orders", {"fields": ["all_orders"]}),
        CustomerAdmin.fieldsets[-1],
    ]

    @admin.display(description="orders")
    def all_orders(self, customer: Customer) -> str:
        if not customer.pk:
            return "—"
        url = reverse("admin:orders_order_changelist")
        return format_html(
            "<a href='{}?customer__id__exact={}'>All orders of this customer</a>, cancelled "
            "ones included",
            url,
            customer.pk,
        )


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithOrdersAdmin)

from orders import fulfillment_admin, shipment_admin, subscription_admin  # noqa: E402,F401,I001
from orders import backorder_admin  # noqa: E402,F401  (backorder dates on the order page)
