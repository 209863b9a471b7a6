"""Admin for fulfillment: the warehouse queue (fulfillment orders by promise date with pick,
pack, ship with tracking and re-route), printable pick lists, routing rules per channel with a
dry run, and "why this location" on the order page.

Imported from the bottom of `orders.admin`; it extends the registered order admin the same way
the shipment admin does (subclass, unregister, register).
"""

from collections import defaultdict
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from oms_project.admin import ObjectActionsMixin, form_page, take_saved
from oms_project.errors import OmsError
from orders.fulfillment_errors import RerouteRefused
from orders.fulfillment_states import ACTIVE_FULFILLMENT_STATUSES, FulfillmentStatus
from orders.models import (
    FulfillmentMethod,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Order,
    OrderEvent,
    RoutingDecision,
    RoutingRuleSet,
)
from orders.notifications import customer_may_be_emailed
from orders.services import fulfillment as services
from orders.services.fulfillment.pickup_reminders import ready_for_pickup_since
from orders.services.routing_rules import routing_rules_check, routing_rules_save, routing_simulate
from warehouses.models import ServiceLevel, Warehouse
from warehouses.routing import STRATEGIES

# The batch pick list sends pickers only to units still to take off the shelf.
PICKABLE_STATUSES = [FulfillmentStatus.OPEN, FulfillmentStatus.PICKING]


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


def explanation_html(decision: RoutingDecision) -> str:
    """A table of every candidate: rank, distance, promise, and why it was rejected."""
    explanation = decision.explanation or {}
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                candidate["location"],
                "chosen" if candidate["chosen"] else (candidate["rank"] or "—"),
                candidate["coverable_units"],
                "" if candidate["distance_km"] is None else f"{candidate['distance_km']} km",
                candidate["delivery_date"] or "",
                "; ".join(candidate["rejected"] + candidate["notes"]),
            )
            for candidate in explanation.get("candidates", [])
        ),
    )
    return format_html(
        "<p>{} (rules v{}, {})</p><table><thead><tr><th>Location</th><th>Rank</th>"
        "<th>Units it can fill</th><th>Distance</th><th>Delivery</th><th>Why not</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        explanation.get("reason", ""),
        decision.rules_version,
        " > ".join(decision.strategies),
        rows,
    )


class RoutingDecisionInline(admin.StackedInline):
    model = RoutingDecision
    extra = 0
    can_delete = False
    verbose_name_plural = "Routing decisions (why this location)"
    fields = ["created_at", "trigger", "locations", "is_complete", "is_split", "why"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Why")
    def why(self, decision: RoutingDecision) -> str:
        return explanation_html(decision)


class FulfillmentOrderInline(admin.TabularInline):
    model = FulfillmentOrder
    extra = 0
    can_delete = False
    fields = ["link", "warehouse", "status", "hold_reason", "promised_ship_date",
              "promised_delivery_date"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Fulfillment order")
    def link(self, fulfillment_order: FulfillmentOrder) -> str:
        url = reverse("admin:orders_fulfillmentorder_change", args=[fulfillment_order.pk])
        return format_html('<a href="{}">FO-{}</a>', url, fulfillment_order.pk)


BaseOrderAdmin = type(admin.site.get_model_admin(Order))


class OrderWithFulfillmentAdmin(BaseOrderAdmin):
    inlines = [*BaseOrderAdmin.inlines, FulfillmentOrderInline, RoutingDecisionInline]
    readonly_fields = [*BaseOrderAdmin.readonly_fields, "promised_ship_date",
                       "promised_delivery_date"]
    fieldsets = [*BaseOrderAdmin.fieldsets,
                 ("Promise", {"fields": ["promised_ship_date", "promised_delivery_date"]})]


admin.site.unregister(Order)
admin.site.register(Order, OrderWithFulfillmentAdmin)


class FulfillmentOrderLineInline(admin.TabularInline):
    model = FulfillmentOrderLine
    extra = 0
    can_delete = False
    fields = ["order_line", "sku", "quantity"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="SKU")
    def sku(self, row: FulfillmentOrderLine) -> str:
        return row.order_line.sku


class PackForm(forms.Form):
    scans = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "autofocus": True}),
        help_text="Scan or type one SKU or barcode per line; 'SKU x 3' counts three units.",
    )

    def scanned(self) -> list:
        items = []
        for raw in self.cleaned_data["scans"].splitlines():
            text = raw.strip()
            if not text:
                continue
            sku, _, count = text.partition(" x ")
            if count.strip().isdigit():
                items.append({"sku": sku.strip(), "quantity": int(count.strip())})
            else:
                items.append(text)
        return items


