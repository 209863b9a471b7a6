"""Admin for shipments (with "Add tracking…" for one recorded without a tracking number),
tracking events and the accounting journal; shipments and customer e-mails on the order page.

Loaded from the end of `orders/admin.py`. The order page gains its shipments (inline) and its
customer e-mails (with links to each e-mail, whose page has the Resend button) by subclassing
the registered order admin and registering the subclass in its place.
"""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join

from oms_project.admin import (
    ObjectActionsMixin,
    ViewOnlyMixin,
    form_page,
    object_action,
    run_for_each,
)
from oms_project.errors import OmsError
from oms_project.models import EmailMessage
from orders.accounting import (
    COLUMNS,
    accounting_journal,
    accounting_journal_csv,
    neighbouring_days,
)
from orders.entry_forms import add_errors, field_place, in_words
from orders.models import AccountingJournal, Order, Shipment, ShipmentEvent
from orders.notifications import customer_may_be_emailed
from orders.services.shipment_intake import shipments_record
from orders.services.shipments import order_can_ship
from orders.services.tracking import (
    FINAL_STATUSES,
    shipment_mark_delivered,
    shipment_tracking_update,
)
from warehouses.models import ServiceLevel, Warehouse

ORDER_EMAILS_SHOWN = 50


class ShipmentInline(admin.TabularInline):
    model = Shipment
    extra = 0
    can_delete = False
    fields = [
        "reference_link", "carrier_name", "tracking_link", "status", "shipped_at",
        "estimated_delivery_date", "delivered_at",
    ]
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="reference")
    def reference_link(self, shipment: Shipment) -> str:
        url = reverse("admin:orders_shipment_change", args=[shipment.pk])
        return format_html("<a href='{}'>{}</a>", url, shipment.reference)

    @admin.display(description="tracking")
    def tracking_link(self, shipment: Shipment) -> str:
        if shipment.tracking_url:
            return format_html(
                "<a href='{}' rel='noopener' target='_blank'>{}</a>",
                shipment.tracking_url,
                shipment.tracking_number or "link",
            )
        return shipment.tracking_number or "—"


def order_emails_table(order: Order) -> str:
    """The order's customer e-mails, newest first, each linking to its page (Resend is there)."""
    if not order.pk:
        return "—"
    reference = f"order:{order.number}"
    emails = list(
        EmailMessage.objects.filter(reference=reference)
        .order_by("-id")
        .only("id", "created_at", "to", "template", "subject", "status", "sent_at")
        [:ORDER_EMAILS_SHOWN]
    )
    if not emails:
        return "No e-mails yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(email.created_at).strftime("%Y-%m-%d %H:%M"),
                reverse("admin:oms_project_emailmessage_change", args=[email.pk]),
                email.subject,
                email.template,
                email.to,
                email.get_status_display(),
            )
            for email in emails
        ),
    )
    everything = reverse("admin:oms_project_emailmessage_changelist") + f"?q={reference}"
    return format_html(
        "<table><thead><tr><th>Queued</th><th>Subject (open to view or resend)</th>"
        "<th>Template</th><th>To</th><th>Status</th></tr></thead><tbody>{}</tbody></table>"
        "<p><a href='{}'>All e-mails about this order</a></p>",
        rows,
        everything,
    )


BaseOrderAdmin = type(admin.site.get_model_admin(Order))


class OrderWithShipmentsAdmin(BaseOrderAdmin):
    inlines = [*BaseOrderAdmin.inlines, ShipmentInline]
    readonly_fields = [*BaseOrderAdmin.readonly_fields, "customer_emails"]
    fieldsets = [*BaseOrderAdmin.fieldsets, ("Customer e-mails", {"fields": ["customer_emails"]})]

    @admin.display(description="e-mails")
    def customer_emails(self, order: Order) -> str:
        return order_emails_table(order)

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        links = list(super().get_object_links(request, obj))
        if not order_can_ship(obj):  # pickups are handed over; finished orders ship no more
            return links
        add_url = reverse("admin:orders_shipment_add") + f"?order={obj.number}"
        return [*links, ("Add shipment", add_url)]


admin.site.unregister(Order)
admin.site.register(Order, OrderWithShipmentsAdmin)


# --- Shipments ------------------------------------------------------------------------------


