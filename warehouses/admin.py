"""Admin for stock locations, carriers and their service levels.

The inventory app adds the (read-only) stock levels of a warehouse to its page.
"""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from oms_project.admin import IndexedSearchMixin
from warehouses.admin_forms import ServiceLevelAdminForm, WarehouseAdminForm
from warehouses.models import Carrier, ServiceLevel, Warehouse
from warehouses.services import (
    routing_rule_sets_naming,
    warehouse_create,
    warehouse_delete,
    warehouse_update,
)


@admin.register(Warehouse)
class WarehouseAdmin(IndexedSearchMixin, admin.ModelAdmin):
    form = WarehouseAdminForm
    list_display = [
        "code", "name", "kind", "city", "country", "priority", "is_active", "can_ship",
        "pickup_enabled", "daily_order_capacity",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["kind", "is_active", "can_ship", "pickup_enabled"]
    search_fields = ["code", "name", "city"]
    search_help_text = "Exact code, or the start of a code, name or city."
    fieldsets = [
        (None, {"fields": [("code", "name"), "kind", "is_active"]}),
        (
            "Address",
            {
                "fields": [
                    "line1", "line2", ("postal_code", "city"), ("region", "country"),
                    ("latitude", "longitude"), "timezone",
                ]
            },
        ),
        (
            "Fulfillment",
            {
                "fields": [
                    "priority", ("can_ship", "pickup_enabled"), "daily_order_capacity",
                    ("order_cutoff_time", "handling_days"), "accepted_freight_classes",
                    "ships_to_countries", "contact_emails",
                ]
            },
        ),
        ("Record", {"fields": [("created_at", "updated_at")]}),
    ]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change) -> None:
        """Write through `warehouses.services`, which carries a new code into the routing
        rules that name the old one."""
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            warehouse_update(warehouse=obj, **changes)
            return
        created = warehouse_create(**form.cleaned_data)
        for field in Warehouse._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    def delete_model(self, request, obj) -> None:
        warehouse_delete(warehouse=obj)

    def get_deleted_objects(self, objs, request):
        """List the routing rules that name a location among what blocks its deletion, so
        the delete page says which rules to take it out of instead of deleting it."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        codes = {warehouse.code for warehouse in objs}
        for rule_set in routing_rule_sets_naming(codes=codes):
            named = sorted(codes & {*rule_set.preferred_locations, *rule_set.excluded_locations})
            protected.append(
                format_html(
                    '<a href="{}">{}</a>: names {}; take it out of these rules first',
                    reverse("admin:orders_routingruleset_change", args=[rule_set.pk]),
                    rule_set,
                    ", ".join(named),
                )
            )
        return deleted, model_count, perms_needed, protected

    def search_condition(self, term: str) -> Q:
        return (
            Q(code__iexact=term)
            | Q(code__istartswith=term)
            | Q(name__istartswith=term)
            | Q(city__istartswith=term)
        )


class ServiceLevelInline(admin.TabularInline):
    model = ServiceLevel
    form = ServiceLevelAdminForm
    extra = 0
    fields = [
        "code", "name", "transit_days_min", "transit_days_max", "accepted_freight_classes",
        "is_active",
    ]
    show_change_link = True


@admin.register(Carrier)
class CarrierAdmin(IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["code", "name", "tracking_url_template", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    search_help_text = "The start of a carrier code or name."
    inlines = [ServiceLevelInline]

    def search_condition(self, term: str) -> Q:
        return Q(code__istartswith=term) | Q(name__istartswith=term)


@admin.register(ServiceLevel)
class ServiceLevelAdmin(IndexedSearchMixin, admin.ModelAdmin):
    form = ServiceLevelAdminForm
    list_display = ["code", "name", "carrier", "transit_days_min", "transit_days_max", "is_active"]
    list_filter = ["carrier", "is_active"]
    list_select_related = ["carrier"]
    search_fields = ["code", "name", "carrier__code"]
    search_help_text = "The start of a service level code or name, or an exact carrier code."
    autocomplete_fields = ["carrier"]

    def search_condition(self, term: str) -> Q:
        return (
            Q(code__istartswith=term) | Q(name__istartswith=term) | Q(carrier__code=term)
        )

from warehouses import routing_admin  # noqa: E402,F401
