"""Admin for subscriptions: list with upcoming runs, controls as buttons, demand forecast.

Staff add subscriptions through the API's validation and `subscription_create`; pause,
resume, skip the next run, cancel and changes of quantities, address, shipping method or
payment details go through `orders.subscriptions.services`. A subscription is shown and
found by its customer's current e-mail address.
The sales channel page gains the reminder lead time.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from customers.models import Customer
from oms_project.admin import (
    IndexedSearchMixin,
    LimitedInlineFormSet,
    ObjectActionsMixin,
    ViewOnlyMixin,
    form_page,
    object_action,
    pretty_json,
    run_for_each,
)
from oms_project.errors import OmsError
from oms_project.serializers import CountryCodeField
from orders.admin import SalesChannelAdmin, status_badge
from orders.entry_forms import EntryForm, add_errors, add_service_error, field_place
from orders.models import SalesChannel
from orders.subscription_models import (
    IntervalUnit,
    Subscription,
    SubscriptionEvent,
    SubscriptionLine,
    SubscriptionOccurrence,
    SubscriptionStatus,
)
from orders.subscription_serializers import SubscriptionCreateSerializer
from orders.subscriptions import selectors, services
from orders.subscriptions.forecast import subscription_demand_rows
from orders.subscriptions.validation import MAX_INTERVAL_COUNT
from warehouses.models import ServiceLevel

FORECAST_DAYS = 30
ADDRESS_FIELDS = (
    "first_name", "last_name", "company", "line1", "line2", "postal_code", "city", "region",
    "country", "phone",
)


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


class SubscriptionLineInline(ViewOnlyMixin, admin.TabularInline):
    model = SubscriptionLine
    fields = ["sku", "quantity", "unit_price"]
    readonly_fields = fields
    extra = 0


class SubscriptionOccurrenceInline(ViewOnlyMixin, admin.TabularInline):
    model = SubscriptionOccurrence
    formset = LimitedInlineFormSet
    fields = [
        "occurrence_date", "scheduled_for", "status", "order", "attempts", "attempt_at",
        "failure_code", "failure_detail", "catch_up_from",
    ]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "latest runs"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class SubscriptionEventInline(ViewOnlyMixin, admin.TabularInline):
    model = SubscriptionEvent
    formset = LimitedInlineFormSet
    fields = ["created_at", "type", "actor", "message"]
    readonly_fields = fields
    extra = 0
    ordering = ["-id"]


class SubscriptionChangeForm(forms.Form):
    """Quantities per line (0 removes it), the shipping method and address, and the stored
    payment (e.g. after a declined payment paused the subscription)."""

    shipping_method = forms.ModelChoiceField(
        queryset=ServiceLevel.objects.filter(is_active=True), required=False, to_field_name="code"
    )
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=100, required=False)
    line1 = forms.CharField(max_length=200)
    line2 = forms.CharField(max_length=200, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, help_text="ISO 3166-1 code, e.g. US.")
    phone = forms.CharField(max_length=40, required=False)
    payment_method = forms.CharField(max_length=50, required=False, help_text="e.g. card.")
    payment_reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="The processor's token for the customer's new stored payment (never card "
        "numbers). Leave empty to keep the stored one.",
    )

    def __init__(self, *args, subscription: Subscription, **kwargs):
        address = subscription.shipping_address or {}
        initial = {field: address.get(field) or "" for field in ADDRESS_FIELDS}
        initial["shipping_method"] = (
            subscription.shipping_method.code if subscription.shipping_method_id else None
        )
        initial["payment_method"] = subscription.payment_method
        self.subscription = subscription
        self.lines = list(subscription.lines.order_by("pk"))
        for line in self.lines:
            initial[f"quantity_{line.sku}"] = line.quantity
        super().__init__(*args, initial=initial, **kwargs)
        for line in self.lines:
            self.fields[f"quantity_{line.sku}"] = forms.IntegerField(
                label=f"Quantity of {line.sku}", min_value=0, max_value=10000
            )

    def clean_country(self):
        try:
            return CountryCodeField().to_internal_value(self.cleaned_data["country"])
        except Exception as error:
            raise forms.ValidationError(getattr(error, "detail", str(error)))

    def changes(self) -> dict:
        data = self.cleaned_data
        method = data.get("shipping_method")
        return {
            "quantities": {line.sku: data[f"quantity_{line.sku}"] for line in self.lines},
            "shipping_address": {
                field: data.get(field, "") for field in ADDRESS_FIELDS if data.get(field)
            },
            "shipping_method": method.code if method else None,
            **self._payment_changes(),
        }

    def _payment_changes(self) -> dict:
        """The payment fields staff changed: an empty or unchanged field keeps what is stored."""
        data = self.cleaned_data
        changes = {}
        method = data.get("payment_method")
        if method and method != self.subscription.payment_method:
            changes["payment_method"] = method
        if data.get("payment_reference"):
            changes["payment_reference"] = data["payment_reference"]
        return changes


class SubscriptionEntryForm(EntryForm):
    """A new subscription entered by staff, e.g. signed up by phone."""

    payment_method = forms.CharField(max_length=50, help_text="e.g. card.")
    payment_reference = forms.CharField(
        max_length=100, help_text="The stored payment method's token at the payment provider."
    )
    interval_unit = forms.ChoiceField(choices=IntervalUnit.choices, initial=IntervalUnit.MONTH)
    interval_count = forms.IntegerField(
        min_value=1, max_value=MAX_INTERVAL_COUNT, initial=1, label="Every"
    )
    anchor_day = forms.IntegerField(
        required=False,
        help_text="Monthly: day of the month (1-31). Weekly: weekday (1 = Monday). "
        "Empty: the start date's.",
    )
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="e.g. Europe/Berlin.")
    local_time = forms.TimeField(initial="09:00", help_text="When each run is placed (HH:MM).")
    start_date = forms.DateField(help_text="YYYY-MM-DD")
    end_date = forms.DateField(required=False, help_text="YYYY-MM-DD; empty: no end.")
    max_orders = forms.IntegerField(
        required=False, min_value=1, help_text="Empty: as many as the schedule allows."
    )

    GROUPS = [
        ("Subscription", ["channel", "currency"]),
        EntryForm.CUSTOMER_GROUP,
        ("Delivery", ["shipping_method"]),
        EntryForm.ADDRESS_GROUP,
        ("Lines and totals", ["lines", "shipping_total", "tax_total"]),
        ("Payment", ["payment_method", "payment_reference"]),
        ("Schedule", [
            "interval_unit", "interval_count", "anchor_day", "time_zone", "local_time",
            "start_date", "end_date", "max_orders",
        ]),
    ]

    def body(self) -> dict:
        """The API's subscription body for what the form holds."""
        data = self.cleaned_data
        body = {
            **self.common_body(),
            "payment_method": data["payment_method"],
            "payment_reference": data["payment_reference"],
            "interval_unit": data["interval_unit"],
            "interval_count": data["interval_count"],
            "time_zone": data["time_zone"],
            "local_time": data["local_time"].isoformat(),
            "start_date": data["start_date"].isoformat(),
        }
        for name in ("anchor_day", "max_orders"):
            if data[name] is not None:
                body[name] = data[name]
        if data["end_date"]:
            body["end_date"] = data["end_date"].isoformat()
        return body