class ShipmentEventInline(admin.TabularInline):
    model = ShipmentEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "status", "location", "message", "actor", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ShipmentAddForm(forms.Form):
    """What staff enter to record a shipment; `shipments_record` checks it against the order."""

    order = forms.CharField(max_length=32, help_text="The order number.")
    reference = forms.CharField(max_length=100, help_text="Unique per order, e.g. a parcel id.")
    service_level = forms.ModelChoiceField(
        queryset=ServiceLevel.objects.select_related("carrier"), required=False
    )
    carrier = forms.CharField(
        max_length=100, required=False, help_text="A carrier code or name, if no service level."
    )
    tracking_number = forms.CharField(max_length=100, required=False)
    tracking_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Leave empty to build it from the carrier.",
    )
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.all(), required=False)
    status = forms.ChoiceField(choices=Shipment.Status.choices, initial=Shipment.Status.AWAITING)
    estimated_delivery_date = forms.DateField(required=False, help_text="YYYY-MM-DD")
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One line per order line: `line id x quantity`, e.g. `1234 x 2`.",
    )

    def clean_order(self):
        order = Order.objects.filter(number=self.cleaned_data["order"].strip()).first()
        if order is None:
            raise forms.ValidationError("No such order.")
        return order

    def clean_lines(self):
        lines = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not raw.strip():
                continue
            line_id, separator, quantity = raw.lower().replace("×", "x").partition("x")
            try:
                lines.append({"line_id": int(line_id), "quantity": int(quantity)})
            except ValueError:
                raise forms.ValidationError(f"Row {number}: write `line id x quantity`.")
            if not separator or lines[-1]["quantity"] <= 0:
                raise forms.ValidationError(f"Row {number}: the quantity must be positive.")
        if not lines:
            raise forms.ValidationError("List at least one line.")
        return lines


class TrackingForm(forms.Form):
    """A tracking number added to a shipment recorded without one."""

    carrier = forms.CharField(
        max_length=100, required=False,
        help_text="A carrier code or name; leave empty to keep the shipment's carrier.",
    )
    tracking_number = forms.CharField(max_length=100)
    tracking_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https",
        help_text="Leave empty to build it from the carrier (needed for a carrier the OMS "
        "does not know).",
    )


# Where the tracking service's refusals belong on the form.
TRACKING_FORM_FIELDS = ("carrier", "tracking_number", "tracking_url")


def is_missing_tracking(shipment: Shipment) -> bool:
    """Whether the shipment page offers "Add tracking…": no number yet, still on its way."""
    return not shipment.tracking_number and shipment.status not in FINAL_STATUSES


