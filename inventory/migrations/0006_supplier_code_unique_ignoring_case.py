# Supplier codes become unique whatever their case ("ACME" and "acme" are one supplier).

from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower

import oms_project.currencies


def refuse_duplicate_supplier_codes(apps, schema_editor):
    """Stop, naming them, if codes that differ only in case exist: which supplier to keep is
    the merchant's call (rename one, or move its purchase orders and delete it)."""
    Supplier = apps.get_model("inventory", "Supplier")
    clashing = (
        Supplier.objects.annotate(folded=Lower("code"))
        .values("folded")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .values_list("folded", flat=True)
    )
    groups = []
    for folded in sorted(clashing):
        codes = Supplier.objects.filter(code__iexact=folded).order_by("code")
        groups.append(" / ".join(codes.values_list("code", flat=True)))
    if groups:
        raise RuntimeError(
            "Supplier codes must be unique ignoring case; rename or merge these first: "
            + "; ".join(groups) + "."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0005_stock_on_hand_limit"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicate_supplier_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="supplier",
            name="currency",
            field=models.CharField(
                default="USD",
                help_text="What its prices and purchase orders are in. It cannot change while "
                "purchase orders are open; its prices carry no currency of their own and read "
                "as amounts in the new one, so re-enter them with the change.",
                max_length=3,
                validators=[oms_project.currencies.currency_code_validator],
            ),
        ),
        migrations.AddConstraint(
            model_name="supplier",
            constraint=models.UniqueConstraint(
                Lower("code"),
                name="supplier_code_unique_ignoring_case",
                violation_error_message="A supplier with this code already exists "
                "(codes ignore case).",
            ),
        ),
    ]
