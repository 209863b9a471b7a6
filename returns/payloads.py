"""The JSON of `return.*` and `refund.created` events (amounts as strings).

Topics: `return.requested`, `return.approved`, `return.rejected`, `return.cancelled`,
`return.received`, `return.closed` carry `return_payload`; `refund.created` carries
`refund_created_payload` (the refund with its lines, fee, adjustment and exchange credit).
Every refund also emits the accounting event `refund.completed`
(`orders.payloads.refund_payload`, read by the accounting journal), so the journal books
return, cancellation and goodwill refunds alike.
"""

from returns.models import Refund, ReturnRequest


def return_payload(return_request: ReturnRequest) -> dict:
    """The return header, its lines with what arrived, and its exchange order."""
    order = return_request.order
    return {
        "number": return_request.number,
        "status": return_request.status,
        "order": order.number,
        "channel": return_request.channel.code,
        "customer": {"id": order.customer_id, "email": order.email},
        "created_at": return_request.created_at.isoformat(),
        "return_tracking_number": return_request.return_tracking_number,
        "exchange_order": (
            return_request.exchange_order.number if return_request.exchange_order_id else None
        ),
        "exchange_credit": str(return_request.exchange_credit),
        "lines": [
            {
                "line_id": line.order_line_id,
                "sku": line.order_line.sku,
                "quantity": line.quantity,
                "reason": line.reason,
                "quantity_resellable": line.quantity_resellable,
                "quantity_damaged": line.quantity_damaged,
                "quantity_missing": line.quantity_missing,
                "restock_location": (
                    line.restock_location.code if line.restock_location_id else None
                ),
            }
            for line in return_request.lines.select_related(
                "order_line", "restock_location"
            ).order_by("pk")
        ],
    }


def refund_created_payload(refund: Refund) -> dict:
    """The refund as recorded: its parts, its lines and what it refers to."""
    return {
        "number": refund.number,
        "kind": refund.kind,
        "order": refund.order.number,
        "channel": refund.order.channel.code,
        "return": refund.return_request.number if refund.return_request_id else None,
        "currency": refund.currency,
        "amount": str(refund.amount),
        "goods_amount": str(refund.goods_amount),
        "tax_amount": str(refund.tax_amount),
        "shipping_amount": str(refund.shipping_amount),
        "restocking_fee": str(refund.restocking_fee),
        "adjustment": str(refund.adjustment),
        "adjustment_reason": refund.adjustment_reason,
        "exchange_credit": str(refund.exchange_credit),
        "method": refund.method,
        "processor_reference": refund.processor_reference,
        "reason": refund.reason,
        "created_at": refund.created_at.isoformat(),
        "created_by": refund.created_by,
        "lines": [
            {
                "line_id": line.order_line_id,
                "quantity": line.quantity,
                "amount": str(line.amount),
                "tax_amount": str(line.tax_amount),
            }
            for line in refund.lines.order_by("pk")
        ],
    }
