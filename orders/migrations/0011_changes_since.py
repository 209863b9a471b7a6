"""Shipments get `updated_at`; orders and shipments an index for paging through changes."""

from django.db import migrations, models
from django.db.models.functions import Coalesce, Greatest


def backfill_shipment_updated_at(apps, schema_editor):
    """Existing shipments changed last when they were delivered, or else when recorded."""
    Shipment = apps.get_model("orders", "Shipment")
    Shipment.objects.update(
        updated_at=Coalesce(Greatest("delivered_at", "created_at"), "created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0010_fulfillment_pickup_code_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="shipment",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.RunPython(backfill_shipment_updated_at, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["updated_at", "id"], name="orders_orde_updated_40110c_idx"),
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(fields=["updated_at", "id"], name="orders_ship_updated_6b3ec6_idx"),
        ),
    ]
