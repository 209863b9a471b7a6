"""A barcode belongs to one product (packing reads scans by barcode). A database holding the
same barcode on several products is refused with the list to fix, before anything changes."""

from django.db import migrations, models
from django.db.models import Count


def refuse_shared_barcodes(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    shared = (
        Product.objects.exclude(barcode="")
        .values("barcode")
        .annotate(products=Count("id"))
        .filter(products__gt=1)
        .order_by("barcode")
    )
    problems = [
        f"{row['barcode']}: "
        + ", ".join(Product.objects.filter(barcode=row["barcode"]).values_list("sku", flat=True))
        for row in shared[:20]
    ]
    if problems:
        raise RuntimeError(
            "These barcodes are on more than one product; give each product its own (or none) "
            "and migrate again: " + "; ".join(problems)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_supplier_code_unique_ignoring_case"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_barcodes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(
                condition=models.Q(("barcode", ""), _negated=True),
                fields=("barcode",),
                name="product_barcode_unique",
            ),
        ),
    ]
