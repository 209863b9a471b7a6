"""Purchasing in the admin: suppliers and their products (with CSV import), purchase orders
with their lines, receipts and history, a receiving page and "Suggest replenishment".

Attached from the end of `inventory.admin`. Every change goes through a service: draft lines
through `purchase_order_line_set`, states through the object buttons, receiving and
suggestions through the orders-level wrappers in `orders.replenishment` (which fill and
re-date backorders; the admin, like the API, sits above every app). A draft below the
supplier's minimum order value is sent only from its "Send below minimum" confirmation page,
which records who sent it. Saving a supplier product as preferred hands the role over from
the SKU's previous preferred supplier (`supplier_product_save`).
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchaseReceipt,
    Supplier,
    SupplierProduct,
)
from inventory.purchasing.errors import BelowMinimumOrderValue
from inventory.purchasing.receiving import ReceiptItem
from inventory.purchasing.selectors import purchase_order_total
from inventory.purchasing.services import (
    MAX_UNIT_COST,
    MAX_WHOLE_NUMBER,
    purchase_order_create,
    purchase_order_line_set,
    purchase_order_note_set,
    supplier_product_save,
)
from inventory.purchasing.states import OPEN_STATUSES, RECEIVABLE_STATUSES, PurchaseOrderStatus
from inventory.purchasing.suppliers import supplier_currency_change_check
from inventory.purchasing_resources import (
    SupplierProductResource,
    SupplierResource,
    import_errors_text,
)
from oms_project.admin import IndexedSearchMixin, ObjectActionsMixin, form_page, object_action
from oms_project.errors import OmsError


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


def _error_text(error: OmsError) -> str:
    """The refusal and its field errors as one sentence each ("lines 2 quantity: ...")."""
    details = []
    for where, message in _flat_errors(error.errors):
        details.append(f"{where}: {message}" if where else message)
    return " ".join([error.detail, *details])


def _flat_errors(errors, where: str = ""):
    """(where, message) for every message in nested errors: a list aligned with the request's
    lines names each by its number from 1, skipping the lines without errors."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _flat_errors(value, f"{where} {key}".strip())
    elif isinstance(errors, list | tuple):
        for index, value in enumerate(errors):
            if isinstance(value, dict | list | tuple):
                yield from _flat_errors(value, f"{where} {index + 1}".strip())
            elif value:
                yield where, str(value)
    elif errors:
        yield where, str(errors)