@admin.register(Subscription)
class SubscriptionAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = [
        "id", "customer_email", "channel", "status_badge", "schedule", "next_run", "upcoming",
        "occurrence_count",
    ]
    list_display_links = ["id", "customer_email"]
    list_filter = ["status", "channel", "interval_unit", "pause_reason"]
    list_select_related = ["channel", "customer"]
    search_fields = ["customer__email", "id"]
    search_help_text = "A subscription number, or the start of an e-mail address."
    show_full_result_count = False
    ordering = ["-id"]
    inlines = [SubscriptionLineInline, SubscriptionOccurrenceInline, SubscriptionEventInline]
    actions = ["pause_selected", "resume_selected", "cancel_selected"]
    object_actions = ("pause", "resume", "skip_next", "cancel")
    show_save_buttons = False
    fieldsets = [
        (
            None,
            {"fields": [("channel", "customer", "customer_email"), ("status", "pause_reason")]},
        ),
        (
            "Schedule",
            {
                "fields": [
                    ("interval_unit", "interval_count", "anchor_day"),
                    ("time_zone", "local_time"), ("start_date", "end_date", "max_orders"),
                    ("occurrence_count", "next_run", "upcoming"),
                ]
            },
        ),
        (
            "Delivery and payment",
            {
                "fields": [
                    "address", "shipping_method", ("currency", "shipping_total", "tax_total"),
                    ("payment_method", "payment_reference"), "attributes_pretty",
                ]
            },
        ),
        ("Record", {"fields": [("created_at", "updated_at", "cancelled_at")]}),
    ]
    readonly_fields = [
        "channel", "customer", "customer_email", "status", "pause_reason", "interval_unit",
        "interval_count", "anchor_day", "time_zone", "local_time", "start_date", "end_date",
        "max_orders", "occurrence_count", "next_run", "upcoming", "address", "shipping_method",
        "currency", "shipping_total", "tax_total", "payment_method", "payment_reference",
        "attributes_pretty", "created_at", "updated_at", "cancelled_at",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel", "customer")

    def search_condition(self, term: str) -> Q:
        # The customer's current address, not the copy taken at sign-up.
        condition = Q(
            customer__in=Customer.objects.filter(email__istartswith=term).values("pk")
        )
        if term.isdigit():
            condition |= Q(pk=int(term))
        return condition

    # --- columns --------------------------------------------------------------------------

    @admin.display(description="e-mail")
    def customer_email(self, subscription: Subscription) -> str:
        return subscription.customer.email

    @admin.display(description="status", ordering="status")
    def status_badge(self, subscription: Subscription) -> str:
        return status_badge(subscription.status, subscription.get_status_display())

    @admin.display(description="every")
    def schedule(self, subscription: Subscription) -> str:
        unit = subscription.get_interval_unit_display().lower()
        if subscription.interval_count == 1:
            unit = unit.rstrip("s")
        return f"{subscription.interval_count} {unit} at {subscription.local_time:%H:%M}"

    @admin.display(description="next run", ordering="next_run_at")
    def next_run(self, subscription: Subscription) -> str:
        runs = selectors.upcoming_runs(subscription, count=1)
        return _local(runs[0], subscription) if runs else "—"

    @admin.display(description="upcoming runs")
    def upcoming(self, subscription: Subscription) -> str:
        runs = selectors.upcoming_runs(subscription, count=4)[1:]
        if not runs:
            return "—"
        return format_html_join(
            "", "<div>{}</div>", ((_local(moment, subscription),) for moment in runs)
        )

    @admin.display(description="shipping address")
    def address(self, subscription: Subscription) -> str:
        return pretty_json(subscription.shipping_address)

    @admin.display(description="attributes")
    def attributes_pretty(self, subscription: Subscription) -> str:
        return pretty_json(subscription.attributes)

    # --- buttons and actions --------------------------------------------------------------

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        if obj.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
            url = reverse("admin:orders_subscription_change_contents", args=[obj.pk])
            return [("Change quantities, address, shipping method or payment details", url)]
        return []

    @object_action(label="Pause", is_visible=lambda obj: obj.status == SubscriptionStatus.ACTIVE)
    def pause(self, request, obj):
        self._run(request, obj, lambda: services.subscription_pause(
            subscription=obj, actor=_actor(request), reason=Subscription.PauseReason.STAFF
        ), "paused")

    @object_action(label="Resume", is_visible=lambda obj: obj.status == SubscriptionStatus.PAUSED)
    def resume(self, request, obj):
        self._run(request, obj, lambda: services.subscription_resume(
            subscription=obj, actor=_actor(request)
        ), "resumed")

    @object_action(
        label="Skip next run", is_visible=lambda obj: obj.status == SubscriptionStatus.ACTIVE
    )
    def skip_next(self, request, obj):
        self._run(request, obj, lambda: services.subscription_skip_next(
            subscription=obj, actor=_actor(request)
        ), "next run skipped")

    @object_action(
        label="Cancel subscription",
        is_visible=lambda obj: obj.status
        in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED),
    )
    def cancel(self, request, obj):
        self._run(request, obj, lambda: services.subscription_cancel(
            subscription=obj, actor=_actor(request), reason="Cancelled by staff"
        ), "cancelled")

    def _run(self, request, obj, call, done: str) -> None:
        try:
            call()
        except OmsError as error:
            self.message_user(request, f"{obj}: {error.detail}", messages.ERROR)
        else:
            self.message_user(request, f"{obj}: {done}.", messages.SUCCESS)

    @admin.action(description="Pause selected subscriptions")
    def pause_selected(self, request, queryset):
        run_for_each(self, request, queryset, lambda obj: services.subscription_pause(
            subscription=obj, actor=_actor(request), reason=Subscription.PauseReason.STAFF
        ) and "paused")

    @admin.action(description="Resume selected subscriptions")
    def resume_selected(self, request, queryset):
        run_for_each(self, request, queryset, lambda obj: services.subscription_resume(
            subscription=obj, actor=_actor(request)
        ) and "resumed")

    @admin.action(description="Cancel selected subscriptions")
    def cancel_selected(self, request, queryset):
        run_for_each(self, request, queryset, lambda obj: services.subscription_cancel(
            subscription=obj, actor=_actor(request), reason="Cancelled by staff"
        ) and "cancelled")

    # --- pages ----------------------------------------------------------------------------

    def get_urls(self):
        own = [
            path(
                "forecast/",
                self.admin_site.admin_view(self.forecast_view),
                name="orders_subscription_forecast",
            ),
            path(
                "<int:object_id>/change-contents/",
                self.admin_site.admin_view(self.change_contents_view),
                name="orders_subscription_change_contents",
            ),
        ]
        return own + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        """A new subscription through the API's validation and `subscription_create`."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SubscriptionEntryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            subscription = self._create(request, form)
            if subscription is not None:
                self.log_addition(request, subscription, [{"added": {}}])
                self.message_user(
                    request,
                    f"{subscription} created; first run {subscription.next_occurrence_date}.",
                    messages.SUCCESS,
                )
                return redirect(self.object_change_url(subscription))
        return form_page(
            self,
            request,
            form=form,
            title="Add subscription",
            submit_label="Create subscription",
            intro="The subscription places an ordinary order on every run of its schedule, "
            "charging the stored payment method; the customer is reminded before each run as "
            "the channel sets. Nothing is saved unless the whole subscription is valid.",
        )

    def _create(self, request, form: SubscriptionEntryForm) -> Subscription | None:
        payload = SubscriptionCreateSerializer(data=form.body())
        if not payload.is_valid():
            add_errors(form, payload.errors)
            return None
        try:
            return services.subscription_create(
                channel=form.cleaned_data["channel"],
                data=dict(payload.validated_data),
                actor=_actor(request),
            )
        except OmsError as error:
            add_service_error(form, error)
        return None

    def forecast_view(self, request):
        """Expected subscription demand per SKU for the next 30 days."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Subscription demand, next {FORECAST_DAYS} days",
            "opts": self.opts,
            "rows": subscription_demand_rows(FORECAST_DAYS),
            "days": FORECAST_DAYS,
            "changelist_url": reverse("admin:orders_subscription_changelist"),
        }
        return TemplateResponse(request, "admin/orders/subscription/forecast.html", context)

    def change_contents_view(self, request, object_id: int):
        """Change quantities, the shipping address or method, or the payment details through
        `subscription_change`."""
        subscription = self.get_object(request, str(object_id))
        if subscription is None:
            return redirect(reverse("admin:orders_subscription_changelist"))
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        form = SubscriptionChangeForm(request.POST or None, subscription=subscription)
        if request.method == "POST" and form.is_valid():
            try:
                services.subscription_change(
                    subscription=subscription, actor=_actor(request), **form.changes()
                )
            except OmsError as error:
                add_service_error(form, error, place=_change_place)
            else:
                self.message_user(request, f"{subscription}: changed.", messages.SUCCESS)
                return redirect(self.object_change_url(subscription))
        return form_page(
            self,
            request,
            form=form,
            title="Change contents",
            submit_label="Save changes",
            intro="The changes apply to every run not placed yet. A quantity of 0 removes the "
            "line; at least one line stays. New payment details are also used for payment "
            "retries; a subscription paused after a declined payment stays paused until "
            "resumed.",
            original=subscription,
        )


def _change_place(form: SubscriptionChangeForm, path: tuple[str, ...]) -> tuple[str | None, str]:
    """A quantity's error on its SKU's field, an address part's on its field."""
    if len(path) == 2 and path[0] == "quantities" and f"quantity_{path[1]}" in form.fields:
        return f"quantity_{path[1]}", ""
    if path == ("quantities",):
        return None, ""
    if len(path) == 2 and path[0] == "shipping_address" and path[1] in form.fields:
        return path[1], ""
    return field_place(form, path)


def _local(moment, subscription: Subscription) -> str:
    return format_html(
        "{} <small>{}</small>", moment.strftime("%Y-%m-%d %H:%M"), subscription.time_zone
    )


class SalesChannelWithSubscriptionsAdmin(SalesChannelAdmin):
    fieldsets = [
        *SalesChannelAdmin.fieldsets[:-1],
        ("Subscriptions", {"fields": ["subscription_reminder_days"]}),
        SalesChannelAdmin.fieldsets[-1],
    ]


admin.site.unregister(SalesChannel)
admin.site.register(SalesChannel, SalesChannelWithSubscriptionsAdmin)
