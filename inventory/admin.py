"""Admin for products, stock levels, the stock ledger, reservations, transfers and imports.

Stock numbers (`on_hand`, `allocated`) are never edited in a form: the "Adjust stock" page
calls `inventory.services.stock_change` / `stock_set`, which write the ledger. Movements and
reservations are view-only.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from inventory.imports.admin_views import StockImportAdminMixin
from inventory.models import (
    ImportJob,
    MovementReason,
    Product,
    StockLevel,
    StockMovement,
    StockReservation,
    Transfer,
    TransferLine,
)
from inventory.selectors import product_search
from inventory.services import MAX_QUANTITY, stock_change, stock_set
from inventory.transfers import (
    TransferItem,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_location_errors,
    transfer_receive,
    transfer_ship,
    transfer_units_lost,
)
from oms_project.admin import (
    IndexedSearchMixin,
    LimitedInlineFormSet,
    ObjectActionsMixin,
    ViewOnlyMixin,
    form_page,
    object_action,
    take_saved,
)
from oms_project.errors import OmsError
from warehouses.admin import WarehouseAdmin
from warehouses.models import Warehouse

MAX_LEVELS_PER_ADJUSTMENT = 500
PRODUCT_SEARCH_HELP = "Exact SKU, product id or barcode, the start of a SKU, or part of a name."


def _matching_products(term: str):
    return product_search(Product.objects.all(), term).values("pk")


# --- Products and stock levels --------------------------------------------------------------


class ProductStockLevelInline(admin.TabularInline):
    model = StockLevel
    extra = 0
    can_delete = False
    fields = [
        "warehouse", "on_hand", "allocated", "available", "safety_stock", "reorder_point",
        "reorder_quantity",
    ]
    readonly_fields = ["on_hand", "allocated", "available"]
    autocomplete_fields = ["warehouse"]
    show_change_link = True
    verbose_name_plural = "stock by warehouse (adjust on hand from a stock level's page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("warehouse")

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available if level.pk else 0


@admin.register(Product)
class ProductAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = [
        "sku", "name", "external_id", "barcode", "freight_class", "low_stock_threshold",
        "is_active", "updated_at",
    ]
    list_display_links = ["sku", "name"]
    list_filter = ["is_active", "freight_class"]
    search_fields = ["sku", "external_id", "barcode", "name"]
    search_help_text = PRODUCT_SEARCH_HELP
    show_full_result_count = False
    inlines = [ProductStockLevelInline]
    fieldsets = [
        (None, {"fields": [("sku", "name"), ("external_id", "barcode"), "is_active"]}),
        (
            "Shipping",
            {"fields": ["freight_class", "weight_grams", ("length_mm", "width_mm", "height_mm")]},
        ),
        ("Stock", {"fields": ["low_stock_threshold"]}),
        ("Record", {"fields": [("created_at", "updated_at")]}),
    ]
    readonly_fields = ["created_at", "updated_at"]

    def search_condition(self, term: str) -> Q:
        return Q(pk__in=_matching_products(term))


class StockStateFilter(admin.SimpleListFilter):
    title = "stock state"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("out", "Nothing available"),
            ("reorder", "At or below reorder point"),
            ("allocated", "Has allocations"),
        ]

    def queryset(self, request, queryset):
        free = F("on_hand") - F("allocated") - F("safety_stock")
        if self.value() == "out":
            return queryset.alias(free=free).filter(free__lte=0)
        if self.value() == "reorder":
            return queryset.alias(free=free).filter(
                reorder_point__gt=0, free__lte=F("reorder_point")
            )
        if self.value() == "allocated":
            return queryset.filter(allocated__gt=0)
        return queryset


class StockAdjustForm(forms.Form):
    """How to change on hand for the chosen stock levels, and why."""

    MODE_CHANGE = "change"
    MODE_SET = "set"
    REASONS = [
        (reason.value, reason.label)
        for reason in (
            MovementReason.ADJUSTMENT,
            MovementReason.COUNT,
            MovementReason.RECEIPT,
            MovementReason.RETURN_RESTOCK,
            MovementReason.RECONCILIATION,
        )
    ]

    mode = forms.ChoiceField(
        choices=[
            (MODE_CHANGE, "Add or remove units (e.g. 5 or -3)"),
            (MODE_SET, "Set on hand to a counted quantity"),
        ],
        widget=forms.RadioSelect,
        initial=MODE_CHANGE,
    )
    quantity = forms.IntegerField(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY)
    reason = forms.ChoiceField(choices=REASONS, initial=MovementReason.ADJUSTMENT)
    note = forms.CharField(
        max_length=255, help_text="Why: kept on the stock movement for the audit trail."
    )

    def clean(self):
        data = super().clean()
        quantity = data.get("quantity")
        if quantity is None:
            return data
        if data.get("mode") == self.MODE_CHANGE and quantity == 0:
            self.add_error("quantity", "A change must add or remove at least one unit.")
        if data.get("mode") == self.MODE_SET and quantity < 0:
            self.add_error("quantity", "A counted quantity cannot be negative.")
        return data


class _AdjustmentRefused(Exception):
    """Raised inside the adjustment transaction to undo every level when one fails."""


@admin.register(StockLevel)
class StockLevelAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = [
        "sku", "product_name", "warehouse_code", "on_hand", "allocated", "safety_stock",
        "available", "reorder_point", "updated_at",
    ]
    list_filter = [StockStateFilter, "warehouse"]
    list_select_related = ["product", "warehouse"]
    search_fields = ["product__sku", "product__external_id", "product__barcode", "product__name"]
    search_help_text = PRODUCT_SEARCH_HELP
    show_full_result_count = False
    autocomplete_fields = ["product", "warehouse"]
    actions = ["adjust_stock"]
    fieldsets = [
        (None, {"fields": ["product", "warehouse"]}),
        (
            "Stock (change it with “Adjust stock”)",
            {"fields": [("on_hand", "allocated", "available")]},
        ),
        ("Settings", {"fields": ["safety_stock", ("reorder_point", "reorder_quantity")]}),
        ("Record", {"fields": [("low_stock_alerted_at", "updated_at"), "recent_movements"]}),
    ]
    readonly_fields = [
        "on_hand", "allocated", "available", "low_stock_alerted_at", "updated_at",
        "recent_movements",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "product", "warehouse"] if obj is not None else fields

    def search_condition(self, term: str) -> Q:
        return Q(product__in=_matching_products(term))

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, level: StockLevel) -> str:
        return level.product.sku

    @admin.display(description="product")
    def product_name(self, level: StockLevel) -> str:
        return level.product.name

    @admin.display(description="warehouse", ordering="warehouse__code")
    def warehouse_code(self, level: StockLevel) -> str:
        return level.warehouse.code

    @admin.display(description="available")
    def available(self, level: StockLevel) -> int:
        return level.available if level.pk else 0

    @admin.display(description="latest movements")
    def recent_movements(self, level: StockLevel) -> str:
        if not level.pk:
            return "—"
        rows = [
            (
                movement.created_at.strftime("%Y-%m-%d %H:%M"),
                movement.get_reason_display(),
                f"{movement.delta_on_hand:+d}",
                f"{movement.delta_allocated:+d}",
                movement.reference,
                movement.note,
            )
            for movement in level.movements.order_by("-id")[:10]
        ]
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            "<ul>{}</ul><a href='{}?stock_level__id__exact={}'>All movements of this level</a>",
            format_html_join(
                "", "<li>{} · {} · on hand {}, allocated {} · {} {}</li>", rows
            ),
            url,
            level.pk,
        )

    # --- Adjust stock ---------------------------------------------------------------------

    def get_urls(self):
        own = [
            path(
                "adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="inventory_stocklevel_adjust",
            )
        ]
        return own + super().get_urls()

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        return [("Adjust stock", reverse("admin:inventory_stocklevel_adjust") + f"?ids={obj.pk}")]

    @admin.action(description="Adjust stock of selected levels", permissions=["change"])
    def adjust_stock(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[: MAX_LEVELS_PER_ADJUSTMENT + 1])
        if len(ids) > MAX_LEVELS_PER_ADJUSTMENT:
            self.message_user(
                request,
                f"Adjust at most {MAX_LEVELS_PER_ADJUSTMENT} stock levels at once; "
                "use a stock import for more.",
                messages.ERROR,
            )
            return None
        url = reverse("admin:inventory_stocklevel_adjust")
        return redirect(f"{url}?ids={','.join(str(pk) for pk in ids)}")

    def adjust_view(self, request):
        """Show the adjustment form for `?ids=` and apply it on POST through the services."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        levels = self._levels_to_adjust(request.GET.get("ids", ""))
        changelist_url = reverse("admin:inventory_stocklevel_changelist")
        if not levels:
            self.message_user(request, "Choose at least one stock level to adjust.", messages.ERROR)
            return redirect(changelist_url)
        form = StockAdjustForm(request.POST or None)
        is_valid = request.method == "POST" and form.is_valid()
        if is_valid and self._apply_adjustment(request, levels, form.cleaned_data):
            if len(levels) == 1:
                return redirect(self.object_change_url(levels[0]))
            return redirect(changelist_url)
        table = {
            "head": [
                "SKU", "Product", "Warehouse", "On hand", "Allocated", "Safety stock", "Available",
            ],
            "rows": [
                [
                    level.product.sku, level.product.name, level.warehouse.code, level.on_hand,
                    level.allocated, level.safety_stock, level.available,
                ]
                for level in levels
            ],
        }
        count = len(levels)
        return form_page(
            self,
            request,
            form=form,
            title="Adjust stock",
            submit_label=f"Adjust {count} stock level{'s' if count != 1 else ''}",
            intro="Every change is written to the stock ledger with your name and the note "
            "below. On hand cannot fall below the allocated units; if any level refuses, none "
            "is changed.",
            table=table,
        )

    @staticmethod
    def _levels_to_adjust(raw_ids: str) -> list[StockLevel]:
        ids = [part for part in raw_ids.split(",") if part.strip().isdigit()]
        return list(
            StockLevel.objects.filter(pk__in=ids[:MAX_LEVELS_PER_ADJUSTMENT])
            .select_related("product", "warehouse")
            .order_by("pk")
        )

    def _apply_adjustment(self, request, levels: list[StockLevel], data: dict) -> bool:
        """Adjust every level or none; report each level's result. Return True on success."""
        actor = f"admin:{request.user.get_username()}"
        done, refused = [], []
        try:
            with transaction.atomic():
                for level in levels:
                    before = level.on_hand
                    try:
                        self._adjust_one(level, data, actor)
                    except OmsError as error:
                        refused.append((level, error.detail))
                    else:
                        done.append((level, before))
                if refused:
                    raise _AdjustmentRefused
        except _AdjustmentRefused:
            for level, detail in refused:
                self.message_user(request, f"{self._label(level)}: {detail}", messages.ERROR)
            self.message_user(request, "No stock was changed.", messages.WARNING)
            return False
        for level, before in done:
            self.message_user(
                request,
                f"{self._label(level)}: on hand {before} → {level.on_hand}.",
                messages.SUCCESS,
            )
        return True

    @staticmethod
    def _adjust_one(level: StockLevel, data: dict, actor: str) -> None:
        note = data["note"].strip()
        if data["mode"] == StockAdjustForm.MODE_SET:
            # stock_set keeps no note, so the reason text travels in the reference.
            stock_set(
                level=level, on_hand=data["quantity"], reason=data["reason"],
                reference=f"admin: {note}", actor=actor,
            )
        else:
            stock_change(
                level=level, delta=data["quantity"], reason=data["reason"],
                reference="admin", actor=actor, note=note,
            )

    @staticmethod
    def _label(level: StockLevel) -> str:
        return f"{level.product.sku} @ {level.warehouse.code}"


