"""`manage.py inventory_reconcile [--fix] [--actor NAME]`: check (and repair) the stock ledger."""

from django.core.management.base import CommandError

from inventory.reconciliation import stock_mismatches, stock_reconcile
from oms_project.commands import LongHelpCommand

HELP = """Check every stock level against its ledger and its reservations.

on_hand must equal the sum of its movements' delta_on_hand; allocated must equal the sum of
its movements' delta_allocated and the sum of its open reservations. Every mismatch is printed
as SKU, warehouse, what disagrees, expected and actual. The exit status is 1 when mismatches
remain (so schedulers notice), 0 otherwise.

--fix repairs each mismatched level under its row lock with one compensating movement
(reason "reconciliation", reference "inventory_reconcile", the --actor, and a note with the
numbers before the repair):
  * on_hand vs ledger: on_hand is kept, because it is what has been sold against and only a
    physical count can correct it; the movement's delta_on_hand makes the ledger sum equal it.
    Run a stock count afterwards if you doubt the number itself.
  * allocated vs reservations / ledger: the open reservations are the truth (each names the
    order line or checkout it holds stock for), so allocated is set to their sum and the
    movement's delta_allocated makes the ledger's allocated sum equal it too.
  * reservations above on_hand cannot be repaired automatically (the database refuses
    allocated > on_hand); such levels are reported as not repaired: count the stock or release
    reservations, then run again.
"""


class Command(LongHelpCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="Repair mismatches with compensating movements."
        )
        parser.add_argument(
            "--actor",
            default="system:inventory_reconcile",
            help="Who the repair movements are recorded as (default: %(default)s).",
        )

    def handle(self, *args, fix: bool, actor: str, **options):
        actor = actor.strip()
        if not actor:
            raise CommandError("--actor must not be empty.")
        mismatches = stock_mismatches()
        if not mismatches:
            self.stdout.write(self.style.SUCCESS("Every stock level matches its ledger."))
            return
        self.stdout.write("SKU\tWAREHOUSE\tCHECK\tEXPECTED\tACTUAL")
        for mismatch in mismatches:
            for what, expected, actual in mismatch.problems():
                self.stdout.write(
                    f"{mismatch.sku}\t{mismatch.warehouse}\t{what}\t{expected}\t{actual}"
                )
        self.stdout.write(f"{len(mismatches)} stock level(s) do not match.")
        if not fix:
            raise CommandError("Mismatches found; run with --fix to repair them.")
        unrepaired = 0
        for mismatch in mismatches:
            repair = stock_reconcile(mismatch=mismatch, actor=actor)
            label = f"{mismatch.sku}@{mismatch.warehouse}"
            if repair.is_repaired:
                self.stdout.write(f"repaired {label}: {repair.detail}")
            else:
                unrepaired += 1
                self.stderr.write(f"NOT repaired {label}: {repair.detail}")
        if unrepaired:
            raise CommandError(f"{unrepaired} stock level(s) could not be repaired.")
        self.stdout.write(self.style.SUCCESS(f"Repaired {len(mismatches)} stock level(s)."))