class ShipForm(forms.Form):
    """The parcel's carrier and tracking; `fulfillment_ship` checks them against the OMS's
    carriers."""

    service_level = forms.ModelChoiceField(
        queryset=ServiceLevel.objects.select_related("carrier").order_by("code"),
        required=False,
        help_text="The fulfillment order's service level unless changed; its carrier builds "
        "the tracking link.",
    )
    carrier = forms.CharField(
        max_length=100, required=False,
        help_text="A carrier code or name, when the parcel goes with another carrier than "
        "the service level's.",
    )
    tracking_number = forms.CharField(max_length=100)
    tracking_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https",
        help_text="Leave empty to build it from the carrier (needed for a carrier the OMS "
        "does not know).",
    )
    estimated_delivery_date = forms.DateField(
        required=False,
        help_text="YYYY-MM-DD; leave empty for the date promised for this fulfillment order.",
    )

    def clean_estimated_delivery_date(self):
        expected = self.cleaned_data.get("estimated_delivery_date")
        if expected is not None and expected < timezone.localdate():
            # It ships now: a date already past would make the parcel late at once.
            raise forms.ValidationError("Give today or a later date.")
        return expected

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("service_level") and not cleaned.get("carrier"):
            raise forms.ValidationError("Choose a service level or enter a carrier.")
        return cleaned


# Where the ship step's refusals belong on the Ship form.
SHIP_FORM_FIELDS = {"carrier": "carrier", "tracking_url": "tracking_url",
                    "tracking_number": "tracking_number"}


class RerouteForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True),
        required=False,
        help_text="Leave empty to let the channel's rules choose another location.",
    )
    reason = forms.CharField(max_length=200)


def _reroute_refusal(error: RerouteRefused, fulfillment_order, warehouse) -> RerouteRefused:
    """The refusal to re-route to "any other location", said plainly with each location's
    reason; other refusals as they are."""
    reasons = (error.errors or {}).get("warehouse")
    if warehouse is not None or not reasons:
        return error
    return RerouteRefused(
        f"No other location can take every unit of fulfillment order {fulfillment_order.pk} "
        f"({'; '.join(reasons)}); nothing was changed.",
        errors=error.errors,
    )


class WaitingForPickupFilter(admin.SimpleListFilter):
    """Pickups left on the shelf: ready for pickup for more than N days, not collected."""

    title = "waiting for pickup"
    parameter_name = "ready_for_pickup_over_days"

    def lookups(self, request, model_admin):
        days = {settings.OMS_PICKUP_REMINDER_DAYS or 3, 7, 14}
        return [(str(n), f"Ready for pickup for more than {n} days") for n in sorted(days)]

    def queryset(self, request, queryset):
        value = self.value() or ""
        if not value.isdigit():
            return queryset
        before = timezone.now() - timedelta(days=int(value))
        return queryset.filter(ready_for_pickup_since(before=before))


def is_shippable(fulfillment_order: FulfillmentOrder) -> bool:
    """Whether the queue offers "Ship…": packed and not a pickup (those are handed over)."""
    return (
        fulfillment_order.status == FulfillmentStatus.PACKED
        and fulfillment_order.order.fulfillment_method != FulfillmentMethod.PICKUP
    )


