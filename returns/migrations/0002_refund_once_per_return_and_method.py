"""A return is refunded once, in one refund per payment method (a replacement paid by exchange
credit and card is paid back to both)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("returns", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="refund",
            name="refund_once_per_return",
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.UniqueConstraint(
                condition=models.Q(("return_request__isnull", False)),
                fields=("return_request", "method"),
                name="refund_once_per_return_and_method",
            ),
        ),
    ]
