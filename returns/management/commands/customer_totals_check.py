"""`manage.py customer_totals_check [--fix] [--customer ID ...]`: check (and repair) customers'
lifetime totals against their orders, returns and refunds."""

from django.core.management.base import CommandError

from customers.models import Customer
from oms_project.commands import LongHelpCommand
from returns.lifetime import customer_totals_check

HELP = """Work out each customer's lifetime totals again from history and compare.

Expected: the orders with a unit not cancelled; lifetime value = per order its total less its
cancelled units, refunds for returns and goodwill, and exchange credit moved to a replacement
order; first and last order dates over all orders. Each difference is printed as customer id,
e-mail, then stored and expected orders and value. Exit status 1 when differences remain.

--fix writes the expected totals, a batch of customers at a time under their row locks.
"""


class Command(LongHelpCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Write the expected totals.")
        parser.add_argument(
            "--customer",
            type=int,
            action="append",
            dest="customers",
            metavar="ID",
            help="Only this customer (repeatable).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Customers per batch (default 500)."
        )

    def handle(self, *args, fix: bool, customers: list[int] | None, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if customers:
            unknown = sorted(
                set(customers)
                - set(Customer.objects.filter(pk__in=customers).values_list("pk", flat=True))
            )
            if unknown:
                raise CommandError(f"No customer with id {', '.join(map(str, unknown))}.")
        checked, differences = customer_totals_check(
            customer_ids=customers, fix=fix, batch_size=batch_size
        )
        if differences:
            self.stdout.write("CUSTOMER\tEMAIL\tORDERS\tEXPECTED\tVALUE\tEXPECTED")
        for difference in differences:
            stored, expected = difference.stored, difference.expected
            self.stdout.write(
                f"{difference.customer_id}\t{difference.email}\t{stored.orders_count}\t"
                f"{expected.orders_count}\t{stored.lifetime_value}\t{expected.lifetime_value}"
            )
        if not differences:
            self.stdout.write(self.style.SUCCESS(f"{checked} customers checked: all match."))
        elif fix:
            self.stdout.write(
                self.style.SUCCESS(f"{checked} customers checked, {len(differences)} repaired.")
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"{checked} customers checked, {len(differences)} differ; --fix repairs them."
                )
            )
            raise SystemExit(1)
