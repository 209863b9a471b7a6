"""The purchase order e-mail tells the supplier the full delivery address, in both parts."""

import pytest

from inventory.purchasing.emails import purchase_order_email_queue
from inventory.purchasing.services import PurchaseItem, purchase_order_create
from tests.factories import ProductFactory, WarehouseFactory
from tests.factories.purchasing import SupplierFactory

pytestmark = pytest.mark.django_db

SHIP_TO = [
    "East coast distribution center (NJ-EAST)",
    "300 Raritan Center Pkwy",
    "Dock 4",
    "08837 Edison, NJ",
    "United States of America",
]


def rendered(**warehouse_fields):
    defaults = {
        "code": "NJ-EAST", "name": "East coast distribution center",
        "line1": "300 Raritan Center Pkwy", "line2": "Dock 4", "postal_code": "08837",
        "city": "Edison", "region": "NJ", "country": "US",
    }
    purchase_order = purchase_order_create(
        supplier=SupplierFactory(code="ACME", contact_emails="buyer@acme.test"),
        warehouse=WarehouseFactory(**{**defaults, **warehouse_fields}),
        items=[PurchaseItem(product=ProductFactory(sku="SKU-A"), quantity=4, unit_cost=2)],
    )
    [email] = purchase_order_email_queue(purchase_order=purchase_order)
    return email


def test_text_part_gives_the_full_delivery_address_line_by_line():
    email = rendered()
    lines = email.body_text.splitlines()
    start = lines.index("Deliver to:")
    assert lines[start + 1:start + 1 + len(SHIP_TO)] == SHIP_TO


def test_html_part_gives_the_full_delivery_address():
    email = rendered()
    assert "Deliver to:" in email.body_html
    assert "<br>".join(SHIP_TO) in email.body_html


def test_missing_address_parts_leave_no_empty_lines_or_stray_commas():
    email = rendered(line2="", region="")
    lines = email.body_text.splitlines()
    start = lines.index("Deliver to:")
    assert lines[start + 1:start + 5] == [
        "East coast distribution center (NJ-EAST)",
        "300 Raritan Center Pkwy",
        "08837 Edison",
        "United States of America",
    ]
    assert "08837 Edison<br>United States of America" in email.body_html