class SupplierProductInline(admin.TabularInline):
    model = SupplierProduct
    extra = 0
    can_delete = False
    fields = ["product", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
              "is_preferred"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AllOrNothingImportMixin(ImportExportMixin):
    """After the confirmed import, report a file that turned bad since its dry run (the
    resource wrote nothing) instead of the library's "Import finished" counts."""

    def process_result(self, result, request):
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        self.message_user(
            request, f"Nothing was imported: {import_errors_text(result)}", messages.ERROR
        )
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")


@admin.register(Supplier)
class SupplierAdmin(AllOrNothingImportMixin, IndexedSearchMixin, admin.ModelAdmin):
    resource_classes = [SupplierResource]
    list_display = ["code", "name", "lead_time_days", "currency", "minimum_order_value",
                    "over_receipt_percent", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    search_help_text = "Code or name prefix."
    inlines = [SupplierProductInline]
    readonly_fields = ["created_at", "updated_at"]

    def search_condition(self, term: str) -> Q:
        return Q(code__iexact=term) | Q(name__istartswith=term)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class SupplierForm(form):
            def clean(self):
                """The API's rule: no currency change while purchase orders are open."""
                cleaned = super().clean()
                currency = cleaned.get("currency")
                # `instance` still holds the stored values: the form writes them after clean.
                if self.instance.pk and currency and currency != self.instance.currency:
                    try:
                        supplier_currency_change_check(self.instance)
                    except OmsError as error:
                        self.add_error("currency", error.errors["currency"][0])
                return cleaned

        return SupplierForm


class SupplierProductForm(forms.ModelForm):
    """What a supplier charges for a SKU, checked field by field with the service's bounds."""

    class Meta:
        model = SupplierProduct
        fields = ["supplier", "product", "supplier_sku", "unit_cost", "pack_size",
                  "minimum_quantity", "is_preferred"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bounds = {"unit_cost": (0, MAX_UNIT_COST), "pack_size": (1, MAX_WHOLE_NUMBER),
                  "minimum_quantity": (1, MAX_WHOLE_NUMBER)}
        for name, (minimum, maximum) in bounds.items():
            field = self.fields.get(name)
            if field is not None:
                field.validators += [MinValueValidator(minimum), MaxValueValidator(maximum)]
                field.widget.attrs.update(min=minimum, max=maximum)

    def _get_validation_exclusions(self):
        # `supplier_product_save` takes the preferred role from the SKU's other supplier in
        # the same transaction, so the one-preferred-supplier constraint must not refuse the
        # form first; the database still enforces it.
        return super()._get_validation_exclusions() | {"is_preferred"}


@admin.register(SupplierProduct)
class SupplierProductAdmin(AllOrNothingImportMixin, IndexedSearchMixin, admin.ModelAdmin):
    resource_classes = [SupplierProductResource]
    form = SupplierProductForm
    list_display = ["supplier", "product", "supplier_sku", "unit_cost", "pack_size",
                    "minimum_quantity", "is_preferred"]
    list_filter = ["is_preferred", "supplier"]
    list_select_related = ["supplier", "product"]
    autocomplete_fields = ["supplier", "product"]
    search_fields = ["product__sku", "supplier_sku", "supplier__code"]
    search_help_text = "Exact SKU, supplier SKU or supplier code."

    def search_condition(self, term: str) -> Q:
        return Q(product__sku=term) | Q(supplier_sku=term) | Q(supplier__code__iexact=term)

    def get_readonly_fields(self, request, obj=None):
        # The (supplier, SKU) pair is the offer's identity; another pair is another offer.
        return ["supplier", "product"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        """Save through the service, which hands the preferred role over in one transaction."""
        saved = supplier_product_save(
            supplier=obj.supplier, product=obj.product, unit_cost=obj.unit_cost,
            supplier_sku=obj.supplier_sku, pack_size=obj.pack_size,
            minimum_quantity=obj.minimum_quantity, is_preferred=obj.is_preferred,
        )
        obj.pk = saved.pk


class PurchaseOrderLineForm(forms.ModelForm):
    """A draft line; an empty unit cost takes the supplier's price."""

    unit_cost = forms.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False,
        help_text="Empty: the supplier's price.",
    )

    class Meta:
        model = PurchaseOrderLine
        fields = ["product", "quantity", "unit_cost"]

    def clean(self):
        cleaned = super().clean()
        self.use_supplier_price = cleaned.get("unit_cost") is None
        if self.use_supplier_price:
            cleaned["unit_cost"] = Decimal("0")  # model validation only; the service prices it
        return cleaned


class PurchaseOrderLineInline(admin.TabularInline):
    """Lines: editable on drafts (saved through `purchase_order_line_set`), read-only after."""

    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    extra = 0
    fields = ["product", "supplier_sku", "quantity", "unit_cost", "quantity_received",
              "quantity_damaged"]
    autocomplete_fields = ["product"]

    def _is_draft(self, obj) -> bool:
        return obj is None or obj.status == PurchaseOrderStatus.DRAFT

    def get_readonly_fields(self, request, obj=None):
        if self._is_draft(obj):
            return ["supplier_sku", "quantity_received", "quantity_damaged"]
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_delete_permission(request, obj)


class PurchaseReceiptInline(admin.TabularInline):
    model = PurchaseReceipt
    extra = 0
    can_delete = False
    fields = ["created_at", "reference", "actor", "note", "received_lines"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="lines")
    def received_lines(self, receipt) -> str:
        return ", ".join(
            f"{line.line.product.sku} +{line.quantity_received}"
            + (f" ({line.quantity_damaged} damaged)" if line.quantity_damaged else "")
            for line in receipt.lines.select_related("line__product")
        )


class PurchaseOrderEventInline(admin.TabularInline):
    model = PurchaseOrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "type", "from_status", "to_status", "actor", "message"]
    readonly_fields = fields
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PurchaseOrderForm(forms.ModelForm):
    expected_date = forms.DateField(
        required=False, widget=admin.widgets.AdminDateWidget,
        help_text="Leave empty for today plus the supplier's lead time.",
    )

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "warehouse", "expected_date", "note"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    form = PurchaseOrderForm
    change_list_template = "admin/inventory/purchaseorder/change_list.html"
    list_display = ["number", "supplier", "warehouse", "status", "expected_date", "created_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["supplier", "warehouse"]
    search_fields = ["number", "supplier__code"]
    search_help_text = "Exact purchase order number or supplier code."
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        """Only a draft is deleted; a sent order leaves through Cancel or Close, which keep
        its history and re-date the backorders waiting for it (so no bulk delete either)."""
        if obj is None or obj.status != PurchaseOrderStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)
    autocomplete_fields = ["supplier", "warehouse"]
    inlines = [PurchaseOrderLineInline, PurchaseReceiptInline, PurchaseOrderEventInline]
    object_actions = ("send", "close", "cancel")

    def search_condition(self, term: str) -> Q:
        return Q(number=term.upper()) | Q(supplier__code__iexact=term)

    def get_readonly_fields(self, request, obj=None):
        fixed = ["number", "status", "receiving", "currency", "created_by", "created_at",
                 "sent_at", "closed_at"]
        if obj is None:
            return []
        if obj.status not in OPEN_STATUSES:
            return [*fixed, "supplier", "warehouse", "expected_date", "note"]
        return [*fixed, "supplier", "warehouse"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["supplier", "warehouse", "expected_date", "note"]
        return ["number", "status", "receiving", "supplier", "warehouse", "currency",
                "expected_date", "note", "created_by", "created_at", "sent_at", "closed_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            created = purchase_order_create(
                supplier=obj.supplier, warehouse=obj.warehouse,
                expected_date=form.cleaned_data.get("expected_date"), note=obj.note,
                actor=_actor(request),
            )
            obj.pk, obj.number, obj.status = created.pk, created.number, created.status
            return
        if "expected_date" in form.changed_data and form.cleaned_data.get("expected_date"):
            from orders.replenishment import purchase_order_reschedule

            purchase_order_reschedule(
                purchase_order=obj, expected_date=form.cleaned_data["expected_date"],
                actor=_actor(request),
            )
        if "note" in form.changed_data:
            purchase_order_note_set(purchase_order=obj, note=obj.note, actor=_actor(request))

    def save_formset(self, request, form, formset, change):
        """Draft lines go through the service (audited, priced from the supplier)."""
        if formset.model is not PurchaseOrderLine:
            return super().save_formset(request, form, formset, change)
        purchase_order = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for line_form in formset.forms:
            data = getattr(line_form, "cleaned_data", None) or {}
            product = data.get("product")
            if product is None or not (line_form.has_changed() or data.get("DELETE")):
                continue
            quantity = 0 if data.get("DELETE") else data.get("quantity") or 0
            purchase_order_line_set(
                purchase_order=purchase_order, product=product, quantity=quantity,
                unit_cost=None if getattr(line_form, "use_supplier_price", True)
                else data.get("unit_cost"),
                actor=_actor(request),
            )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except OmsError as error:
            self.message_user(request, _error_text(error), messages.ERROR)
            return redirect(request.get_full_path())

    def _run(self, request, purchase_order, call, done: str) -> None:
        try:
            call()
        except OmsError as error:
            self.message_user(request, f"{purchase_order}: {_error_text(error)}", messages.ERROR)
        else:
            self.message_user(request, f"{purchase_order}: {done}", messages.SUCCESS)

    @object_action(label="Send to supplier",
                   is_visible=lambda po: po.status == PurchaseOrderStatus.DRAFT)
    def send(self, request, purchase_order) -> None:
        """Send the draft; below the supplier's minimum, point at the confirmation page."""
        from orders.replenishment import purchase_order_send_and_date

        try:
            purchase_order_send_and_date(purchase_order=purchase_order, actor=_actor(request))
        except BelowMinimumOrderValue as error:
            self.message_user(
                request,
                f"{purchase_order}: {error.detail} To send it anyway, use “Send below "
                "minimum” on this page and confirm; your name is recorded in its history.",
                messages.ERROR,
            )
        except OmsError as error:
            self.message_user(request, f"{purchase_order}: {_error_text(error)}", messages.ERROR)
        else:
            self.message_user(request, f"{purchase_order}: sent to the supplier.",
                              messages.SUCCESS)

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        if obj.status != PurchaseOrderStatus.DRAFT or not _is_below_minimum(obj):
            return []
        url = reverse("admin:inventory_purchaseorder_send_below_minimum", args=[obj.pk])
        return [("Send below minimum", url)]

    @object_action(label="Close", is_visible=lambda po: po.status in {
        PurchaseOrderStatus.PARTIALLY_RECEIVED, PurchaseOrderStatus.RECEIVED})
    def close(self, request, purchase_order) -> None:
        from orders.replenishment import purchase_order_close_and_redate

        self._run(request, purchase_order, lambda: purchase_order_close_and_redate(
            purchase_order=purchase_order, actor=_actor(request)), "closed.")

    @object_action(label="Cancel", is_visible=lambda po: po.status in {
        PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT})
    def cancel(self, request, purchase_order) -> None:
        from orders.replenishment import purchase_order_cancel_and_redate

        self._run(request, purchase_order, lambda: purchase_order_cancel_and_redate(
            purchase_order=purchase_order, actor=_actor(request)), "cancelled.")

    def get_urls(self):
        own = [
            path("suggest/", self.admin_site.admin_view(self.suggest_view),
                 name="inventory_purchaseorder_suggest"),
            path("<int:object_id>/receive/", self.admin_site.admin_view(self.receive_view),
                 name="inventory_purchaseorder_receive"),
            path("<int:object_id>/send-below-minimum/",
                 self.admin_site.admin_view(self.send_below_minimum_view),
                 name="inventory_purchaseorder_send_below_minimum"),
        ]
        return own + super().get_urls()

    def suggest_view(self, request):
        """Suggest replenishment: draft purchase orders for everything projected short."""
        from orders.replenishment import replenishment_run

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        result = replenishment_run(actor=_actor(request))
        drafts = ", ".join(result["purchase_orders"]) or "none"
        self.message_user(
            request,
            f"Suggested replenishment: draft purchase orders touched: {drafts}; "
            f"{result['lines_added']} line(s) added, {result['lines_increased']} increased.",
            messages.SUCCESS,
        )
        if result["without_supplier"]:
            missing = ", ".join(f"{item['sku']}@{item['warehouse']}"
                                for item in result["without_supplier"][:50])
            self.message_user(request, f"No preferred supplier for: {missing}.", messages.WARNING)
        return redirect("admin:inventory_purchaseorder_changelist")

    def send_below_minimum_view(self, request, object_id: int):
        """Confirm sending a draft worth less than the supplier's minimum order value."""
        purchase_order = self.get_object(request, str(object_id))
        if purchase_order is None:
            raise Http404("No such purchase order.")
        if not self.has_change_permission(request, purchase_order):
            raise PermissionDenied
        form = SendBelowMinimumForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            self._send_below_minimum(request, purchase_order)
            return redirect(self.object_change_url(purchase_order))
        lines = list(purchase_order.lines.select_related("product").order_by("pk"))
        currency = purchase_order.currency
        return form_page(
            self, request, form=form, original=purchase_order,
            title=f"Send {purchase_order.number} below the minimum order value",
            submit_label="Send below minimum",
            intro=f"{purchase_order.number} is worth {purchase_order_total(lines=lines)} "
            f"{currency}; {purchase_order.supplier.code} takes orders from "
            f"{purchase_order.supplier.minimum_order_value} {currency}. Sending it anyway "
            "e-mails it to the supplier now and records your name in its history.",
            table={"head": ["SKU", "Quantity", f"Unit cost ({currency})"],
                   "rows": [[line.product.sku, line.quantity, line.unit_cost]
                            for line in lines]},
        )

    def _send_below_minimum(self, request, purchase_order) -> None:
        from orders.replenishment import purchase_order_send_and_date

        self._run(request, purchase_order, lambda: purchase_order_send_and_date(
            purchase_order=purchase_order, actor=_actor(request), accept_below_minimum=True,
        ), "sent to the supplier below the minimum order value.")

    def receive_view(self, request, object_id: int):
        """The receiving page: received and damaged units per outstanding line."""
        purchase_order = self.get_object(request, str(object_id))
        if purchase_order is None:
            raise Http404("No such purchase order.")
        if not self.has_change_permission(request, purchase_order):
            raise PermissionDenied
        lines = list(purchase_order.lines.select_related("product").order_by("pk"))
        form = ReceiveForm(request.POST or None, lines=lines)
        if request.method == "POST" and form.is_valid():
            response = self._receive(request, purchase_order, lines, form)
            if response is not None:
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Receive {purchase_order.number}",
            "purchase_order": purchase_order,
            "form": form,
            "rows": [(line, form[f"received_{line.pk}"], form[f"damaged_{line.pk}"])
                     for line in lines],
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/receive.html", context)

    def _receive(self, request, purchase_order, lines, form):
        from orders.replenishment import purchase_order_receive_and_fill

        items = [
            ReceiptItem(
                product=line.product,
                quantity_received=form.cleaned_data[f"received_{line.pk}"] or 0,
                quantity_damaged=form.cleaned_data[f"damaged_{line.pk}"] or 0,
            )
            for line in lines
            if form.cleaned_data[f"received_{line.pk}"] or form.cleaned_data[f"damaged_{line.pk}"]
        ]
        try:
            result = purchase_order_receive_and_fill(
                purchase_order=purchase_order, items=items,
                reference=form.cleaned_data["reference"], note=form.cleaned_data["note"],
                actor=_actor(request),
            )
        except OmsError as error:
            form.add_error(None, _error_text(error))
            return None
        self.message_user(
            request,
            f"{purchase_order}: received. Backordered orders that got stock: "
            f"{', '.join(result['orders']) or 'none'}; complete now: "
            f"{', '.join(result['filled']) or 'none'}.",
            messages.SUCCESS,
        )
        return redirect(self.object_change_url(purchase_order))

    @admin.display(description="receiving")
    def receiving(self, purchase_order) -> str:
        if purchase_order.status not in RECEIVABLE_STATUSES:
            return "—"
        url = reverse("admin:inventory_purchaseorder_receive", args=[purchase_order.pk])
        return format_html("<a class='button' href='{}'>Receive a delivery</a>", url)


def _is_below_minimum(purchase_order) -> bool:
    minimum = purchase_order.supplier.minimum_order_value
    return minimum > 0 and purchase_order_total(lines=purchase_order.lines.all()) < minimum


class SendBelowMinimumForm(forms.Form):
    confirm = forms.BooleanField(
        label="Send anyway",
        help_text="I know the order is below the supplier's minimum order value.",
    )


class ReceiveForm(forms.Form):
    reference = forms.CharField(max_length=100, required=False,
                                help_text="The supplier's delivery note.")
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        for line in lines:
            self.fields[f"received_{line.pk}"] = forms.IntegerField(
                min_value=0, required=False, label=f"{line.product.sku} received"
            )
            self.fields[f"damaged_{line.pk}"] = forms.IntegerField(
                min_value=0, required=False, label=f"{line.product.sku} damaged"
            )
