"""The purchase order sent to the supplier: an HTML and text e-mail with the full delivery
address of the receiving warehouse, and the order as a CSV file."""

import csv
import io

from inventory.imports import neutralise_formula
from inventory.models import PurchaseOrder
from inventory.purchasing.selectors import purchase_order_line_total, purchase_order_total
from oms_project.models import EmailMessage
from oms_project.notifications import email_queue
from warehouses.models import Warehouse

CSV_COLUMNS = [
    "purchase_order", "line", "sku", "supplier_sku", "name", "quantity", "unit_cost",
    "line_total", "currency", "ship_to", "expected_date",
]


def purchase_order_lines_for_document(purchase_order: PurchaseOrder) -> list[dict]:
    """The lines as the supplier sees them: their SKU first, with line totals."""
    return [
        {
            "number": index,
            "sku": line.product.sku,
            "supplier_sku": line.supplier_sku,
            "name": line.product.name,
            "quantity": line.quantity,
            "unit_cost": line.unit_cost,
            "line_total": purchase_order_line_total(line),
        }
        for index, line in enumerate(
            purchase_order.lines.select_related("product").order_by("pk"), start=1
        )
    ]


def purchase_order_csv(*, purchase_order: PurchaseOrder) -> str:
    """The purchase order as CSV, one row per line; cells a spreadsheet would run are quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for line in purchase_order_lines_for_document(purchase_order):
        writer.writerow(
            neutralise_formula(value)
            for value in (
                purchase_order.number, line["number"], line["sku"], line["supplier_sku"],
                line["name"], line["quantity"], line["unit_cost"], line["line_total"],
                purchase_order.currency, purchase_order.warehouse.code,
                purchase_order.expected_date.isoformat(),
            )
        )
    return buffer.getvalue()


def purchase_order_ship_to(warehouse: Warehouse) -> list[str]:
    """The delivery address of the receiving warehouse, one printed line each: name and code,
    street lines, postal code and city with the region, country; empty parts are left out."""
    town = " ".join(part for part in (warehouse.postal_code, warehouse.city) if part)
    lines = [
        f"{warehouse.name} ({warehouse.code})",
        warehouse.line1,
        warehouse.line2,
        ", ".join(part for part in (town, warehouse.region) if part),
        str(warehouse.country.name) if warehouse.country else "",
    ]
    return [line for line in lines if line]


def purchase_order_email_queue(*, purchase_order: PurchaseOrder) -> list[EmailMessage]:
    """Queue the purchase order to every contact address of its supplier (sent after commit)."""
    lines = purchase_order_lines_for_document(purchase_order)
    context = {
        "purchase_order": purchase_order,
        "supplier": purchase_order.supplier,
        "warehouse": purchase_order.warehouse,
        "ship_to": purchase_order_ship_to(purchase_order.warehouse),
        "po_lines": lines,
        "total": purchase_order_total(lines=purchase_order.lines.all()),
    }
    attachment = {
        "filename": f"{purchase_order.number}.csv",
        "content": purchase_order_csv(purchase_order=purchase_order),
        "mimetype": "text/csv",
    }
    return [
        email_queue(
            to=address,
            template="purchase_order",
            context=context,
            reference=f"po:{purchase_order.number}",
            attachments=[attachment],
        )
        for address in purchase_order.supplier.email_addresses
    ]