@admin.register(Shipment)
class ShipmentAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = [
        "reference", "order_link", "carrier_name", "tracking_number", "status", "shipped_at",
        "estimated_delivery_date", "delivered_at",
    ]
    list_filter = ["status", ("shipped_at", admin.DateFieldListFilter)]
    list_select_related = ["order"]
    search_fields = ["tracking_number", "order__number", "reference"]
    search_help_text = "Exact tracking number, order number or shipment reference."
    show_full_result_count = False
    inlines = [ShipmentEventInline]
    object_actions = ("mark_delivered",)
    actions = ["mark_delivered_selected"]
    fields = [
        "order_link", "reference", "warehouse", "carrier_name", "service_level",
        "tracking_number", "tracking_url", "status", "shipped_at", "estimated_delivery_date",
        "delivered_at", "created_by", "created_at", "line_table",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(tracking_number=term) | Q(order__number=term) | Q(reference=term)
        return queryset.filter(condition), False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/tracking/", view(self.tracking_view), name="orders_shipment_tracking"),
            *super().get_urls(),
        ]

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        links = list(super().get_object_links(request, obj))
        if is_missing_tracking(obj):
            links.append(("Add tracking…", reverse("admin:orders_shipment_tracking",
                                                   args=[obj.pk])))
        return links

    def tracking_view(self, request, pk: int):
        """Add the tracking number of a shipment recorded without one, through
        `shipment_tracking_update`: the customer is e-mailed the tracking link."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order__channel"), pk=pk)
        if shipment.tracking_number:
            self.message_user(
                request, f"Shipment {shipment.reference} already has tracking number "
                f"{shipment.tracking_number}.", messages.ERROR,
            )
            return redirect(reverse("admin:orders_shipment_change", args=[pk]))
        form = TrackingForm(request.POST or None, initial={"carrier": shipment.carrier_name})
        if request.method == "POST" and form.is_valid() and self._add_tracking(
            request, shipment, form
        ):
            return redirect(reverse("admin:orders_shipment_change", args=[pk]))
        return form_page(
            self, request, form=form, title=f"Add tracking to shipment {shipment.reference}",
            submit_label="Add tracking", original=shipment,
            intro=f"Order {shipment.order.number}. The customer is e-mailed the tracking link, "
            "as when a shipment is recorded with its tracking number.",
        )

    def _add_tracking(self, request, shipment: Shipment, form: TrackingForm) -> bool:
        data = form.cleaned_data
        try:
            updated = shipment_tracking_update(
                shipment=shipment, tracking_number=data["tracking_number"],
                actor=f"user:{request.user.get_username()}", carrier_name=data["carrier"],
                tracking_url=data["tracking_url"],
            )
        except OmsError as error:
            placed = {
                field: reasons for field, reasons in (error.errors or {}).items()
                if field in TRACKING_FORM_FIELDS
            }
            for field, reasons in placed.items():
                for reason in reasons:
                    form.add_error(field, reason)
            if not placed:
                form.add_error(None, error.detail)
            return False
        tracking = " ".join(part for part in (updated.carrier_name, updated.tracking_number)
                            if part)
        told = ("the customer was e-mailed the tracking link"
                if customer_may_be_emailed(shipment.order)
                else "the customer of this order is not e-mailed")
        self.message_user(
            request, f"Tracking {tracking} added to shipment {updated.reference}; {told}.",
            messages.SUCCESS,
        )
        return True

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="order", ordering="order__number")
    def order_link(self, shipment: Shipment) -> str:
        url = reverse("admin:orders_order_change", args=[shipment.order_id])
        return format_html("<a href='{}'>{}</a>", url, shipment.order.number)

    @admin.display(description="lines")
    def line_table(self, shipment: Shipment) -> str:
        rows = (
            (line.order_line_id, line.order_line.sku, line.order_line.name, line.quantity)
            for line in shipment.lines.select_related("order_line")
        )
        return format_html(
            "<table><thead><tr><th>Line</th><th>SKU</th><th>Name</th><th>Units</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def add_view(self, request, form_url="", extra_context=None):
        """Record a shipment through `shipments_record` (stock, order status, e-mail)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"order": request.GET.get("order", "")}
        form = ShipmentAddForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            shipment = self._record(request, form)
            if shipment is not None:
                return redirect(reverse("admin:orders_order_change", args=[shipment.order_id]))
        return form_page(
            self,
            request,
            form=form,
            title="Add shipment",
            submit_label="Record shipment",
            intro="The units leave stock at once (on hand and allocated both fall) and the order "
            "moves to partially shipped or shipped. With a tracking number the customer is "
            "e-mailed the tracking link.",
        )

    def _record(self, request, form: ShipmentAddForm) -> Shipment | None:
        data = dict(form.cleaned_data)
        order = data.pop("order")
        data["carrier"] = data.get("carrier") or ""
        data["service_level"] = data["service_level"].code if data["service_level"] else ""
        data["warehouse"] = data["warehouse"].code if data["warehouse"] else ""
        try:
            [[(shipment, created)]] = shipments_record(
                batches=[(order, [data])], actor=f"user:{request.user.get_username()}"
            )
        except OmsError as error:
            details = (error.errors or {}).get("0", {}).get("shipments", {}).get("0", {})
            form.add_error(None, error.detail)
            add_errors(form, details, place=_shipment_place, skip={error.detail})
            return None
        verb = "recorded" if created else "already existed"
        self.message_user(
            request, f"Shipment {shipment.reference} of order {order.number} {verb}.",
            messages.SUCCESS if created else messages.WARNING,
        )
        return shipment

    def _deliver(self, request, shipments) -> None:
        actor = f"user:{request.user.get_username()}"

        def deliver(shipment: Shipment) -> str:
            if shipment.status == Shipment.Status.DELIVERED:
                return "was already delivered."
            shipment_mark_delivered(shipment=shipment, actor=actor)
            return "marked delivered."

        run_for_each(self, request, shipments, deliver)

    @admin.action(description="Mark selected shipments delivered", permissions=["change"])
    def mark_delivered_selected(self, request, queryset) -> None:
        self._deliver(request, queryset.order_by("pk"))

    @object_action(
        label="Mark delivered",
        is_visible=lambda shipment: shipment.status != Shipment.Status.DELIVERED,
    )
    def mark_delivered(self, request, shipment: Shipment) -> None:
        self._deliver(request, [shipment])


@admin.register(ShipmentEvent)
class ShipmentEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "shipment", "status", "location", "message", "actor"]
    list_filter = ["status"]
    list_select_related = ["shipment"]
    show_full_result_count = False


# --- Accounting journal ---------------------------------------------------------------------


@admin.register(AccountingJournal)
class AccountingJournalAdmin(admin.ModelAdmin):
    """One day's sales, cancellations and refunds per channel, with a CSV download."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def changelist_view(self, request, extra_context=None):
        text = request.GET.get("date") or timezone.localdate().isoformat()
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        error = "" if day else f"'{text}' is not a date (YYYY-MM-DD)."
        day = day or timezone.localdate()
        rows = accounting_journal(day=day)
        previous_day, next_day = neighbouring_days(day)
        if request.GET.get("format") == "csv" and not error:
            response = HttpResponse(accounting_journal_csv(rows), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="journal-{day}.csv"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"Accounting journal for {day.isoformat()}",
            "opts": self.opts,
            "day": day,
            "previous_day": previous_day,
            "next_day": next_day,
            "columns": COLUMNS[1:],
            "rows": [[row[column] for column in COLUMNS[1:]] for row in rows],
            "error": error,
        }
        return TemplateResponse(request, "admin/orders/accountingjournal/journal.html", context)


def _shipment_place(form, path: tuple[str, ...]) -> tuple[str | None, str]:
    """A shipment's line errors on "lines", each named by its order line id."""
    if len(path) >= 2 and path[0] == "lines" and path[1].isdigit():
        part = f" ({in_words(path[2:]).lower()})" if path[2:] else ""
        return "lines", f"Order line {path[1]}{part}"
    return field_place(form, path)