@admin.register(FulfillmentOrder)
class FulfillmentOrderAdmin(ObjectActionsMixin, admin.ModelAdmin):
    """The warehouse queue: filter by location, ordered by promised ship date."""

    list_display = ["__str__", "order_number", "warehouse", "status", "promised_ship_date",
                    "promised_delivery_date", "hold_reason", "created_at", "documents"]
    list_filter = ["status", "warehouse", WaitingForPickupFilter]
    list_select_related = ["order", "warehouse"]
    ordering = ["promised_ship_date", "id"]
    search_fields = ["order__number"]
    search_help_text = "An exact order number."
    show_full_result_count = False
    inlines = [FulfillmentOrderLineInline]
    readonly_fields = ["order", "warehouse", "status", "status_before_hold", "hold_reason",
                       "service_level", "promised_ship_date", "promised_delivery_date",
                       "routing_decision", "shipment", "packed_at", "pickup_code_used_at",
                       "created_at", "updated_at", "work_history"]
    fields = readonly_fields
    actions = ["start_picking", "ship_packed", "mark_ready_for_pickup", "close_shipped",
               "reroute", "batch_pick_list"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(order__number=search_term.strip()), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, fulfillment_order: FulfillmentOrder) -> str:
        return fulfillment_order.order.number

    @admin.display(description="Work history")
    def work_history(self, fulfillment_order: FulfillmentOrder) -> str:
        """The fulfillment order's own events, so the location sees why its work changed
        (e.g. a re-pack after units were cancelled), without reading the order's timeline."""
        events = OrderEvent.objects.filter(
            order_id=fulfillment_order.order_id, data__fulfillment_order=fulfillment_order.pk
        ).order_by("pk")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{} {} {}: {}</li>",
                ((f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M}", event.actor,
                  f"{event.from_status} → {event.to_status}" if event.to_status else event.type,
                  event.message) for event in events),
            ),
        )

    @admin.display(description="Documents")
    def documents(self, fulfillment_order: FulfillmentOrder) -> str:
        links = format_html(
            '<a href="{}">Pick list</a> · <a href="{}">Pack</a>',
            reverse("admin:orders_fulfillmentorder_pick_list", args=[fulfillment_order.pk]),
            reverse("admin:orders_fulfillmentorder_pack", args=[fulfillment_order.pk]),
        )
        if fulfillment_order.status == FulfillmentStatus.READY_FOR_PICKUP:
            links = format_html(
                '{} · <a href="{}">Hand over without code</a>', links,
                reverse("admin:orders_fulfillmentorder_hand_over", args=[fulfillment_order.pk]),
            )
        if is_shippable(fulfillment_order):
            links = format_html(
                '{} · <a href="{}">Ship…</a>', links,
                reverse("admin:orders_fulfillmentorder_ship", args=[fulfillment_order.pk]),
            )
        return links

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        links = list(super().get_object_links(request, obj))
        if obj.status == FulfillmentStatus.READY_FOR_PICKUP:
            links.append((
                "Hand over without code…",
                reverse("admin:orders_fulfillmentorder_hand_over", args=[obj.pk]),
            ))
        if is_shippable(obj):
            links.append(("Ship…", reverse("admin:orders_fulfillmentorder_ship", args=[obj.pk])))
        return links

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/pick-list/", view(self.pick_list_view),
                 name="orders_fulfillmentorder_pick_list"),
            path("<int:pk>/pack/", view(self.pack_view), name="orders_fulfillmentorder_pack"),
            path("<int:pk>/hand-over/", view(self.hand_over_view),
                 name="orders_fulfillmentorder_hand_over"),
            path("<int:pk>/ship/", view(self.ship_view), name="orders_fulfillmentorder_ship"),
            path("batch-pick-list/", view(self.batch_pick_list_view),
                 name="orders_fulfillmentorder_batch_pick_list"),
            *super().get_urls(),
        ]

    def _each(self, request, queryset, work, done) -> None:
        """Run `work` on each selected fulfillment order; `done` is the success message, or
        a function of the order and what `work` returned that gives it."""
        for fulfillment_order in queryset.order_by("pk"):
            try:
                result = work(fulfillment_order)
            except OmsError as error:
                self.message_user(request, f"FO-{fulfillment_order.pk}: {error.detail}",
                                  messages.ERROR)
            else:
                text = done(fulfillment_order, result) if callable(done) else done
                self.message_user(request, f"FO-{fulfillment_order.pk}: {text}",
                                  messages.SUCCESS)

    @admin.action(description="Start picking")
    def start_picking(self, request, queryset):
        self._each(request, queryset, lambda item: services.fulfillment_pick_start(
            fulfillment_order=item, actor=_actor(request)), "picking")

    @admin.action(description="Ship packed fulfillment orders (no tracking)")
    def ship_packed(self, request, queryset):
        """Ship parcels that have no tracking number; the customer gets no tracking e-mail
        until one is added on the shipment ("Add tracking…")."""

        def done(_fulfillment_order, shipped) -> str:
            return (f"shipped as {shipped.shipment.reference} without a tracking number, so "
                    "no tracking e-mail was sent; add it with “Add tracking…” on the shipment, "
                    "or use “Ship…” to ship with tracking.")

        self._each(request, queryset, lambda item: services.fulfillment_ship(
            fulfillment_order=item, actor=_actor(request)), done)

    @admin.action(description="Ready for pickup (e-mails the pickup code)")
    def mark_ready_for_pickup(self, request, queryset):
        def done(fulfillment_order, result) -> str:
            _ready, code = result
            if customer_may_be_emailed(fulfillment_order.order):
                return "ready for pickup, code e-mailed"
            return (f"ready for pickup; the customer of order {fulfillment_order.order.number} "
                    f"is not e-mailed, give them the pickup code {code} (shown only now)")

        self._each(request, queryset.select_related("order__channel"),
                   lambda item: services.fulfillment_ready_for_pickup(
                       fulfillment_order=item, actor=_actor(request)), done)

    @admin.action(description="Close shipped fulfillment orders")
    def close_shipped(self, request, queryset):
        self._each(request, queryset, lambda item: services.fulfillment_close(
            fulfillment_order=item, actor=_actor(request)), "closed")

    @admin.action(description="Re-route to another location")
    def reroute(self, request, queryset):
        form = RerouteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            warehouse = form.cleaned_data["warehouse"]

            def move(item):
                try:
                    return services.fulfillment_reroute(
                        fulfillment_order=item, actor=_actor(request),
                        reason=form.cleaned_data["reason"], warehouse=warehouse,
                    )
                except RerouteRefused as error:
                    raise _reroute_refusal(error, item, warehouse) from error

            self._each(request, queryset, move, "re-routed")
            return None
        return render(request, "fulfillment/admin_reroute.html", {
            **self.admin_site.each_context(request), "form": form, "queryset": queryset,
            "title": "Re-route fulfillment orders", "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    @admin.action(description="Print a batch pick list of the selected")
    def batch_pick_list(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:500])
        return redirect(f"{reverse('admin:orders_fulfillmentorder_batch_pick_list')}?ids={ids}")

    def pick_list_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        fulfillment_order = get_object_or_404(
            FulfillmentOrder.objects.select_related("order", "warehouse"), pk=pk
        )
        rows = fulfillment_order.lines.select_related("order_line__product").order_by(
            "order_line__sku"
        )
        return TemplateResponse(request, "fulfillment/pick_list.html", {
            "fulfillment_order": fulfillment_order, "rows": rows,
        })

    def batch_pick_list_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = FulfillmentOrder.objects.select_related("order", "warehouse")
        ids = [part for part in request.GET.get("ids", "").split(",") if part.strip().isdigit()]
        code = request.GET.get("warehouse", "").strip()
        left_out = []
        if ids:
            selected = queryset.filter(pk__in=ids[:500])
            # Only units still to take off the shelf: not packed, shipped, held or cancelled.
            left_out = list(
                selected.exclude(status__in=PICKABLE_STATUSES)
                .order_by("pk")
                .values_list("pk", "status")
            )
            queryset = selected.filter(status__in=PICKABLE_STATUSES)
        elif code:
            queryset = queryset.filter(warehouse__code=code, status__in=PICKABLE_STATUSES)
        else:
            raise Http404("Choose fulfillment orders or a warehouse.")
        lines = FulfillmentOrderLine.objects.select_related("order_line__product")
        fulfillment_orders = list(
            queryset.order_by("promised_ship_date", "pk")
            .prefetch_related(Prefetch("lines", queryset=lines))[:500]
        )
        return TemplateResponse(request, "fulfillment/batch_pick_list.html", {
            "groups": batch_groups(fulfillment_orders),
            "warehouses": sorted({item.warehouse.code for item in fulfillment_orders}),
            "count": len(fulfillment_orders),
            "left_out": [
                {"id": pk, "status": FulfillmentStatus(status).label} for pk, status in left_out
            ],
            "left_out_note": batch_left_out_note(left_out),
        })

    def pack_view(self, request, pk: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        fulfillment_order = get_object_or_404(
            FulfillmentOrder.objects.select_related("order", "warehouse"), pk=pk
        )
        form = PackForm(request.POST or None)
        problems = {}
        if request.method == "POST" and form.is_valid():
            try:
                services.fulfillment_pack(fulfillment_order=fulfillment_order,
                                          scans=form.scanned(), actor=_actor(request))
            except OmsError as error:
                problems = (error.errors or {}).get("items", {}) if isinstance(
                    error.errors, dict) else {}
                form.add_error(None, error.detail)
            else:
                self.message_user(request, f"FO-{pk} packed.", messages.SUCCESS)
                return redirect("admin:orders_fulfillmentorder_change", pk)
        return TemplateResponse(request, "fulfillment/admin_pack.html", {
            **self.admin_site.each_context(request), "form": form, "problems": problems,
            "fulfillment_order": fulfillment_order, "expected": services.expected_items(
                fulfillment_order), "title": f"Pack FO-{pk}", "opts": self.model._meta,
        })

    def ship_view(self, request, pk: int):
        """Ship a packed fulfillment order with its carrier and tracking number, so the
        customer is e-mailed the tracking link as for shipments over the API."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        fulfillment_order = get_object_or_404(
            FulfillmentOrder.objects.select_related("order__channel", "warehouse"), pk=pk
        )
        form = ShipForm(request.POST or None,
                        initial={"service_level": fulfillment_order.service_level_id})
        if request.method == "POST" and form.is_valid():
            shipped = self._ship(request, fulfillment_order, form)
            if shipped is not None:
                return redirect("admin:orders_fulfillmentorder_change", pk)
        promise = fulfillment_order.promised_delivery_date
        return form_page(
            self, request, form=form, title=f"Ship FO-{pk}", submit_label="Ship",
            original=fulfillment_order,
            intro=f"Order {fulfillment_order.order.number} from "
            f"{fulfillment_order.warehouse.code}, all its units in one parcel"
            + (f", promised for {promise:%Y-%m-%d}" if promise else "")
            + ". With the tracking number the customer is e-mailed the tracking link.",
        )

    def _ship(self, request, fulfillment_order, form: ShipForm):
        data = form.cleaned_data
        try:
            shipped = services.fulfillment_ship(
                fulfillment_order=fulfillment_order, actor=_actor(request),
                service_level=data["service_level"], carrier_name=data["carrier"],
                tracking_number=data["tracking_number"],
                tracking_url=data["tracking_url"],
                estimated_delivery_date=data["estimated_delivery_date"],
            )
        except OmsError as error:
            placed = False
            for field, reasons in (error.errors or {}).items():
                if field in SHIP_FORM_FIELDS:
                    for reason in reasons:
                        form.add_error(SHIP_FORM_FIELDS[field], reason)
                    placed = True
            if not placed:
                form.add_error(None, error.detail)
            return None
        shipment = shipped.shipment
        told = ("the customer was e-mailed the tracking link"
                if customer_may_be_emailed(fulfillment_order.order)
                else "the customer of this order is not e-mailed")
        self.message_user(
            request, f"FO-{fulfillment_order.pk} shipped as {shipment.reference} with "
            f"{shipment.carrier_name} {shipment.tracking_number}; {told}.",
            messages.SUCCESS,
        )
        return shipped

    def hand_over_view(self, request, pk: int):
        """Hand a ready pickup order over without its code, after checking who collects it
        (the code is lost, or wrong guesses locked the counter); the reason is logged."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        fulfillment_order = get_object_or_404(
            FulfillmentOrder.objects.select_related("order", "warehouse"), pk=pk
        )
        form = HandOverForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.fulfillment_hand_over(
                    fulfillment_order=fulfillment_order, actor=_actor(request),
                    reason=form.cleaned_data["reason"],
                )
            except OmsError as error:
                form.add_error(None, error.detail)
            else:
                order = Order.objects.only("number", "status").get(pk=fulfillment_order.order_id)
                self.message_user(
                    request, f"FO-{pk} handed over; order {order.number} is now "
                    f"{order.get_status_display().lower()}.", messages.SUCCESS,
                )
                return redirect("admin:orders_fulfillmentorder_change", pk)
        return form_page(
            self, request, form=form, title=f"Hand over FO-{pk} without the pickup code",
            submit_label="Hand over", original=fulfillment_order,
            intro=f"Order {fulfillment_order.order.number} at "
            f"{fulfillment_order.warehouse.code}. Check the customer's identity against the "
            "order first; the hand-over and its reason are recorded on the order.",
        )


class HandOverForm(forms.Form):
    reason = forms.CharField(
        max_length=255, widget=forms.TextInput(attrs={"size": 60}),
        help_text="How the customer was identified, e.g. \"ID card checked against the order "
        "name\".",
    )


def batch_left_out_note(left_out: list[tuple[int, str]]) -> str:
    """Which selected fulfillment orders the batch pick list leaves out, and why."""
    if not left_out:
        return ""
    return "Left out, nothing to pick: " + ", ".join(
        f"FO-{pk} ({FulfillmentStatus(status).label.lower()})" for pk, status in left_out
    ) + "."


def batch_groups(fulfillment_orders) -> list[dict]:
    """Group the units to pick by SKU, with the orders each serves (for one walk of the shelf)."""
    groups = defaultdict(lambda: {"quantity": 0, "orders": []})
    for fulfillment_order in fulfillment_orders:
        for row in fulfillment_order.lines.all():
            group = groups[(fulfillment_order.warehouse.code, row.order_line.sku)]
            group["name"] = row.order_line.name
            group["barcode"] = row.order_line.product.barcode
            group["quantity"] += row.quantity
            group["orders"].append((fulfillment_order.order.number, fulfillment_order.pk,
                                    row.quantity))
    return [
        {"warehouse": warehouse, "sku": sku, **group}
        for (warehouse, sku), group in sorted(groups.items())
    ]


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class RoutingRuleSetForm(forms.ModelForm):
    strategy_order = forms.CharField(
        label="Strategies",
        help_text="Most important first, comma-separated. Known: " + ", ".join(STRATEGIES) + ".",
    )
    preferred = forms.CharField(required=False, label="Preferred locations",
                                help_text="Location codes ranked first, comma-separated.")
    excluded = forms.CharField(required=False, label="Excluded locations",
                               help_text="Location codes never used, comma-separated.")

    class Meta:
        model = RoutingRuleSet
        fields = ["channel", "is_active", "check_freight", "check_destination", "check_capacity",
                  "check_outages"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("strategy_order", ", ".join(self.instance.strategies))
            self.initial.setdefault("preferred", ", ".join(self.instance.preferred_locations))
            self.initial.setdefault("excluded", ", ".join(self.instance.excluded_locations))
            self.fields["channel"].disabled = True
        else:
            self.initial.setdefault("strategy_order", "priority")

    def rule_values(self) -> dict:
        data = self.cleaned_data
        return {
            "is_active": data["is_active"], "strategies": _codes(data["strategy_order"]),
            "preferred_locations": _codes(data.get("preferred", "")),
            "excluded_locations": _codes(data.get("excluded", "")),
            "check_freight": data["check_freight"], "check_destination": data["check_destination"],
            "check_capacity": data["check_capacity"], "check_outages": data["check_outages"],
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("channel"):
            return cleaned
        try:
            routing_rules_check(channel=cleaned["channel"], values=self.rule_values())
        except OmsError as error:
            names = {"strategies": "strategy_order", "preferred_locations": "preferred",
                     "excluded_locations": "excluded"}
            for field, reasons in (error.errors or {}).items():
                for reason in reasons:
                    self.add_error(names.get(field), reason)
        return cleaned


@admin.register(RoutingRuleSet)
class RoutingRuleSetAdmin(admin.ModelAdmin):
    """Rules per channel; "Dry run" routes recent orders with the form's rules, saving nothing."""

    form = RoutingRuleSetForm
    change_form_template = "fulfillment/admin_rules_change_form.html"
    list_display = ["channel", "is_active", "strategy_list", "version", "updated_by", "updated_at"]
    list_select_related = ["channel"]
    readonly_fields = ["version", "updated_by", "updated_at"]

    @admin.display(description="Strategies")
    def strategy_list(self, rule_set: RoutingRuleSet) -> str:
        return " > ".join(rule_set.strategies)

    def get_fields(self, request, obj=None):
        return ["channel", "is_active", "strategy_order", "preferred", "excluded",
                "check_freight", "check_destination", "check_capacity", "check_outages",
                *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        saved = routing_rules_save(channel=form.cleaned_data["channel"],
                                   values=form.rule_values(), actor=_actor(request))
        take_saved(obj, saved)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_simulate" in request.POST:
            return self._dry_run(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _dry_run(self, request, object_id):
        obj = self.get_object(request, object_id) if object_id else None
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, instance=obj)
        last = request.POST.get("simulate_last", "100")
        result, error = None, ""
        if form.is_valid():
            try:
                result = routing_simulate(
                    channel=form.cleaned_data["channel"], values=form.rule_values(),
                    last=int(last) if last.strip().isdigit() else -1,
                )
            except OmsError as problem:
                error = f"{problem.detail} {problem.errors or ''}".strip()
        else:
            error = "; ".join(
                f"{field}: {' '.join(reasons)}" for field, reasons in form.errors.items()
            )
        return TemplateResponse(request, "fulfillment/admin_rules_dry_run.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Routing rules dry run", "result": result, "error": error,
            "active_statuses": sorted(ACTIVE_FULFILLMENT_STATUSES),
        })
