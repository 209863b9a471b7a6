"""django-import-export resources for stock: the admin's CSV export of stock levels.

The export writes exactly the columns the stock import reads (`sku, warehouse, on_hand,
safety_stock, reorder_point, reorder_quantity`), so an exported file can be edited and imported
back, and neutralises spreadsheet formulas in every cell. Imports do not go through
django-import-export: they change `on_hand`, which must write ledger rows, so the resource
refuses them and points at the stock import page (`inventory.imports`).

`CompositeKeyInstanceLoader` loads the existing rows of a dataset in one query keyed on *every*
`import_id_fields` column; django-import-export's own `CachedInstanceLoader` keys on the first
column only and silently matches the wrong rows for a (SKU, warehouse) key.
"""

from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from inventory.imports import ImportFileInvalid, neutralise_formula
from inventory.models import Product, StockLevel
from warehouses.models import Warehouse


class CompositeKeyInstanceLoader(ModelInstanceLoader):
    """Preload the dataset's existing instances, keyed on all import id fields together."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_fields = [
            self.resource.fields[name] for name in self.resource.get_import_id_fields()
        ]
        self.instances = {}
        if self.dataset is None or not self.dataset.dict:
            return
        lookups = {}
        for field in self.key_fields:
            values = {field.clean(row) for row in self.dataset.dict}
            lookups[f"{field.attribute}__in"] = {value for value in values if value is not None}
        for instance in self.get_queryset().filter(**lookups):
            key = tuple(getattr(instance, field.attribute) for field in self.key_fields)
            self.instances[key] = instance

    def get_instance(self, row):
        key = tuple(field.clean(row) for field in self.key_fields)
        return self.instances.get(key)


class StockLevelResource(resources.ModelResource):
    """Stock levels by (SKU, warehouse code); export only."""

    sku = fields.Field(
        attribute="product", column_name="sku", widget=widgets.ForeignKeyWidget(Product, "sku")
    )
    warehouse = fields.Field(
        attribute="warehouse", column_name="warehouse",
        widget=widgets.ForeignKeyWidget(Warehouse, "code"),
    )

    class Meta:
        model = StockLevel
        fields = (
            "sku", "warehouse", "on_hand", "safety_stock", "reorder_point", "reorder_quantity",
        )
        export_order = fields
        import_id_fields = ("sku", "warehouse")
        instance_loader_class = CompositeKeyInstanceLoader
        skip_unchanged = True

    def get_queryset(self):
        return StockLevel.objects.select_related("product", "warehouse").order_by("pk")

    def before_import(self, dataset, **kwargs):
        raise ImportFileInvalid(
            "Stock is imported through the stock import page (Inventory > Import jobs), which "
            "writes the stock ledger.",
            code="use_stock_import",
        )

    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))
