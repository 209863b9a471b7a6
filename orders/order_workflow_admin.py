"""What ops staff do to orders in the admin: hold, release, cancel (with a confirmation page
that shows what will happen), and export the filtered list to CSV.

`OrderWorkflowAdminMixin` is mixed into `orders.admin.OrderAdmin`; every change calls one
service in `orders.services` and reports each order's result.
"""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from oms_project.admin import form_page, object_action, run_for_each
from oms_project.errors import OmsError
from oms_project.spreadsheets import csv_stream_response
from orders import selectors, services
from orders.entry_forms import add_errors, add_service_error, field_place
from orders.input_serializers import AddressInputSerializer
from orders.models import Order
from orders.services.addresses import address_may_change
from orders.states import HoldReason, OrderStatus, can_transition
from warehouses.models import Warehouse


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


class AddressChangeForm(forms.Form):
    """A new shipping address, checked as the API checks one (`AddressInputSerializer`)."""

    ADDRESS_FIELDS = (
        "first_name", "last_name", "company", "line1", "line2", "postal_code", "city", "region",
        "country", "phone",
    )
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=100, required=False)
    line1 = forms.CharField(max_length=200, label="Address line 1")
    line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, help_text="Two-letter ISO code, e.g. US.")
    phone = forms.CharField(max_length=40, required=False)
    reason = forms.CharField(
        max_length=255, required=False, help_text="Shown on the order's timeline."
    )

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in self.ADDRESS_FIELDS):
            return cleaned  # the fields' own errors say it; the API's check would repeat them
        values = {name: cleaned.get(name) or "" for name in self.ADDRESS_FIELDS}
        checked = AddressInputSerializer(
            data={name: value for name, value in values.items() if value}
        )
        if not checked.is_valid():
            add_errors(self, checked.errors, place=field_place)
        else:
            self.address = dict(checked.validated_data)
        return cleaned


class CancelItemsForm(forms.Form):
    """Units to cancel per line of one order (those not yet shipped or cancelled)."""

    reason = forms.CharField(
        max_length=255, widget=forms.TextInput(attrs={"size": 60}),
        help_text="Recorded on the order's timeline for staff.",
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.line_fields = {}
        for line in order.lines.order_by("pk"):
            left = line.quantity - line.quantity_shipped - line.quantity_cancelled
            if left <= 0:
                continue
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                min_value=0, max_value=left, initial=0, required=False,
                label=f"{line.sku} — {line.name}",
                help_text=f"{left} of {line.quantity} can still be cancelled.",
            )
            self.line_fields[name] = line.pk

    def units_to_cancel(self) -> dict[int, int]:
        return {
            line_id: self.cleaned_data[name]
            for name, line_id in self.line_fields.items()
            if self.cleaned_data.get(name)
        }

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.units_to_cancel():
            raise forms.ValidationError("Choose at least one unit to cancel.")
        return cleaned


class RefundDueForm(forms.Form):
    """A refund of what is owed back for cancelled units."""

    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    method = forms.CharField(max_length=50, required=False)
    processor_reference = forms.CharField(max_length=100, required=False)
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].help_text = (
            "Empty: the way the order was paid. Else one of its payment methods or a manual "
            f"one ({', '.join(settings.OMS_MANUAL_REFUND_METHODS)})."
        )
        self.fields["amount"].initial = order.refund_due
        self.fields["amount"].validators.append(MaxValueValidator(order.refund_due))
        self.fields["amount"].help_text = f"At most the {order.refund_due} due."


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        required=True,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Recorded on each order's timeline for staff; the customer's e-mail lists "
        "what was cancelled and any refund, not this reason.",
    )


class WarehouseFilter(admin.SimpleListFilter):
    title = "warehouse"
    parameter_name = "warehouse"

    def lookups(self, request, model_admin):
        return list(Warehouse.objects.order_by("code").values_list("code", "code"))

    def queryset(self, request, queryset):
        if self.value():
            return selectors.orders_at_warehouse(queryset, self.value())
        return queryset


class PaymentMethodFilter(admin.SimpleListFilter):
    """Payment methods seen on the latest orders (no DISTINCT over the whole table)."""

    title = "payment method"
    parameter_name = "payment_method"

    def lookups(self, request, model_admin):
        recent = Order.objects.order_by("-id").values_list("payment_method", flat=True)[:2000]
        return [(method, method) for method in sorted({m for m in recent if m})]

    def queryset(self, request, queryset):
        return queryset.filter(payment_method=self.value()) if self.value() else queryset


def _hold_action(reason: HoldReason):
    @object_action(
        label=f"Hold: {reason.label.lower()}",
        is_visible=lambda order: can_transition(order.status, OrderStatus.ON_HOLD),
    )
    def hold(self, request, order: Order) -> None:
        run_for_each(self, request, [order], lambda o: _hold(o, reason, request))

    hold.__name__ = f"hold_{reason.value}"
    return hold


