"""CSV import and export of suppliers and what they supply (django-import-export).

Suppliers are keyed by `code`; supplier products by (`supplier` code, `sku`), loaded in one
query keyed on both columns (the shipped cached loader keys on the first column only). Every row is
validated with the model's own validators (e-mail lists, currency codes, ranges) and reported
per row; the admin shows a dry run first, and an import with any bad row writes nothing.
Making a supplier preferred for a SKU goes through `supplier_product_save`, which takes that
role from the SKU's previous preferred supplier.
"""

from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from inventory.imports import neutralise_formula
from inventory.models import Product, Supplier, SupplierProduct
from inventory.purchasing.services import supplier_product_save


class FormulaSafeExportMixin:
    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))


class SupplierResource(FormulaSafeExportMixin, resources.ModelResource):
    class Meta:
        model = Supplier
        fields = (
            "code", "name", "contact_emails", "lead_time_days", "currency",
            "minimum_order_value", "over_receipt_percent", "is_active",
        )
        export_order = fields
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True
        use_transactions = True


class SupplierProductKeyLoader(ModelInstanceLoader):
    """Preload the file's existing supplier products in one query, keyed on the raw
    (supplier code, SKU) columns, so an unknown code is a row error rather than a failed
    import."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instances = {}
        if self.dataset is None or not self.dataset.dict:
            return
        rows = self.dataset.dict
        existing = self.get_queryset().filter(
            supplier__code__in={str(row.get("supplier") or "") for row in rows},
            product__sku__in={str(row.get("sku") or "") for row in rows},
        )
        for instance in existing:
            self.instances[(instance.supplier.code, instance.product.sku)] = instance

    def get_instance(self, row):
        return self.instances.get((str(row.get("supplier") or ""), str(row.get("sku") or "")))


class SupplierProductResource(FormulaSafeExportMixin, resources.ModelResource):
    supplier = fields.Field(
        attribute="supplier", column_name="supplier",
        widget=widgets.ForeignKeyWidget(Supplier, "code"),
    )
    sku = fields.Field(
        attribute="product", column_name="sku", widget=widgets.ForeignKeyWidget(Product, "sku")
    )

    class Meta:
        model = SupplierProduct
        fields = (
            "supplier", "sku", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
            "is_preferred",
        )
        export_order = fields
        import_id_fields = ("supplier", "sku")
        instance_loader_class = SupplierProductKeyLoader
        clean_model_instances = True
        skip_unchanged = True
        use_transactions = True

    def get_queryset(self):
        return SupplierProduct.objects.select_related("supplier", "product").order_by("pk")

    def save_instance(self, instance, is_create, row, **kwargs):
        saved = supplier_product_save(
            supplier=instance.supplier,
            product=instance.product,
            unit_cost=instance.unit_cost,
            supplier_sku=instance.supplier_sku,
            pack_size=instance.pack_size,
            minimum_quantity=instance.minimum_quantity,
            is_preferred=instance.is_preferred,
        )
        instance.pk = saved.pk
