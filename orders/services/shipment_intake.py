"""Recording shipments as the API receives them: codes resolved, all or nothing."""

from django.db import transaction

from oms_project.errors import OmsError
from orders.errors import OrderValidationError
from orders.models import Order, Shipment
from orders.services.shipments import shipment_record
from warehouses.models import ServiceLevel, Warehouse


def shipments_record(
    *, batches: list[tuple[Order, list[dict]]], actor: str
) -> list[list[tuple[Shipment, bool]]]:
    """Record every shipment of every (order, shipments) batch in one transaction.

    Each shipment is a dict in the snake_case API shape (`reference`, `carrier`,
    `service_level` code, `tracking_number`, `tracking_url`, `warehouse` code, `status`,
    `estimated_delivery_date`, `shipped_at`, `lines` as [{line_id, quantity}]); a missing
    `status` is awaiting for a new shipment and leaves a known one's status alone. Returns,
    per batch, (shipment, created) pairs; a reference already recorded for the order is the
    same parcel sent again (`shipment_record`): its news (tracking first given, status,
    dates) updates it, another parcel is refused (`ShipmentReferenceReused`, 409). If any
    shipment fails, nothing is written and the error is re-raised with its `errors` placed
    under `[batch index]["shipments"][shipment index]`.
    """
    results: list[list[tuple[Shipment, bool]]] = []
    with transaction.atomic():
        for batch_index, (order, shipments) in enumerate(batches):
            outcomes = []
            for shipment_index, data in enumerate(shipments):
                try:
                    outcomes.append(_record_one(order, data, actor))
                except OmsError as error:
                    error.errors = {
                        str(batch_index): {
                            "shipments": {
                                str(shipment_index): error.errors or {"detail": [error.detail]}
                            }
                        }
                    }
                    error.detail = f"Shipment {data['reference']} of order {order.number}: " + (
                        error.detail
                    )
                    raise
            results.append(outcomes)
    return results


def _record_one(order: Order, data: dict, actor: str) -> tuple[Shipment, bool]:
    errors = {}
    service_level = warehouse = None
    if data.get("service_level"):
        service_level = (
            ServiceLevel.objects.select_related("carrier")
            .filter(code=data["service_level"])
            .first()
        )
        if service_level is None:
            errors["service_level"] = [f"Unknown service level '{data['service_level']}'."]
    if data.get("warehouse"):
        warehouse = Warehouse.objects.filter(code=data["warehouse"]).first()
        if warehouse is None:
            errors["warehouse"] = [f"Unknown location '{data['warehouse']}'."]
    if errors:
        raise OrderValidationError("Some shipment fields are invalid.", errors=errors)
    return shipment_record(
        order=order,
        reference=data["reference"],
        lines={item["line_id"]: item["quantity"] for item in data["lines"]},
        actor=actor,
        carrier_name=data.get("carrier", ""),
        service_level=service_level,
        tracking_number=data.get("tracking_number", ""),
        tracking_url=data.get("tracking_url", ""),
        warehouse=warehouse,
        status=data.get("status") or None,
        estimated_delivery_date=data.get("estimated_delivery_date"),
        shipped_at=data.get("shipped_at"),
    )