# --- Ledger and reservations (view-only) ----------------------------------------------------


class StockRowSearchMixin(IndexedSearchMixin):
    """Search ledger rows by exact reference or by the product of their stock level."""

    search_fields = ["reference", "stock_level__product__sku"]
    search_help_text = "Exact reference (e.g. order_line:12), or a SKU, product id or barcode."

    def search_condition(self, term: str) -> Q:
        return Q(reference=term) | Q(stock_level__product__in=_matching_products(term))


@admin.register(StockMovement)
class StockMovementAdmin(ViewOnlyMixin, StockRowSearchMixin, admin.ModelAdmin):
    list_display = [
        "created_at", "sku", "warehouse_code", "delta_on_hand", "delta_allocated", "reason",
        "reference", "actor", "note",
    ]
    list_filter = ["reason", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["stock_level__product", "stock_level__warehouse"]
    show_full_result_count = False

    @admin.display(description="SKU")
    def sku(self, movement: StockMovement) -> str:
        return movement.stock_level.product.sku

    @admin.display(description="warehouse")
    def warehouse_code(self, movement: StockMovement) -> str:
        return movement.stock_level.warehouse.code


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("timed", "Expires (checkouts)"), ("open", "Until released")]

    def queryset(self, request, queryset):
        if self.value() == "timed":
            return queryset.filter(expires_at__isnull=False)
        if self.value() == "open":
            return queryset.filter(expires_at__isnull=True)
        return queryset


