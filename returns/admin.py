"""Admin for returns and refunds, and the returns section of the order page.

Returns are read-only records here: every change is a button or a form page that calls one
`returns.services` function (approve, reject, receive, refund, close, cancel; bulk approve
in the list). The order page gains a `ReturnRequestInline` at the end of this module.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from oms_project.admin import (
    IndexedSearchMixin,
    ObjectActionsMixin,
    ReadOnlyInline,
    ViewOnlyMixin,
    form_page,
    object_action,
    run_for_each,
)
from oms_project.errors import OmsError
from orders.entry_forms import add_service_error, field_place
from orders.models import Order, OrderLine
from returns import admin_forms, selectors, services
from returns.errors import RefundExceedsPaid
from returns.models import (
    Refund,
    RefundLine,
    ReturnEvent,
    ReturnExchangeItem,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
)
from returns.states import ReturnStatus


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


def _status_badge(return_request: ReturnRequest) -> str:
    return format_html(
        '<span class="oms-status oms-status-{}">{}</span>',
        return_request.status,
        return_request.get_status_display(),
    )


def _report_error(form, error: OmsError) -> None:
    """The service's refusal as sentences, each on the field it concerns where the form
    knows where that is (`error_place`)."""
    place = getattr(type(form), "error_place", field_place)
    add_service_error(form, error, place=place)


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = [
        "order_line", "quantity", "reason", "note", "quantity_resellable", "quantity_damaged",
        "quantity_missing", "restock_location",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line", "restock_location")


class ExchangeItemInline(ReadOnlyInline):
    model = ReturnExchangeItem
    fields = ["product", "quantity", "unit_price"]
    readonly_fields = fields
    verbose_name_plural = "replacement items (exchange)"


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = [
        "number", "created_at", "amount", "goods_amount", "tax_amount", "shipping_amount",
        "restocking_fee", "adjustment", "exchange_credit", "method", "processor_reference",
    ]
    readonly_fields = fields


class ReturnEventInline(ReadOnlyInline):
    model = ReturnEvent
    fields = ["created_at", "type", "from_status", "to_status", "actor", "message"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ReturnReason.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            pk__in=ReturnLine.objects.filter(reason=self.value()).values("return_request_id")
        )


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["number", "created_at", "order_link", "channel", "status_label", "reasons"]
    list_filter = ["status", ReasonFilter, "channel", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order", "channel"]
    search_fields = ["number", "order__number"]
    search_help_text = "Exact RMA number or order number."
    show_full_result_count = False
    inlines = [ReturnLineInline, ExchangeItemInline, RefundInline, ReturnEventInline]
    actions = ["approve_selected"]
    object_actions = ("approve", "cancel", "close")
    show_save_buttons = False
    fields = [
        "number", "status_label", "order_link", "order_return_status", "channel",
        "customer_note", "window_override_reason", "rejection_reason", "return_carrier",
        "return_tracking_number", "return_label_url", "exchange_order_link", "exchange_credit",
        "created_by", "created_at", "approved_at", "received_at", "closed_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines")

    def search_condition(self, term: str) -> Q:
        return Q(number__in={term, term.upper()}) | Q(order__number__in={term, term.upper()})

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # --- columns and fields -----------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_label(self, return_request: ReturnRequest) -> str:
        return _status_badge(return_request)

    @admin.display(description="order", ordering="order__number")
    def order_link(self, return_request: ReturnRequest) -> str:
        url = reverse("admin:orders_order_change", args=[return_request.order_id])
        return format_html("<a href='{}'>{}</a>", url, return_request.order.number)

    @admin.display(description="exchange order")
    def exchange_order_link(self, return_request: ReturnRequest) -> str:
        if not return_request.exchange_order_id:
            return "—"
        url = reverse("admin:orders_order_change", args=[return_request.exchange_order_id])
        return format_html("<a href='{}'>{}</a>", url, return_request.exchange_order.number)

    @admin.display(description="reasons")
    def reasons(self, return_request: ReturnRequest) -> str:
        labels = dict(ReturnReason.choices)
        return ", ".join(sorted({labels[line.reason] for line in return_request.lines.all()}))

    @admin.display(description="order return status")
    def order_return_status(self, return_request: ReturnRequest) -> str:
        lines = OrderLine.objects.filter(order_id=return_request.order_id)
        return selectors.order_return_status(lines).replace("_", " ")

    # --- buttons and bulk action ------------------------------------------------------------

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        pages = {
            ReturnStatus.REQUESTED: [("Reject…", "reject")],
            ReturnStatus.APPROVED: [("Receive…", "receive")],
            ReturnStatus.RECEIVED: [("Refund…", "refund")],
        }
        return [
            (label, reverse(f"admin:returns_returnrequest_{page}", args=[obj.pk]))
            for label, page in pages.get(obj.status, [])
        ]

    def _approve(self, request, returns) -> None:
        actor = _actor(request)

        def approve(return_request: ReturnRequest) -> str:
            services.return_approve(return_request=return_request, actor=actor)
            return "approved; the customer was e-mailed the return instructions."

        run_for_each(self, request, returns, approve)

    @admin.action(description="Approve selected returns", permissions=["change"])
    def approve_selected(self, request, queryset) -> None:
        self._approve(request, queryset.select_related("order").order_by("pk"))

    @object_action(label="Approve", is_visible=lambda obj: obj.status == ReturnStatus.REQUESTED)
    def approve(self, request, return_request: ReturnRequest) -> None:
        self._approve(request, [return_request])

    @object_action(
        label="Cancel return",
        is_visible=lambda obj: obj.status in {ReturnStatus.REQUESTED, ReturnStatus.APPROVED},
    )
    def cancel(self, request, return_request: ReturnRequest) -> None:
        def cancel(item: ReturnRequest) -> str:
            services.return_cancel(return_request=item, actor=_actor(request))
            return "cancelled."

        run_for_each(self, request, [return_request], cancel)

    @object_action(
        label="Close",
        # A received return with money to refund is refunded first (`return_close` refuses).
        is_visible=lambda obj: services.return_closable(return_request=obj),
    )
    def close(self, request, return_request: ReturnRequest) -> None:
        def close(item: ReturnRequest) -> str:
            services.return_close(return_request=item, actor=_actor(request))
            return "closed."

        run_for_each(self, request, [return_request], close)

    # --- form pages -------------------------------------------------------------------------

    def get_urls(self):
        own = [
            path(f"<path:object_id>/{page}/", self.admin_site.admin_view(view),
                 name=f"returns_returnrequest_{page}")
            for page, view in (
                ("reject", self.reject_view),
                ("receive", self.receive_view),
                ("refund", self.refund_view),
            )
        ]
        return own + super().get_urls()

    def _page(self, request, *, title: str, form, obj=None, intro: str = "", table=None,
              submit: str = "Save"):
        return form_page(
            self, request, form=form, title=title, submit_label=submit, intro=intro,
            table=table, original=obj,
        )

    def _editable(self, request, object_id) -> ReturnRequest:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such return.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _wrong_state(self, request, obj: ReturnRequest, status: str, page: str):
        """Back to the return with a message when its status is not `status`, else None."""
        if obj.status == status:
            return None
        self.message_user(
            request,
            f"{obj} is {obj.get_status_display().lower()}; only a {status} return can be "
            f"{page}.",
            messages.WARNING,
        )
        return redirect(self.object_change_url(obj))

    def _done(self, request, obj, message: str):
        self.message_user(request, message, messages.SUCCESS)
        return redirect(self.object_change_url(obj))

    def reject_view(self, request, object_id: str):
        obj = self._editable(request, object_id)
        if away := self._wrong_state(request, obj, ReturnStatus.REQUESTED, "rejected"):
            return away
        form = admin_forms.ReturnRejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.return_reject(
                    return_request=obj, actor=_actor(request), reason=form.cleaned_data["reason"]
                )
            except OmsError as error:
                _report_error(form, error)
            else:
                return self._done(request, obj, f"{obj}: rejected; the customer was told why.")
        return self._page(request, title=f"Reject return {obj}", form=form, obj=obj,
                          submit="Reject")

    def receive_view(self, request, object_id: str):
        obj = self._editable(request, object_id)
        if away := self._wrong_state(request, obj, ReturnStatus.APPROVED, "received"):
            return away
        lines = list(obj.lines.select_related("order_line").order_by("pk"))
        form = admin_forms.ReturnReceiveForm(
            request.POST or None,
            return_lines=lines,
            locations=selectors.return_restock_locations(return_request=obj),
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.return_receive(
                    return_request=obj, actor=_actor(request), lines=form.receipt_lines(),
                    note=form.cleaned_data["note"],
                )
            except OmsError as error:
                _report_error(form, error)
            else:
                return self._done(request, obj, f"{obj}: received; resellable units restocked.")
        intro = (
            "Count every unit: resellable units go back on sale at the chosen location "
            "(ledger reason return_restock); damaged units are recorded here and kept out of "
            "sellable stock; missing units did not arrive."
        )
        return self._page(request, title=f"Receive return {obj}", form=form, obj=obj,
                          intro=intro, submit="Record receipt")

    def refund_view(self, request, object_id: str):
        obj = self._editable(request, object_id)
        if away := self._wrong_state(request, obj, ReturnStatus.RECEIVED, "refunded"):
            return away
        form = admin_forms.ReturnRefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.return_refund(return_request=obj, actor=_actor(request), **data)
            except OmsError as error:
                _report_error(form, error)
            else:
                refunds = ", ".join(
                    f"{part.amount} {part.currency} by {part.method} ({part.number})"
                    for part in obj.refunds.order_by("pk")
                )
                return self._done(request, obj, f"{obj}: refunded {refunds}.")
        table, intro = self._refund_table(obj)
        return self._page(request, title=f"Refund return {obj}", form=form, obj=obj,
                          table=table, intro=intro, submit="Refund")

    def _refund_table(self, obj: ReturnRequest) -> tuple[dict | None, str]:
        """The quote's lines and totals, and what may be refunded when the quote is more."""
        try:
            quote = services.refund_quote(return_request=obj).as_dict()
        except RefundExceedsPaid as error:
            return None, (
                f"{error.detail} Lower the refund with a negative adjustment and its reason."
            )
        except OmsError as error:
            return None, error.detail
        table = {
            "head": ["Line", "SKU", "Units", "Amount", "of which tax"],
            "rows": [
                [line["line_id"], line["sku"], line["quantity"], line["amount"],
                 line["tax_amount"]]
                for line in quote["lines"]
            ] + [["", "Exchange credit used", "", f"-{quote['exchange_credit']}", ""],
                 ["", "Refund before shipping, fee and adjustment", "", quote["amount"],
                  quote["tax_amount"]]],
        }
        refundable = selectors.order_refundable(order=obj.order)
        intro = (
            f"At most {refundable} {obj.order.currency} may be refunded on order "
            f"{obj.order.number}: what was paid, less refunds, exchange credit kept by "
            f"replacement orders and the refund due for cancelled units."
        )
        return table, intro

    def add_view(self, request, form_url="", extra_context=None):
        """Open a return for an order: choose the order, then units and reasons per line."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        number = (request.GET.get("order") or "").strip()
        order = Order.objects.select_related("channel").filter(number=number).first()
        if order is None:
            form = admin_forms.ReturnOrderForm(request.POST or None)
            if request.method == "POST" and form.is_valid():
                number = form.cleaned_data["order"].strip()
                if Order.objects.filter(number=number).exists():
                    return redirect(f"{request.path}?{urlencode({'order': number})}")
                form.add_error("order", f"No order {number}.")
            return self._page(request, title="Open a return", form=form, submit="Next")
        order_lines = [line for line in order.lines.order_by("pk") if line.quantity_shipped]
        form = admin_forms.ReturnCreateForm(
            request.POST or None,
            order_lines=order_lines,
            returnable=selectors.returnable_quantities(order=order, lines=order_lines),
        )
        if request.method == "POST" and form.is_valid():
            try:
                return_request = services.return_create(
                    order=order,
                    lines=form.return_lines(),
                    exchange_items=form.cleaned_data["exchange_items"],
                    customer_note=form.cleaned_data["customer_note"],
                    window_override_reason=form.cleaned_data["window_override_reason"],
                    actor=_actor(request),
                )
            except OmsError as error:
                _report_error(form, error)
            else:
                return self._done(request, return_request, f"Return {return_request} opened.")
        closes_at = selectors.return_window_closes_at(order=order)
        return self._page(
            request,
            title=f"Open a return for order {order.number}",
            form=form,
            intro=f"The return window of this order closes {closes_at:%Y-%m-%d %H:%M} UTC.",
            submit="Open return",
        )


@admin.register(Refund)
class RefundAdmin(ViewOnlyMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["number", "created_at", "order", "kind", "amount", "currency", "method"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order"]
    search_fields = ["number", "order__number", "processor_reference"]
    search_help_text = "Exact refund number, order number or processor reference."
    show_full_result_count = False
    fields = [
        "number", "kind", "order", "return_request", "currency", "amount", "goods_amount",
        "tax_amount", "shipping_amount", "restocking_fee", "adjustment", "adjustment_reason",
        "exchange_credit", "method", "processor_reference", "reason", "created_by",
        "created_at", "line_table",
    ]
    readonly_fields = fields

    def search_condition(self, term: str) -> Q:
        return Q(number=term) | Q(order__number=term) | Q(processor_reference=term)

    @admin.display(description="lines")
    def line_table(self, refund: Refund) -> str:
        rows = [
            (line.order_line_id, line.order_line.sku, line.quantity, line.amount, line.tax_amount)
            for line in RefundLine.objects.filter(refund=refund).select_related("order_line")
        ]
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>Line</th><th>SKU</th><th>Units</th><th>Amount</th>"
            "<th>Tax</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows
            ),
        )


class ReturnRequestInline(ReadOnlyInline):
    """The order page's returns: RMA, status, units per line, and the order's return status."""

    model = ReturnRequest
    fk_name = "order"
    fields = ["number_link", "status", "created_at", "line_summary", "order_return_status"]
    readonly_fields = fields
    verbose_name_plural = "returns"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines__order_line")

    @admin.display(description="RMA")
    def number_link(self, return_request: ReturnRequest) -> str:
        url = reverse("admin:returns_returnrequest_change", args=[return_request.pk])
        return format_html("<a href='{}'>{}</a>", url, return_request.number)

    @admin.display(description="units")
    def line_summary(self, return_request: ReturnRequest) -> str:
        return ", ".join(
            f"{line.quantity} x {line.order_line.sku}" for line in return_request.lines.all()
        )

    @admin.display(description="order return status")
    def order_return_status(self, return_request: ReturnRequest) -> str:
        lines = OrderLine.objects.filter(order_id=return_request.order_id)
        return selectors.order_return_status(lines).replace("_", " ")


# The order page shows its returns: extend the registered order admin (whichever subclass
# the orders app registered last) with one more inline.
RegisteredOrderAdmin = type(admin.site.get_model_admin(Order))
RegisteredOrderAdmin.inlines = [*RegisteredOrderAdmin.inlines, ReturnRequestInline]