def _hold(order: Order, reason: HoldReason, request) -> str:
    services.order_hold(order=order, reason_code=reason.value, actor=_actor(request))
    return f"on hold ({reason.label.lower()})."


class OrderWorkflowAdminMixin:
    workflow_actions = ("release_hold", *(f"hold_{reason.value}" for reason in HoldReason))
    change_list_template = "admin/orders/order/change_list.html"

    hold_fraud_review = _hold_action(HoldReason.FRAUD_REVIEW)
    hold_payment_issue = _hold_action(HoldReason.PAYMENT_ISSUE)
    hold_address_issue = _hold_action(HoldReason.ADDRESS_ISSUE)
    hold_customer_request = _hold_action(HoldReason.CUSTOMER_REQUEST)

    @object_action(label="Release hold", is_visible=lambda order: order.status == "on_hold")
    def release_hold(self, request, order: Order) -> None:
        def release(o):
            services.order_release_hold(order=o, actor=_actor(request))
            o.refresh_from_db()
            return f"released, now {o.get_status_display().lower()}."

        run_for_each(self, request, [order], release)

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        links = list(super().get_object_links(request, obj))
        if address_may_change(obj):
            links.append(
                (
                    "Change shipping address…",
                    reverse(
                        f"{self.admin_site.name}:orders_order_shipping_address", args=[obj.pk]
                    ),
                )
            )
        if selectors.cancellation_preview(obj)["allowed"]:
            links.append(
                (
                    "Cancel order…",
                    reverse(f"{self.admin_site.name}:orders_order_cancel", args=[obj.pk]),
                )
            )
            links.append(
                (
                    "Cancel items…",
                    reverse(f"{self.admin_site.name}:orders_order_cancel_items", args=[obj.pk]),
                )
            )
        if obj.refund_due > 0:
            links.append(
                (
                    "Pay refund due…",
                    reverse(f"{self.admin_site.name}:orders_order_refund_due", args=[obj.pk]),
                )
            )
        return links

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("<int:object_id>/cancel/", wrap(self.cancel_view), name="orders_order_cancel"),
            path(
                "<int:object_id>/shipping-address/",
                wrap(self.shipping_address_view),
                name="orders_order_shipping_address",
            ),
            path(
                "<int:object_id>/cancel-items/",
                wrap(self.cancel_items_view),
                name="orders_order_cancel_items",
            ),
            path(
                "<int:object_id>/refund-due/",
                wrap(self.refund_due_view),
                name="orders_order_refund_due",
            ),
            path("export/", wrap(self.export_view), name="orders_order_export"),
        ]
        return own + super().get_urls()

    # --- cancelling some items, paying the refund due --------------------------------------

    def _order_to_change(self, request, object_id: int) -> Order:
        order = self.get_object(request, str(object_id))
        if order is None:
            raise Http404("No such order.")
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        return order

    def _back_to(self, order: Order):
        return redirect(reverse(f"{self.admin_site.name}:orders_order_change", args=[order.pk]))

    def cancel_items_view(self, request, object_id: int):
        order = self._order_to_change(request, object_id)
        preview = selectors.cancellation_preview(order)
        if not preview["allowed"]:
            self.message_user(
                request, f"Order {order.number} cannot be cancelled: {preview['reason']}",
                messages.WARNING,
            )
            return self._back_to(order)
        form = CancelItemsForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = services.order_cancel(
                    order=order,
                    actor=_actor(request),
                    reason=form.cleaned_data["reason"],
                    lines=form.units_to_cancel(),
                )
            except OmsError as error:
                add_service_error(form, error, place=field_place)
            else:
                self.message_user(
                    request,
                    f"Order {order.number}: {sum(outcome['cancelled'].values())} unit(s) "
                    f"cancelled, {outcome['released']} released to stock, refund due "
                    f"{outcome['refund_due']} {order.currency}; the customer is e-mailed.",
                )
                return self._back_to(order)
        return form_page(
            self,
            request,
            form=form,
            title=f"Cancel items of order {order.number}",
            submit_label="Cancel these units",
            original=order,
            intro="Units not yet shipped can be cancelled; allocated ones go back to stock. What "
            "was paid for them beyond what is left to pay becomes the refund due.",
        )

    def refund_due_view(self, request, object_id: int):
        # Refunds belong to the returns app, above orders: imported here, where staff use it.
        from returns.services import order_refund

        order = self._order_to_change(request, object_id)
        if order.refund_due <= 0:
            self.message_user(
                request, f"Nothing is owed back on order {order.number}.", messages.WARNING
            )
            return self._back_to(order)
        form = RefundDueForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                refund = order_refund(
                    order=order,
                    kind="cancellation",
                    actor=_actor(request),
                    reason=form.cleaned_data["reason"],
                    amount=form.cleaned_data["amount"],
                    method=form.cleaned_data["method"],
                    processor_reference=form.cleaned_data["processor_reference"],
                )
            except OmsError as error:
                add_service_error(form, error, place=field_place)
            else:
                self.message_user(
                    request,
                    f"Refund {refund.number}: {refund.amount} {order.currency} by "
                    f"{refund.method}; the customer is e-mailed.",
                )
                return self._back_to(order)
        return form_page(
            self,
            request,
            form=form,
            title=f"Pay the refund due on order {order.number}",
            submit_label="Record refund",
            original=order,
            intro=f"{order.refund_due} {order.currency} is owed back for cancelled units. Record "
            "the refund once the money is on its way (the processor's reference helps "
            "reconcile it).",
        )

    # --- shipping address ---------------------------------------------------------------------

    def shipping_address_view(self, request, object_id: int):
        order = self._order_to_change(request, object_id)
        current = order.shipping_address or {}
        form = AddressChangeForm(
            request.POST or None,
            initial={name: current.get(name, "") for name in AddressChangeForm.ADDRESS_FIELDS},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.order_shipping_address_change(
                    order=order,
                    address=form.address,
                    actor=_actor(request),
                    reason=form.cleaned_data["reason"],
                )
            except OmsError as error:
                add_service_error(form, error, place=field_place)
            else:
                self.message_user(request, f"Order {order.number} now ships to the new address.")
                return self._back_to(order)
        return form_page(
            self,
            request,
            form=form,
            title=f"Change the shipping address of order {order.number}",
            submit_label="Change address",
            original=order,
            intro="Possible until a unit ships. Every location holding units of the order must "
            "ship to the new country (re-route first otherwise); a packed parcel needs a new "
            "label. The customer is e-mailed the new address.",
        )

    # --- cancellation -----------------------------------------------------------------------

    @admin.action(description="Cancel selected orders…")
    def cancel_selected(self, request, queryset):
        return self._cancel_flow(request, list(queryset.order_by("pk")[:500]), from_changelist=True)

    def cancel_view(self, request, object_id: int):
        order = self.get_object(request, str(object_id))
        if order is None:
            raise Http404("No such order.")
        return self._cancel_flow(request, [order], from_changelist=False)

    def _cancel_flow(self, request, orders: list[Order], *, from_changelist: bool):
        if not all(self.has_change_permission(request, order) for order in orders):
            raise PermissionDenied
        form = CancelForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            run_for_each(self, request, orders, lambda order: _cancel(order, reason, request))
            if from_changelist:
                return None
            return redirect(
                reverse(f"{self.admin_site.name}:orders_order_change", args=[orders[0].pk])
            )
        previews = [selectors.cancellation_preview(order) for order in orders]
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders" if len(orders) > 1 else f"Cancel order {orders[0].number}",
            "opts": self.model._meta,
            "previews": previews,
            "form": form,
            "from_changelist": from_changelist,
            "selected": [order.pk for order in orders],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "any_allowed": any(preview["allowed"] for preview in previews),
        }
        return TemplateResponse(request, "admin/orders/order/cancel_confirmation.html", context)

    # --- export ------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        params = request.GET.copy()
        for paging in ("p", "all"):
            params.pop(paging, None)
        base = reverse(f"{self.admin_site.name}:orders_order_export")
        lines = params.copy()
        lines["per"] = "line"
        extra_context = {
            **(extra_context or {}),
            "export_orders_url": f"{base}?{params.urlencode()}",
            "export_lines_url": f"{base}?{lines.urlencode()}",
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        per_line = request.GET.get("per") == "line"
        params = request.GET.copy()
        for name in ("per", "p", "o"):  # the export is the whole filtered list, unpaged
            params.pop(name, None)
        request.GET = params
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # As the changelist answers filters it cannot apply: back to it, with its message.
            changelist_url = reverse(f"{self.admin_site.name}:orders_order_changelist")
            return redirect(f"{changelist_url}?{ERROR_FLAG}=1")
        orders = changelist.get_queryset(request)
        header, rows = selectors.order_export_rows(orders, per_line=per_line)
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        kind = "order-lines" if per_line else "orders"
        return csv_stream_response(filename=f"{kind}-{stamp}.csv", header=header, rows=rows)


def _cancel(order: Order, reason: str, request) -> str:
    outcome = services.order_cancel(order=order, actor=_actor(request), reason=reason)
    units = sum(outcome["cancelled"].values())
    return (
        f"{units} unit(s) cancelled, {outcome['released']} released to stock, "
        f"refund due {outcome['refund_due']} {order.currency}."
    )
