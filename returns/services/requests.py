"""Opening a return and moving it through approval, rejection, cancellation and closing."""

import uuid
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from inventory.models import Product
from oms_project.outbox import outbox_emit
from orders.models import Order, OrderLine
from orders.notifications import order_email
from orders.pricing import line_units_value
from orders.services.locks import order_lock
from orders.services.returns_bookkeeping import order_return_event_record
from returns import selectors
from returns.errors import InvalidTransition, ReturnValidationError, ReturnWindowClosed
from returns.events import return_event_record
from returns.models import ReturnExchangeItem, ReturnLine, ReturnReason, ReturnRequest
from returns.payloads import return_payload
from returns.services.refunds import return_amount_to_refund
from returns.states import ReturnStatus, can_transition

MAX_LINES = 500


def return_create(
    *,
    order: Order,
    lines: list[dict],
    actor: str,
    customer_note: str = "",
    exchange_items: list[dict] | None = None,
    window_override_reason: str = "",
) -> ReturnRequest:
    """Open a return (RMA) for shipped units of an order.

    `lines` are `{"line_id", "quantity", "reason", "note"?}`; a line's quantity may not exceed
    its shipped units minus those returned or held by other open returns. `exchange_items`
    are `{"sku", "quantity", "unit_price"?}` (the price defaults to what the customer paid per
    unit of a returned line of the same SKU, so a like-for-like swap costs nothing).
    Outside the channel's return window only staff may open a return, with a
    `window_override_reason` (callers must pass it for staff only).
    Raises `ReturnValidationError` for unknown lines, bad quantities, reasons or SKUs,
    `InvalidTransition` for more units than can be returned and `ReturnWindowClosed`;
    nothing is written then.
    """
    with transaction.atomic():
        # The order row lock serialises returns of one order, so two cannot claim one unit.
        order = order_lock(order.pk)
        order_lines = {
            line.pk: line for line in OrderLine.objects.filter(order=order).order_by("pk")
        }
        wanted = _check_lines(order_lines, lines)
        items = _check_exchange_items(exchange_items or [], order, order_lines, wanted)
        _check_returnable(order, order_lines, wanted)
        _check_window(order, window_override_reason)
        return_request = ReturnRequest.objects.create(
            number=f"tmp-{uuid.uuid4().hex[:27]}",
            order=order,
            channel=order.channel,
            customer_note=customer_note,
            window_override_reason=window_override_reason.strip(),
            created_by=actor[:150],
        )
        return_request.number = f"RMA{100000 + return_request.pk}"
        ReturnRequest.objects.filter(pk=return_request.pk).update(number=return_request.number)
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                order_line=order_lines[line["line_id"]],
                quantity=line["quantity"],
                reason=line["reason"],
                note=(line.get("note") or "")[:255],
            )
            for line in wanted
        )
        ReturnExchangeItem.objects.bulk_create(
            ReturnExchangeItem(return_request=return_request, **item) for item in items
        )
        summary = {str(line["line_id"]): line["quantity"] for line in wanted}
        message = f"Return {return_request.number} requested"
        if window_override_reason:
            message += f" outside the return window ({window_override_reason.strip()})"
        return_event_record(
            return_request=return_request,
            type="requested",
            actor=actor,
            to_status=ReturnStatus.REQUESTED,
            message=message,
            data={"lines": summary, "exchange_items": len(items)},
        )
        order_return_event_record(
            order=order,
            type="return_requested",
            actor=actor,
            message=message,
            data={"return": return_request.number, "lines": summary},
        )
        outbox_emit(
            topic="return.requested",
            payload=return_payload(return_request),
            reference=return_request.number,
        )
    return return_request


def _check_lines(order_lines: dict[int, OrderLine], lines: list[dict]) -> list[dict]:
    if not lines:
        raise ReturnValidationError(
            "A return needs at least one line.", errors={"lines": ["This list may not be empty."]}
        )
    if len(lines) > MAX_LINES:
        raise ReturnValidationError(errors={"lines": [f"At most {MAX_LINES} lines."]})
    # Keyed by the line's position in the request, then its field (`item_errors`).
    errors: dict[str, dict[str, list[str]]] = {}
    first: dict = {}
    for index, line in enumerate(lines):
        line_id, quantity = line.get("line_id"), line.get("quantity")
        problems: dict[str, list[str]] = {}
        if line_id not in order_lines:
            problems["line_id"] = [f"No line {line_id} on this order."]
        elif line_id in first:
            problems["line_id"] = [
                f"Line {line_id} is listed twice (first at position {first[line_id]})."
            ]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            problems["quantity"] = ["Quantity must be a positive whole number."]
        if line.get("reason") not in ReturnReason.values:
            problems["reason"] = [f"Reason must be one of: {', '.join(ReturnReason.values)}."]
        first.setdefault(line_id, index)
        if problems:
            errors[str(index)] = problems
    if errors:
        raise ReturnValidationError("Some return lines are invalid.", errors={"lines": errors})
    return list(lines)