@admin.register(StockReservation)
class StockReservationAdmin(ViewOnlyMixin, StockRowSearchMixin, admin.ModelAdmin):
    list_display = ["reference", "sku", "warehouse_code", "quantity", "expires_at", "created_at"]
    list_filter = [ExpiryFilter, "stock_level__warehouse"]
    list_select_related = ["stock_level__product", "stock_level__warehouse"]
    show_full_result_count = False

    @admin.display(description="SKU")
    def sku(self, reservation: StockReservation) -> str:
        return reservation.stock_level.product.sku

    @admin.display(description="warehouse")
    def warehouse_code(self, reservation: StockReservation) -> str:
        return reservation.stock_level.warehouse.code


# --- Transfers and imports ------------------------------------------------------------------


class TransferLineForm(forms.ModelForm):
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={"min_value": "Transfer at least one unit."},
    )

    class Meta:
        model = TransferLine
        fields = ["product", "quantity"]


class TransferLineFormSet(forms.BaseInlineFormSet):
    """A draft's lines: at least one, as `transfer_create` requires (a transfer of nothing
    could be shipped and received)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return  # each bad line says what is wrong with it
        if self.instance.pk and self.instance.status != Transfer.Status.DRAFT:
            return  # the lines are read-only once shipped
        if not self.items():
            raise forms.ValidationError("A transfer needs at least one line.")

    def items(self) -> list[TransferItem]:
        """The lines kept (filled in and not marked for deletion), once the forms are valid."""
        return [
            TransferItem(product=data["product"], quantity=data["quantity"])
            for data in (form.cleaned_data for form in self.forms)
            if data.get("product") and not data.get("DELETE")
        ]


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    form = TransferLineForm
    formset = TransferLineFormSet
    extra = 0
    min_num = 1
    fields = ["product", "quantity", "quantity_received", "quantity_lost"]
    readonly_fields = ["quantity_received", "quantity_lost"]
    autocomplete_fields = ["product"]

    def _is_draft(self, transfer) -> bool:
        return transfer is None or transfer.status == Transfer.Status.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_delete_permission(request, obj)


class TransferForm(forms.ModelForm):
    """Source, destination and note; the number is given when the transfer is saved."""

    class Meta:
        model = Transfer
        fields = ["source", "destination", "note"]

    def clean(self):
        cleaned = super().clean()
        source, destination = cleaned.get("source"), cleaned.get("destination")
        is_moved = self.instance.pk is None or {"source", "destination"} & set(self.changed_data)
        if source and destination and is_moved:
            errors = transfer_location_errors(source=source, destination=destination)
            for field, reasons in errors.items():
                for reason in reasons:
                    self.add_error(field, reason)
        return cleaned


class TransferCloseForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        help_text="Why the units still in transit will not arrive (lost, stolen, damaged "
        "beyond use...). Kept on the transfer with your name.",
    )


@admin.register(Transfer)
class TransferAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    """Draft transfers are entered and edited here (a new one is created, and numbered, by
    `transfer_create`, as over the API); the Ship, Receive and Cancel buttons change stock
    through the transfer services (the source's on hand falls when shipped, the
    destination's rises when received, each with its ledger rows), and "Close short" writes
    off what is still in transit."""

    list_display = [
        "number", "source", "destination", "status", "created_at", "shipped_at", "received_at",
    ]
    list_filter = ["status", "source", "destination"]
    list_select_related = ["source", "destination"]
    search_fields = ["number"]
    search_help_text = "Exact transfer number or its start."
    date_hierarchy = "created_at"
    autocomplete_fields = ["source", "destination"]
    form = TransferForm
    inlines = [TransferLineInline]
    fields = [
        "number", ("source", "destination"), "note", "status", "created_by",
        ("created_at", "shipped_at", "received_at"), ("closed_at", "closed_by"), "close_reason",
    ]
    readonly_fields = [
        "number", "status", "created_by", "created_at", "shipped_at", "received_at",
        "closed_at", "closed_by", "close_reason",
    ]

    def search_condition(self, term: str) -> Q:
        return Q(number=term) | Q(number__istartswith=term)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Transfer.Status.DRAFT:
            fields += ["source", "destination"]
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status != Transfer.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except OmsError as error:  # refused by the service after the form's own checks passed
            details = [
                f"{field}: {' '.join(map(str, reasons)) if isinstance(reasons, list) else reasons}"
                for field, reasons in (error.errors or {}).items()
            ]
            self.message_user(
                request, " ".join([f"Transfer not saved: {error.detail}", *details]),
                messages.ERROR,
            )
            return redirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # A new transfer is created with its lines, in save_related, by the service.

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            return super().save_related(request, form, formsets, change)
        lines = next(formset for formset in formsets if formset.model is TransferLine)
        saved = transfer_create(
            source=form.instance.source, destination=form.instance.destination,
            items=lines.items(), note=form.instance.note, actor=_transfer_actor(request),
        )
        take_saved(form.instance, saved)
        for formset in formsets:  # the history's "added" message reads these
            formset.changed_objects, formset.deleted_objects = [], []
            formset.new_objects = list(saved.lines.all()) if formset is lines else []

    object_actions = ("ship", "receive", "cancel")

    @object_action(label="Ship", is_visible=lambda obj: obj.status == Transfer.Status.DRAFT)
    def ship(self, request, obj):
        self._run(request, obj, transfer_ship, "shipped; its units are in transit")

    @object_action(
        label="Receive all", is_visible=lambda obj: obj.status == Transfer.Status.IN_TRANSIT
    )
    def receive(self, request, obj):
        self._run(request, obj, transfer_receive, "received into the destination")

    @object_action(label="Cancel", is_visible=lambda obj: obj.status == Transfer.Status.DRAFT)
    def cancel(self, request, obj):
        self._run(request, obj, transfer_cancel, "cancelled")

    def _run(self, request, obj, service, done: str) -> None:
        try:
            service(transfer=obj, actor=_transfer_actor(request))
        except OmsError as error:
            self.message_user(request, f"Transfer {obj.number}: {error.detail}", messages.ERROR)
        else:
            self.message_user(request, f"Transfer {obj.number} {done}.", messages.SUCCESS)

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        if obj.status != Transfer.Status.IN_TRANSIT:
            return []
        return [("Close short…", reverse("admin:inventory_transfer_close", args=[obj.pk]))]

    def get_urls(self):
        own = [
            path("<int:object_id>/close/", self.admin_site.admin_view(self.close_view),
                 name="inventory_transfer_close"),
        ]
        return own + super().get_urls()

    def close_view(self, request, object_id: int):
        """Confirm, with a reason, that the units still in transit are written off."""
        transfer = self.get_object(request, str(object_id))
        if transfer is None:
            raise Http404("No such transfer.")
        if not self.has_change_permission(request, transfer):
            raise PermissionDenied
        form = TransferCloseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                closed = transfer_close(
                    transfer=transfer, reason=form.cleaned_data["reason"],
                    actor=_transfer_actor(request),
                )
            except OmsError as error:
                self.message_user(request, f"Transfer {transfer.number}: {error.detail}",
                                  messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Transfer {closed.number} closed short: {transfer_units_lost(closed)} "
                    "unit(s) written off as lost in transit.",
                    messages.SUCCESS,
                )
            return redirect(self.object_change_url(transfer))
        lines = transfer.lines.select_related("product").order_by("pk")
        return form_page(
            self,
            request,
            form=form,
            title=f"Close transfer {transfer.number} short",
            submit_label="Write off and close",
            original=transfer,
            intro="The units still in transit will not arrive: they are written off as lost and "
            "the transfer is closed; nothing more can be received against it. No stock level "
            "changes (the units left the source when the transfer shipped).",
            table={
                "head": ["SKU", "Shipped", "Received", "Written off"],
                "rows": [
                    [line.product.sku, line.quantity, line.quantity_received,
                     line.quantity - line.quantity_received]
                    for line in lines
                ],
            },
        )


def _transfer_actor(request) -> str:
    return f"user:{request.user.get_username()}"


@admin.register(ImportJob)
class ImportJobAdmin(IndexedSearchMixin, admin.ModelAdmin):
    """Stock imports: progress and per-row errors; started from the upload page, not by hand."""

    list_display = [
        "id", "filename", "status", "mode", "is_dry_run", "progress", "error_rows",
        "created_by", "created_at",
    ]
    list_filter = ["status", "mode", "is_dry_run"]
    search_fields = ["filename", "created_by"]
    search_help_text = "The start of a file name, or who started the import."
    date_hierarchy = "created_at"
    fields = [
        "filename", "file", ("status", "progress"), ("mode", "is_dry_run"),
        ("total_rows", "processed_rows", "error_rows"), ("inserted", "updated", "unchanged"),
        "message", "row_errors", "created_by", ("created_at", "started_at", "finished_at"),
    ]
    readonly_fields = [
        field for row in fields for field in ([row] if isinstance(row, str) else row)
    ]

    def search_condition(self, term: str) -> Q:
        return Q(filename__istartswith=term) | Q(created_by=term)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, job: ImportJob) -> str:
        percent = job.progress_percent
        return format_html('<progress max="100" value="{}"></progress> {}%', percent, percent)

    @admin.display(description="row errors")
    def row_errors(self, job: ImportJob) -> str:
        if not job.errors:
            return "—"
        shown = job.errors[:200]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            (
                (error.get("row", ""), error.get("message", error))
                if isinstance(error, dict)
                else ("", error)
                for error in shown
            ),
        )
        more = len(job.errors) - len(shown)
        return format_html(
            "<table><thead><tr><th>Row</th><th>Error</th></tr></thead><tbody>{}</tbody></table>{}",
            rows,
            f"… and {more} more" if more > 0 else "",
        )


# --- The warehouse page, with its stock -----------------------------------------------------


class WarehouseStockFormSet(LimitedInlineFormSet):
    limit = 50


class WarehouseStockLevelInline(admin.TabularInline):
    model = StockLevel
    formset = WarehouseStockFormSet
    extra = 0
    fields = ["product", "on_hand", "allocated", "safety_stock", "reorder_point"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "stock (first 50 by SKU; use the stock level list for the rest)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product").order_by("product__sku")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WarehouseWithStockAdmin(WarehouseAdmin):
    inlines = [*WarehouseAdmin.inlines, WarehouseStockLevelInline]


admin.site.unregister(Warehouse)
admin.site.register(Warehouse, WarehouseWithStockAdmin)


# --- Stock CSV import pages (upload, dry-run preview, confirm) on the import jobs -----------


class ImportJobWithUploadAdmin(StockImportAdminMixin, ImportJobAdmin):
    pass


admin.site.unregister(ImportJob)
admin.site.register(ImportJob, ImportJobWithUploadAdmin)
from inventory import purchasing_admin  # noqa: E402,F401  (suppliers, purchase orders)
