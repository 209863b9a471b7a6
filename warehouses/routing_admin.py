"""Admin for what routing reads from locations: outages and the postal-code table.

Imported from the bottom of `warehouses.admin`.
"""

from django.contrib import admin

from warehouses.models import LocationOutage, PostalCode


@admin.register(LocationOutage)
class LocationOutageAdmin(admin.ModelAdmin):
    list_display = ["warehouse", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["warehouse"]
    list_select_related = ["warehouse"]
    autocomplete_fields = ["warehouse"]
    fields = ["warehouse", "starts_at", "ends_at", "reason"]

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or f"user:{request.user.get_username()}"
        super().save_model(request, obj, form, change)


@admin.register(PostalCode)
class PostalCodeAdmin(admin.ModelAdmin):
    list_display = ["country", "postal_code", "place_name", "latitude", "longitude"]
    search_fields = ["=postal_code"]
    search_help_text = "An exact postal code (load the table with manage.py load_postal_codes)."
    show_full_result_count = False