def _check_returnable(order: Order, order_lines: dict[int, OrderLine], wanted: list[dict]):
    returnable = selectors.returnable_quantities(order=order, lines=order_lines.values())
    for line in wanted:
        order_line = order_lines[line["line_id"]]
        if line["quantity"] > returnable[order_line.pk]:
            raise InvalidTransition(
                f"Line {order_line.pk} ({order_line.sku}) has {returnable[order_line.pk]} unit(s) "
                f"that can be returned: {order_line.quantity_shipped} shipped, "
                f"{order_line.quantity_returned} already returned, the rest in open returns.",
                extra={"line_id": order_line.pk, "returnable": returnable[order_line.pk]},
            )


def _check_window(order: Order, override_reason: str) -> None:
    closes_at = selectors.return_window_closes_at(order=order)
    if timezone.now() <= closes_at or override_reason.strip():
        return
    raise ReturnWindowClosed(
        f"The {order.channel.return_window_days}-day return window of order {order.number} "
        f"closed on {closes_at:%Y-%m-%d %H:%M} UTC. Staff can override it with a reason.",
        extra={"return_window_closes_at": closes_at.isoformat()},
    )


def _check_exchange_items(
    items: list[dict], order: Order, order_lines: dict[int, OrderLine], wanted: list[dict]
) -> list[dict]:
    if not items:
        return []
    skus = {item.get("sku") for item in items}
    products = {
        product.sku: product
        for product in Product.objects.filter(sku__in=[sku for sku in skus if sku])
    }
    # A like-for-like swap (another size, a working unit) costs what the customer paid.
    returned_prices = {
        order_lines[line["line_id"]].sku: line_units_value(
            order=order, line=order_lines[line["line_id"]], units=1
        )
        for line in wanted
    }
    errors: dict[str, list[str]] = {}
    resolved = []
    for index, item in enumerate(items):
        product = products.get(item.get("sku"))
        quantity = item.get("quantity")
        price = item.get("unit_price", returned_prices.get(item.get("sku")))
        problems = []
        if product is None:
            problems.append(f"Unknown SKU '{item.get('sku')}'.")
        elif not product.is_active:
            problems.append(f"SKU '{product.sku}' is not for sale.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            problems.append("Quantity must be a positive whole number.")
        try:
            price = Decimal(str(price)) if price is not None else None
        except InvalidOperation:
            price = None
        if price is None or price < 0 or price != price.quantize(Decimal("0.01")):
            problems.append(
                "Give a unit_price (two decimals, not negative); it defaults to the price paid "
                "for a returned line of the same SKU."
            )
        if problems:
            errors[str(index)] = problems
        else:
            resolved.append({"product": product, "quantity": quantity, "unit_price": price})
    if errors:
        raise ReturnValidationError(
            "Some exchange items are invalid.", errors={"exchange_items": errors}
        )
    return resolved


def return_transition(
    *,
    return_request: ReturnRequest,
    to_status: str,
    actor: str,
    reason: str = "",
    data: dict | None = None,
    fields: dict | None = None,
) -> ReturnRequest:
    """Move a return along `returns.states.TRANSITIONS`, log it, and set `fields` with it.

    Locks the return row, checks the table, updates `WHERE status = <from>` and writes the
    `ReturnEvent` in the same transaction. Raises `InvalidTransition` for a move the table
    does not allow.
    """
    with transaction.atomic():
        current = ReturnRequest.objects.select_for_update().only("status").get(
            pk=return_request.pk
        )
        from_status = current.status
        if not can_transition(from_status, to_status):
            raise InvalidTransition(
                f"Return {return_request.number} cannot go from {from_status} to {to_status}.",
                extra={"from_status": from_status, "to_status": to_status},
            )
        updates = {"status": to_status, "updated_at": timezone.now(), **(fields or {})}
        updated = ReturnRequest.objects.filter(pk=return_request.pk, status=from_status).update(
            **updates
        )
        if not updated:  # the row lock makes this unreachable unless the schema is bypassed
            raise InvalidTransition(f"Return {return_request.number} changed while updating.")
        for name, value in updates.items():
            setattr(return_request, name, value)
        return_event_record(
            return_request=return_request,
            type="status_changed",
            actor=actor,
            message=reason,
            from_status=from_status,
            to_status=to_status,
            data=data,
        )
    return return_request


def _emit(return_request: ReturnRequest, topic: str) -> None:
    outbox_emit(
        topic=topic, payload=return_payload(return_request), reference=return_request.number
    )


def return_approve(
    *,
    return_request: ReturnRequest,
    actor: str,
    return_carrier: str = "",
    return_tracking_number: str = "",
    return_label_url: str = "",
    note: str = "",
) -> ReturnRequest:
    """Authorise a requested return; the customer is e-mailed how to send the units back.

    An optional return label (URL) and its carrier and tracking number go into the e-mail.
    Raises `InvalidTransition` unless the return is requested.
    """
    with transaction.atomic():
        return_request = return_transition(
            return_request=return_request,
            to_status=ReturnStatus.APPROVED,
            actor=actor,
            reason=note or "Approved",
            fields={
                "approved_at": timezone.now(),
                "return_carrier": return_carrier[:100],
                "return_tracking_number": return_tracking_number[:100],
                "return_label_url": return_label_url[:500],
            },
        )
        order = return_request.order
        order_return_event_record(
            order=order,
            type="return_approved",
            actor=actor,
            message=f"Return {return_request.number} approved",
            data={"return": return_request.number},
        )
        _emit(return_request, "return.approved")
        order_email(
            order=order,
            template="return_approved",
            extra={
                "return_request": return_request,
                "return_lines": list(return_request.lines.select_related("order_line")),
            },
        )
    return return_request


def return_reject(*, return_request: ReturnRequest, actor: str, reason: str) -> ReturnRequest:
    """Refuse a requested return with a reason the customer is told.

    Raises `ReturnValidationError` without a reason and `InvalidTransition` unless requested.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReturnValidationError(
            "Say why the return is rejected.", errors={"reason": ["This field is required."]}
        )
    with transaction.atomic():
        return_request = return_transition(
            return_request=return_request,
            to_status=ReturnStatus.REJECTED,
            actor=actor,
            reason=reason,
            fields={"rejection_reason": reason[:255], "closed_at": timezone.now()},
        )
        order_return_event_record(
            order=return_request.order,
            type="return_rejected",
            actor=actor,
            message=f"Return {return_request.number} rejected: {reason}",
            data={"return": return_request.number},
        )
        _emit(return_request, "return.rejected")
        order_email(
            order=return_request.order,
            template="return_rejected",
            extra={"return_request": return_request, "reason": reason},
        )
    return return_request


def return_cancel(*, return_request: ReturnRequest, actor: str, reason: str = "") -> ReturnRequest:
    """Withdraw a return that has not arrived (requested or approved); its units are free
    to be returned again. Raises `InvalidTransition` once received."""
    return _end(return_request, ReturnStatus.CANCELLED, actor, reason or "Cancelled", "cancelled")


def return_close(*, return_request: ReturnRequest, actor: str, note: str = "") -> ReturnRequest:
    """Close a refunded return, or a received one with nothing to refund.

    Raises `InvalidTransition` before receipt (approve, receive and refund first) and for a
    received return with money still to refund (`return_amount_to_refund`): refund it first,
    with a negative adjustment and its reason if less is to be paid.
    """
    with transaction.atomic():
        status = ReturnRequest.objects.select_for_update().values_list("status", flat=True).get(
            pk=return_request.pk
        )
        if status == ReturnStatus.RECEIVED:
            left = return_amount_to_refund(return_request=return_request)
            if left > 0:
                currency = return_request.order.currency
                raise InvalidTransition(
                    f"Return {return_request.number} has {left} {currency} to refund; refund "
                    f"it before closing (with a negative adjustment and its reason if less is "
                    f"to be paid).",
                    extra={
                        "from_status": status,
                        "to_status": ReturnStatus.CLOSED,
                        "to_refund": str(left),
                    },
                )
        return _end(return_request, ReturnStatus.CLOSED, actor, note or "Closed", "closed")


def return_closable(*, return_request: ReturnRequest) -> bool:
    """Whether `return_close` would close the return (for buttons)."""
    if return_request.status == ReturnStatus.REFUNDED:
        return True
    return (
        return_request.status == ReturnStatus.RECEIVED
        and return_amount_to_refund(return_request=return_request) <= 0
    )


def _end(
    return_request: ReturnRequest, to_status: str, actor: str, reason: str, verb: str
) -> ReturnRequest:
    """Move a return to a final status, on the order's timeline and as a `return.<verb>`
    event."""
    with transaction.atomic():
        return_request = return_transition(
            return_request=return_request,
            to_status=to_status,
            actor=actor,
            reason=reason,
            fields={"closed_at": timezone.now()},
        )
        order_return_event_record(
            order=return_request.order,
            type=f"return_{verb}",
            actor=actor,
            message=f"Return {return_request.number} {verb}",
            data={"return": return_request.number},
        )
        _emit(return_request, f"return.{verb}")
    return return_request
