"""Receiving a return: what arrived in which condition, restocking, and the exchange order.

Resellable units go back on hand at the chosen location (ledger reason `return_restock`,
reference `return:<RMA>`). Damaged units are recorded on the return line only: they never
enter sellable stock, so no ledger row is written for them; `ReturnLine.quantity_damaged`
is the record of non-sellable units for write-off or repair. Missing units (never arrived)
are recorded too and are not refunded by default.
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from inventory.models import MovementReason
from inventory.services import stock_change, stock_level_ensure
from oms_project.outbox import outbox_emit
from orders.services.backorders import backorders_allocate
from orders.services.returns_bookkeeping import (
    order_lines_record_returned,
    order_return_event_record,
)
from returns.errors import InvalidTransition, ReturnValidationError
from returns.events import return_event_record
from returns.models import ItemCondition, ReturnLine, ReturnRequest
from returns.payloads import return_payload
from returns.services.exchanges import exchange_order_create
from returns.states import ReturnStatus
from warehouses.models import Warehouse

logger = logging.getLogger(__name__)


def return_receive(
    *, return_request: ReturnRequest, lines: list[dict], actor: str, note: str = ""
) -> ReturnRequest:
    """Record what arrived for an approved return and put resellable units back on sale.

    `lines` are `{"line_id", "condition", "quantity", "location"?}` (order line ids; a line
    may appear once per condition); every unit of the return must be accounted for as
    resellable, damaged or missing. Resellable units need a `location` (a warehouse code),
    one per line. Returned units are counted on the order lines; a requested exchange becomes
    a new order; after commit, waiting backorders may take the restocked units.
    Raises `InvalidTransition` unless the return is approved and `ReturnValidationError` for
    unknown lines, conditions or locations and units not accounted for; nothing changes then.
    """
    from returns.services.requests import return_transition

    with transaction.atomic():
        return_request = (
            ReturnRequest.objects.select_for_update(of=("self", "order"))
            .select_related("order", "order__channel", "channel")
            .get(pk=return_request.pk)
        )
        if return_request.status != ReturnStatus.APPROVED:
            raise InvalidTransition(
                f"Return {return_request.number} is {return_request.status}; only approved "
                f"returns can be received.",
                extra={"from_status": return_request.status, "to_status": ReturnStatus.RECEIVED},
            )
        return_lines = {
            line.order_line_id: line
            for line in ReturnLine.objects.select_for_update(of=("self",))
            .select_related("order_line")
            .filter(return_request=return_request)
            .order_by("pk")
        }
        plan = _receipt_plan(return_lines, lines)
        restocked = _apply(return_request, return_lines, plan, actor)
        returned = {
            line_id: counts[ItemCondition.RESELLABLE] + counts[ItemCondition.DAMAGED]
            for line_id, counts in plan.items()
        }
        order_lines_record_returned(
            order=return_request.order,
            quantities=returned,
            actor=actor,
            reference=f"return:{return_request.number}",
        )
        summary = {
            str(line_id): {
                condition: counts[condition] for condition in ItemCondition.values
                if counts[condition]
            }
            for line_id, counts in plan.items()
        }
        return_transition(
            return_request=return_request,
            to_status=ReturnStatus.RECEIVED,
            actor=actor,
            reason=note or "Received",
            data={"lines": summary},
            fields={"received_at": timezone.now()},
        )
        order_return_event_record(
            order=return_request.order,
            type="return_received",
            actor=actor,
            message=f"Return {return_request.number} received",
            data={"return": return_request.number, "lines": summary},
        )
        if return_request.exchange_items.exists():
            exchange_order_create(return_request=return_request, actor=actor)
        outbox_emit(
            topic="return.received",
            payload=return_payload(return_request),
            reference=return_request.number,
        )
        if restocked:
            product_ids = sorted(restocked)
            transaction.on_commit(lambda: _enqueue_backorders(product_ids, actor))
    return return_request


def _receipt_plan(return_lines: dict[int, ReturnLine], lines: list[dict]) -> dict[int, dict]:
    """{order line id: {condition: units, "location": code}}, checked against the return."""
    plan: dict[int, dict] = {
        line_id: {**dict.fromkeys(ItemCondition.values, 0), "location": None}
        for line_id in return_lines
    }
    errors: dict[str, list[str]] = {}
    seen: set = set()
    for index, entry in enumerate(lines):
        problems = []
        line_id, condition = entry.get("line_id"), entry.get("condition")
        quantity, location = entry.get("quantity"), entry.get("location") or ""
        if line_id not in return_lines:
            problems.append(f"Line {line_id} is not part of this return.")
        if condition not in ItemCondition.values:
            problems.append(f"Condition must be one of: {', '.join(ItemCondition.values)}.")
        elif (line_id, condition) in seen:
            problems.append(f"Line {line_id} lists '{condition}' twice.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            problems.append("Quantity must be a whole number, zero or more.")
        if condition == ItemCondition.RESELLABLE and quantity and not location:
            problems.append("Resellable units need a location to restock at.")
        if condition != ItemCondition.RESELLABLE and location:
            problems.append("Only resellable units are restocked at a location.")
        seen.add((line_id, condition))
        if problems:
            errors[str(index)] = problems
            continue
        plan[line_id][condition] = quantity
        if location:
            plan[line_id]["location"] = location
    if errors:
        raise ReturnValidationError("Some received lines are invalid.", errors={"lines": errors})
    _check_accounted(return_lines, plan)
    _resolve_locations(plan)
    return plan


def _check_accounted(return_lines: dict[int, ReturnLine], plan: dict[int, dict]) -> None:
    errors = {}
    for line_id, line in return_lines.items():
        counted = sum(plan[line_id][condition] for condition in ItemCondition.values)
        if counted != line.quantity:
            errors[str(line_id)] = [
                f"The return has {line.quantity} unit(s) of {line.order_line.sku}; {counted} "
                f"accounted for. Record every unit as resellable, damaged or missing."
            ]
    if errors:
        raise ReturnValidationError(
            "Every unit of the return must be accounted for.", errors={"lines": errors}
        )


def _resolve_locations(plan: dict[int, dict]) -> None:
    codes = {counts["location"] for counts in plan.values() if counts["location"]}
    warehouses = {
        warehouse.code: warehouse
        for warehouse in Warehouse.objects.filter(code__in=codes, is_active=True)
    }
    errors = {
        str(line_id): [f"Unknown or inactive location '{counts['location']}'."]
        for line_id, counts in plan.items()
        if counts["location"] and counts["location"] not in warehouses
    }
    if errors:
        raise ReturnValidationError("Some locations are unknown.", errors={"lines": errors})
    for counts in plan.values():
        counts["location"] = warehouses.get(counts["location"]) if counts["location"] else None


def _apply(
    return_request: ReturnRequest, return_lines: dict[int, ReturnLine], plan: dict, actor: str
) -> set[int]:
    """Write the receipt on each line and restock; return the ids of restocked products."""
    restocked: set[int] = set()
    by_level: dict = defaultdict(int)
    for line_id, counts in sorted(plan.items()):
        line = return_lines[line_id]
        ReturnLine.objects.filter(pk=line.pk).update(
            quantity_resellable=counts[ItemCondition.RESELLABLE],
            quantity_damaged=counts[ItemCondition.DAMAGED],
            quantity_missing=counts[ItemCondition.MISSING],
            restock_location=counts["location"],
        )
        if counts[ItemCondition.RESELLABLE]:
            level = stock_level_ensure(
                product=line.order_line.product, warehouse=counts["location"]
            )
            by_level[level] += counts[ItemCondition.RESELLABLE]
            restocked.add(line.order_line.product_id)
    # One ledger row per stock level, touched in primary-key order.
    for level in sorted(by_level, key=lambda level: level.pk):
        stock_change(
            level=level,
            delta=by_level[level],
            reason=MovementReason.RETURN_RESTOCK,
            reference=f"return:{return_request.number}",
            actor=actor,
            note=f"Resellable units of return {return_request.number}",
        )
    return_event_record(
        return_request=return_request,
        type="received",
        actor=actor,
        message="Restocked "
        + (
            ", ".join(f"{by_level[level]} x {level.product.sku} at {level.warehouse.code}"
                      for level in sorted(by_level, key=lambda level: level.pk))
            or "nothing"
        ),
        data={
            "damaged": sum(counts[ItemCondition.DAMAGED] for counts in plan.values()),
            "missing": sum(counts[ItemCondition.MISSING] for counts in plan.values()),
        },
    )
    return restocked


def _enqueue_backorders(product_ids: list[int], actor: str) -> None:
    from returns.tasks import return_backorders_allocate_task

    try:
        return_backorders_allocate_task.delay(product_ids, actor)
    except Exception:  # the broker is down: fill the backorders in this process instead
        logger.warning("Backorder allocation after a return restock not enqueued; running it")
        backorders_allocate(product_ids=product_ids, actor=actor)
