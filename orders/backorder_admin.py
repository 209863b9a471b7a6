"""The order page shows which purchase order each waiting line is expected from, and when.

Imported from the bottom of `orders.admin`; it extends the registered order admin the same way
the shipment and fulfillment admins do (subclass, unregister, register).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from orders.models import Order, OrderLine

BaseOrderAdmin = type(admin.site.get_model_admin(Order))


class BackorderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["id", "sku", "name", "waiting", "purchase_order", "backorder_expected_date"]
    readonly_fields = fields
    verbose_name = "backordered line"
    verbose_name_plural = "backorders (expected dates)"

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .filter(backorder_expected_date__isnull=False)
            .select_related("backorder_purchase_order")
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="units waiting")
    def waiting(self, line) -> int:
        return line.quantity_open

    @admin.display(description="purchase order")
    def purchase_order(self, line) -> str:
        purchase_order = line.backorder_purchase_order
        if purchase_order is None:
            return "—"
        url = reverse("admin:inventory_purchaseorder_change", args=[purchase_order.pk])
        return format_html("<a href='{}'>{}</a>", url, purchase_order.number)


class OrderWithBackorderDatesAdmin(BaseOrderAdmin):
    inlines = [*BaseOrderAdmin.inlines, BackorderLineInline]


admin.site.unregister(Order)
admin.site.register(Order, OrderWithBackorderDatesAdmin)
