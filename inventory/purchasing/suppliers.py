"""Changes to a supplier that its purchase orders constrain."""

from django.db import transaction

from inventory.models import PurchaseOrder, Supplier
from inventory.purchasing.states import OPEN_STATUSES
from oms_project.errors import ValidationFailed

NAMED_ORDERS = 10


def supplier_update(*, supplier: Supplier, **changes) -> Supplier:
    """Change a supplier's fields (already validated by the API serializer or a form).

    Its currency cannot change while it has open purchase orders (draft, sent or partially
    received): each was priced and sent in the supplier's currency. Its prices
    (`SupplierProduct.unit_cost`) carry no currency of their own: after a change they read as
    amounts in the new currency, so re-enter them with the change. Raises `ValidationFailed`
    on `currency` naming the open orders.
    """
    with transaction.atomic():
        locked = Supplier.objects.select_for_update().get(pk=supplier.pk)
        currency = changes.get("currency", locked.currency)
        if currency != locked.currency:
            supplier_currency_change_check(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save()
    return locked


def supplier_currency_change_check(supplier: Supplier) -> None:
    """Raise `ValidationFailed` on `currency` when the supplier has open purchase orders."""
    numbers = list(
        PurchaseOrder.objects.filter(supplier=supplier, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("number", flat=True)[: NAMED_ORDERS + 1]
    )
    if not numbers:
        return
    named = ", ".join(numbers[:NAMED_ORDERS]) + (" and more" if len(numbers) > NAMED_ORDERS else "")
    raise ValidationFailed(
        f"{supplier.code}'s currency cannot change while it has open purchase orders.",
        errors={"currency": [
            f"{supplier.code} has open purchase orders in {supplier.currency}: {named}. "
            "Receive, close or cancel them first."
        ]},
    )
