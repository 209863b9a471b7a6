"""Count wrong pickup codes per fulfillment order and lock guessing out for a while."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_order_cancelled_total"),
    ]

    operations = [
        migrations.AddField(
            model_name="fulfillmentorder",
            name="pickup_code_failed_since",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="The first wrong pickup code of the current counting window.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="fulfillmentorder",
            name="pickup_code_failures",
            field=models.PositiveSmallIntegerField(
                default=0,
                editable=False,
                help_text="Wrong pickup codes entered since the counting window started.",
            ),
        ),
        migrations.AddField(
            model_name="fulfillmentorder",
            name="pickup_code_locked_until",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="After too many wrong codes, no code is accepted before this time.",
                null=True,
            ),
        ),
    ]
