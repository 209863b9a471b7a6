"""Creating many orders in one call (the bulk API) with set-based writes.

Every order of the batch gets exactly what `order_create_stepwise` gives one order: the same checks
and errors, the customer upsert and order history, totals, payment, routing decision,
fulfillment orders, audit events, outbox events and confirmation e-mail, reserved stock, and
the same status. What changes is how it is written: the payloads are checked against one
read of the products, service levels, pickup stores and known channel order ids; the orders
are routed in turn against one read of free stock; then one transaction inserts each kind of
row for the whole batch at once and reserves all the stock last, in one `stock_allocate`.

Orders stand alone, as if sent one by one in the batch's order: a bad or duplicate order is
reported and the others go on, and an order the channel refuses for lack of stock (against
what the orders before it left free) gets its `InsufficientStock` without anything written.
Anything the batch cannot decide by itself (an order that repeats an earlier order of the
batch, a payment the single path would refuse) is handed to `order_create_stepwise` after
the batch, and so is the whole batch if stock moved under it more than `PLAN_ATTEMPTS` times
or a concurrent writer clashed with it, so those orders get the single path's own answer.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from customers.order_intake import (
    OrderCustomer,
    OrderTotals,
    customers_record_orders,
    customers_upsert_for_orders,
)
from customers.services import normalize_email
from inventory.errors import InsufficientStock
from inventory.services import Hold, stock_allocate
from oms_project.bulk_insert import rows_insert
from oms_project.errors import OmsError
from oms_project.models import OutboxEvent
from oms_project.notifications import emails_queued_together
from oms_project.outbox import outbox_emit_many
from oms_project.sql import placeholders
from orders import pricing
from orders.errors import DuplicateOrder, OrderValidationError
from orders.models import (
    FulfillmentMethod,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    RoutingDecision,
    SalesChannel,
)
from orders.notifications import order_email
from orders.payloads import order_paid_payload, order_payload
from orders.refund_methods import EXCHANGE_CREDIT
from orders.selectors import order_attach_allocations, order_attach_related
from orders.services.allocation import (
    _describe,
    destination_refusal,
    line_reference,
    shortage_error,
)
from orders.services.bulk_planning import BatchRouter
from orders.services.creation import (
    address_snapshot,
    order_create_stepwise,
    order_lookups_load,
    order_resolve,
)
from orders.services.lifecycle import _date_backorders
from orders.states import OrderStatus
from warehouses.routing import Allocation, Plan
from warehouses.routing.loading import location_promise

logger = logging.getLogger(__name__)

PLAN_ATTEMPTS = 3
# Deadlock detected, lock not available, serialization failure.
LOCK_CONFLICTS = ("40P01", "55P03", "40001")


@dataclass
class _Draft:
    """One order of the batch on its way to the database."""

    index: int
    channel: SalesChannel
    data: dict
    resolved: dict
    customer: object = None
    customer_as_ordered: object = None
    order: Order | None = None
    lines: list[OrderLine] = field(default_factory=list)
    plan: Plan | None = None
    decision: RoutingDecision | None = None
    fulfillment: list[tuple[FulfillmentOrder, str]] = field(default_factory=list)
    refusal: InsufficientStock | OrderValidationError | None = None
    payments: list[Payment] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list)
    allocations: dict[int, list[dict]] = field(default_factory=dict)

    @property
    def payment(self) -> dict | None:
        return self.data.get("payment")

    @property
    def captured(self) -> Decimal:
        payment = self.payment
        if payment and payment["status"] == Payment.Status.CAPTURED:
            return payment["amount"]
        return Decimal("0.00")

    @property
    def is_paid(self) -> bool:
        total = self.resolved["total"]
        return total == 0 or self.captured >= total

    @property
    def allocates(self) -> bool:
        return self.is_paid or self.channel.reserve_on_create


def orders_create_bulk(
    *, entries: list[tuple[SalesChannel, dict]], actor: str, with_related: bool = False
) -> list[Order | OmsError]:
    """Create each (channel, validated payload) as `order_create` would; one outcome each.

    An outcome is the created `Order`, or the `OmsError` the single path raises for it
    (`DuplicateOrder`, `OrderValidationError`, `InsufficientStock`, `PaymentError`, ...).
    `with_related` attaches to each order written here its lines, payments and events (for
    an answer that shows them without reading them back).
    """
    outcomes: list = [None] * len(entries)
    drafts, later = _check(entries, outcomes)
    written = False
    for _attempt in range(PLAN_ATTEMPTS):
        # Routing only reads, so it runs before the transaction, which then only writes.
        deferred, router, now = _plan(drafts)
        ready = [d for d in drafts if d.index not in deferred and d.refusal is None]
        try:
            if ready:
                with transaction.atomic():
                    _write(ready, router, now, actor)
        except InsufficientStock:
            continue  # stock moved between the plan and the reservation: plan again
        except IntegrityError:
            logger.info("Bulk order batch clashed with a concurrent write; one by one instead")
            break
        except OperationalError as error:
            # Two batches touching the same customers in another order can deadlock; the
            # loser is rolled back whole and its orders go one by one (one customer each).
            if getattr(error.__cause__, "sqlstate", None) not in LOCK_CONFLICTS:
                raise
            logger.info("Bulk order batch lost a lock conflict; one by one instead")
            break
        written = True
        break
    if written:
        for draft in drafts:
            if draft.refusal is not None:
                outcomes[draft.index] = draft.refusal
            elif draft.index in deferred:
                later.append(draft.index)
            else:
                outcomes[draft.index] = _as_written(draft) if with_related else draft.order
    else:
        later.extend(draft.index for draft in drafts)
    for index in sorted(later):
        channel, data = entries[index]
        outcomes[index] = _create_one(channel, data, actor)
    return outcomes


def _as_written(draft: _Draft) -> Order:
    """The order with its lines, payments and events attached (renders without a re-read),
    unless after-commit work still changes it (a backorder gets its expected dates)."""
    order = draft.order
    if order.status != OrderStatus.BACKORDERED:
        order_attach_related(order, lines=draft.lines, payments=draft.payments, events=draft.events)
        order_attach_allocations(order, draft.allocations)
    return order


def _create_one(channel: SalesChannel, data: dict, actor: str) -> Order | OmsError:
    try:
        with transaction.atomic():
            return order_create_stepwise(channel=channel, data=data, actor=actor)
    except OmsError as error:
        return error


def _check(entries, outcomes) -> tuple[list[_Draft], list[int]]:
    """Validate every payload; return the drafts to write and the indexes left for later."""
    lookups = order_lookups_load(entries=entries)
    known = _known_numbers(entries)
    seen, drafts, later = set(), [], []
    for index, (channel, data) in enumerate(entries):
        key = (channel.pk, data["channel_order_id"])
        if key in known:
            outcomes[index] = DuplicateOrder(known[key])
            continue
        if key in seen:
            later.append(index)  # answered once the earlier order with this id is decided
            continue
        try:
            resolved = order_resolve(channel=channel, data=data, lookups=lookups)
        except OrderValidationError as error:
            outcomes[index] = error
            continue
        seen.add(key)
        drafts.append(_Draft(index=index, channel=channel, data=data, resolved=resolved))
    return drafts, later


def _known_numbers(entries) -> dict[tuple[int, str], str]:
    """The numbers of orders already placed under the entries' (channel, channel order id)."""
    wanted = defaultdict(set)
    for channel, data in entries:
        wanted[channel.pk].add(data["channel_order_id"])
    conditions, params = [], []
    for channel_id, ids in sorted(wanted.items()):
        conditions.append(f"(channel_id = %s AND channel_order_id IN ({placeholders(ids)}))")
        params += [channel_id, *sorted(ids)]
    if not conditions:
        return {}
    with connection.cursor() as cursor:  # plain SQL: it runs for every order (oms_project.sql)
        cursor.execute(
            f"SELECT channel_id, channel_order_id, number FROM {Order._meta.db_table} "
            f"WHERE {' OR '.join(conditions)}",
            params,
        )
        return {
            (channel_id, channel_order_id): number
            for channel_id, channel_order_id, number in cursor.fetchall()
        }


def _plan(drafts: list[_Draft]) -> tuple[set[int], BatchRouter, datetime]:
    """Route the batch against one read of free stock (reads only); set each refused draft's
    `refusal`. Returns the indexes left to the single path, the router and the time used."""
    for draft in drafts:  # a new attempt starts from clean drafts
        draft.customer = draft.order = draft.plan = draft.decision = draft.refusal = None
        draft.lines, draft.fulfillment, draft.payments, draft.events = [], [], [], []
        draft.allocations = {}
    now = timezone.now()
    deferred = {draft.index for draft in drafts if _refused_by_payment(draft)}
    routed = [
        draft
        for draft in drafts
        if draft.index not in deferred
        and (draft.allocates or _method(draft) == FulfillmentMethod.SHIP)
    ]
    router = BatchRouter.load(
        orders=[(draft.channel, _method(draft), draft.resolved["pickup"]) for draft in routed],
        product_ids={p.pk for draft in drafts for p in draft.resolved["products"].values()},
        now=now,
    )
    for draft in routed:
        if draft.allocates:
            _route(draft, router)
        else:  # holds no stock yet, but paying it later must be able to allocate
            draft.refusal = _destination_refusal(draft, _route_plan(draft, router))
    return deferred, router, now


def _write(drafts: list[_Draft], router: BatchRouter, now: datetime, actor: str) -> None:
    """Write the routed drafts (inside the batch transaction), reserving their stock last."""
    _write_customers(drafts)
    _write_orders(drafts, now)
    _write_lines(drafts)
    _write_payments(drafts)
    _write_decisions(drafts, actor)
    _write_fulfillment_orders(drafts, router, now)
    _write_events(drafts, actor)
    customers_record_orders(
        orders=[
            OrderTotals(
                customer=draft.customer,
                total=draft.order.total,
                placed_at=draft.order.placed_at,
                shipping_method=draft.data.get("shipping_method") or "",
                payment_method=draft.payment["method"] if draft.payment else "",
            )
            for draft in drafts
        ]
    )
    _announce(drafts)
    # Stock rows stay locked from their reservation to the commit: reserve last.
    reservations = stock_allocate(
        holds=[
            Hold(item.product_id, item.location_id, item.quantity, line_reference(item.line_key))
            for draft in drafts
            if draft.plan is not None
            for item in draft.plan.allocations
        ],
        actor=actor,
    )
    _keep_allocations(drafts, router, reservations)


def _keep_allocations(drafts: list[_Draft], router: BatchRouter, reservations) -> None:
    """Note on each draft where its lines' units were reserved, as
    `allocations_for_orders` reads them back: per line, the reservations in id order."""
    codes = {
        location.pk: location.code
        for group in router.groups.values()
        for location in group.locations
    }
    by_reference: dict[str, list] = defaultdict(list)
    for reservation in sorted(reservations, key=lambda reservation: reservation.pk):
        by_reference[reservation.reference].append(reservation)
    for draft in drafts:
        for line in draft.lines:
            draft.allocations[line.pk] = [
                {
                    "warehouse": codes[reservation.warehouse_id],
                    "quantity": reservation.quantity,
                }
                for reservation in by_reference.get(line_reference(line.pk), [])
            ]


def _method(draft: _Draft) -> str:
    return draft.data.get("fulfillment_method", FulfillmentMethod.SHIP)


def _refused_by_payment(draft: _Draft) -> bool:
    """Payments `payment_apply` would refuse go to the single path for its own error."""
    payment = draft.payment
    return bool(payment) and payment["amount"] <= 0


def _route_plan(draft: _Draft, router: BatchRouter) -> Plan:
    products = draft.resolved["products"]
    return router.plan(
        channel=draft.channel,
        method=_method(draft),
        pickup=draft.resolved["pickup"],
        demand=[
            (position, products[line["sku"]], line["quantity"])
            for position, line in enumerate(draft.data["lines"])
        ],
        destination=draft.data.get("shipping_address"),
        service_level=draft.resolved["service_level"],
    )


def _destination_refusal(draft: _Draft, plan: Plan) -> OmsError | None:
    return destination_refusal(
        plan, draft.channel, _method(draft), draft.data.get("shipping_address")
    )


def _route(draft: _Draft, router: BatchRouter) -> None:
    """Plan the draft's allocation, or set its refusal if the channel refuses short orders."""
    plan = _route_plan(draft, router)
    refusal = _destination_refusal(draft, plan)
    if refusal is not None:
        draft.refusal = refusal
        return
    allow_backorder = (
        draft.channel.shortage_policy == SalesChannel.ShortagePolicy.BACKORDER
        if draft.is_paid
        else True
    )
    if plan.short and not allow_backorder:
        draft.refusal = shortage_error(
            dict(plan.short),
            {
                position: (line["sku"], line["quantity"])
                for position, line in enumerate(draft.data["lines"])
            },
            key_name="line",
        )
        return
    router.take(
        channel=draft.channel,
        method=_method(draft),
        pickup=draft.resolved["pickup"],
        plan=plan,
        creates_fulfillment=draft.is_paid,
    )
    draft.plan = plan


def _write_customers(drafts: list[_Draft]) -> None:
    entries = []
    for draft in drafts:
        customer = draft.data["customer"]
        entries.append(
            OrderCustomer(
                channel_code=draft.channel.code,
                email=customer["email"],
                external_id=customer.get("channel_customer_id") or None,
                profile={
                    name: customer.get(name, "") for name in ("first_name", "last_name", "phone")
                },
                shipping_address=draft.data.get("shipping_address"),
                billing_address=draft.data.get("billing_address"),
            )
        )
    upserted = customers_upsert_for_orders(entries=entries)
    for draft, (customer, as_ordered) in zip(drafts, upserted, strict=True):
        draft.customer, draft.customer_as_ordered = customer, as_ordered


def _status(draft: _Draft) -> str:
    if not draft.is_paid:
        return OrderStatus.CREATED
    return OrderStatus.BACKORDERED if draft.plan.short else OrderStatus.PROCESSING


def _write_orders(drafts: list[_Draft], now) -> None:
    for draft in drafts:
        data, resolved, payment = draft.data, draft.resolved, draft.payment
        promise = draft.plan.promise() if draft.plan else (None, None)
        draft.order = Order(
            number=f"tmp-{uuid.uuid4().hex[:27]}",
            channel=draft.channel,
            channel_order_id=data["channel_order_id"],
            customer=draft.customer,
            # The address the customer gave with this order, which may differ from the one
            # their profile (found by channel customer id) holds: confirmations go there.
            email=normalize_email(draft.data["customer"]["email"]),
            status=_status(draft),
            fulfillment_method=_method(draft),
            pickup_location=resolved["pickup"],
            shipping_method=resolved["service_level"],
            currency=data["currency"],
            subtotal=resolved["subtotal"],
            discount_total=pricing.money(data.get("discount_total", Decimal("0"))),
            shipping_total=pricing.money(data.get("shipping_total", Decimal("0"))),
            tax_total=pricing.money(data.get("tax_total", Decimal("0"))),
            total=resolved["total"],
            paid_total=pricing.money(draft.captured),
            payment_method=payment["method"] if payment else "",
            shipping_address=address_snapshot(data.get("shipping_address")),
            billing_address=address_snapshot(data.get("billing_address")),
            attributes=data.get("attributes") or {},
            notify_customer=data.get("notify_customer", True),
            placed_at=(data.get("placed_at") or now).astimezone(UTC),
            promised_ship_date=promise[0],
            promised_delivery_date=promise[1],
        )
    reserved = _order_ids_reserve(len(drafts))
    if reserved is not None:  # the numbers are known before the INSERT
        for draft, pk in zip(drafts, reserved, strict=True):
            draft.order.pk = pk
            draft.order.number = _order_number(draft)
    rows_insert([draft.order for draft in drafts])
    if reserved is None:
        for draft in drafts:
            draft.order.number = _order_number(draft)
        Order.objects.bulk_update([draft.order for draft in drafts], ["number"])


def _order_number(draft: _Draft) -> str:
    return f"{draft.channel.order_number_prefix}{100000 + draft.order.pk}"


def _order_ids_reserve(count: int) -> list[int] | None:
    """On PostgreSQL, take `count` order ids from the table's identity sequence (one query),
    so each order is inserted with its number; elsewhere None (numbered after the INSERT)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"
            " ORDER BY 1",
            [Order._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _write_lines(drafts: list[_Draft]) -> None:
    for draft in drafts:
        allocated = defaultdict(int)
        for item in draft.plan.allocations if draft.plan else ():
            allocated[item.line_key] += item.quantity
        products = draft.resolved["products"]
        for position, line in enumerate(draft.data["lines"]):
            discount = pricing.money(line.get("discount", Decimal("0")))
            draft.lines.append(
                OrderLine(
                    order=draft.order,
                    product=products[line["sku"]],
                    sku=line["sku"],
                    name=products[line["sku"]].name,
                    quantity=line["quantity"],
                    quantity_allocated=allocated[position],
                    unit_price=pricing.money(line["unit_price"]),
                    discount=discount,
                    line_total=pricing.line_total(
                        unit_price=line["unit_price"], quantity=line["quantity"], discount=discount
                    ),
                )
            )
    rows_insert([line for draft in drafts for line in draft.lines])
    for draft in drafts:  # the plan now speaks of the lines' ids, as the single path's does
        if draft.plan is not None:
            ids = [line.pk for line in draft.lines]
            draft.plan = replace(
                draft.plan,
                allocations=[
                    Allocation(ids[item.line_key], item.product_id, item.location_id, item.quantity)
                    for item in draft.plan.allocations
                ],
                short={ids[position]: units for position, units in draft.plan.short.items()},
            )


def _write_payments(drafts: list[_Draft]) -> None:
    for draft in drafts:
        if draft.payment:
            draft.payments.append(
                Payment(
                    order=draft.order,
                    method=draft.payment["method"],
                    amount=draft.payment["amount"],
                    currency=draft.order.currency,
                    status=draft.payment["status"],
                    reference=draft.payment.get("reference", ""),
                )
            )
    rows_insert([payment for draft in drafts for payment in draft.payments])


def _write_decisions(drafts: list[_Draft], actor: str) -> None:
    for draft in drafts:
        if draft.plan is None:
            continue
        explanation = draft.plan.explain()
        draft.decision = RoutingDecision(
            order=draft.order,
            trigger=RoutingDecision.Trigger.ALLOCATION,
            rules_version=draft.plan.rules_version,
            strategies=list(draft.plan.strategies),
            locations=explanation["locations"],
            is_complete=draft.plan.is_complete,
            is_split=draft.plan.is_split,
            explanation=explanation,
            actor=actor[:150],
        )
    rows_insert([d.decision for d in drafts if d.decision is not None])


def _write_fulfillment_orders(drafts: list[_Draft], router: BatchRouter, now) -> None:
    """One open fulfillment order per location of each paid order, holding its units."""
    rows = []
    for draft in drafts:
        if draft.plan is None or not draft.is_paid:
            continue
        is_pickup = _method(draft) == FulfillmentMethod.PICKUP
        warehouses = {
            location.pk: location
            for location in router.locations(
                draft.channel, _method(draft), draft.resolved["pickup"]
            )
        }
        units = defaultdict(int)
        for item in draft.plan.allocations:
            units[(item.line_key, item.location_id)] += item.quantity
        opened = {}
        for (line_id, warehouse_id), quantity in sorted(units.items()):
            if warehouse_id not in opened:
                warehouse = warehouses[warehouse_id]
                # The dates routing promised for the location (past its closures).
                report = draft.plan.report_for(warehouse_id)
                if report is not None and report.ship_date is not None:
                    ship_date, delivery_date = report.ship_date, report.delivery_date
                else:
                    ship_date, delivery_date = location_promise(
                        warehouse=warehouse,
                        service_level=draft.order.shipping_method,
                        now=now,
                        is_pickup=is_pickup,
                    )
                opened[warehouse_id] = FulfillmentOrder(
                    order=draft.order,
                    warehouse=warehouse,
                    service_level=None if is_pickup else draft.order.shipping_method,
                    promised_ship_date=ship_date,
                    promised_delivery_date=delivery_date,
                    routing_decision=draft.decision,
                )
                draft.fulfillment.append((opened[warehouse_id], warehouse.code))
            rows.append((opened[warehouse_id], line_id, quantity))
    rows_insert([fulfillment for draft in drafts for fulfillment, _code in draft.fulfillment])
    rows_insert(
        [
            FulfillmentOrderLine(
                fulfillment_order=fulfillment, order_line_id=line_id, quantity=quantity
            )
            for fulfillment, line_id, quantity in rows
        ]
    )


def _write_events(drafts: list[_Draft], actor: str) -> None:
    """Each order's timeline, in the order the single path writes it."""
    actor = actor[:150]
    for draft in drafts:
        order, events = draft.order, draft.events

        def event(
            type, message="", from_status="", to_status="", data=None, order=order, events=events
        ):
            events.append(
                OrderEvent(
                    order=order,
                    type=type,
                    actor=actor,
                    message=message,
                    from_status=from_status,
                    to_status=to_status,
                    data=data or {},
                )
            )

        event(
            "created", f"Order received from {draft.channel.name}.", to_status=OrderStatus.CREATED
        )
        if draft.payment:
            payment = draft.payment
            event(
                f"payment_{payment['status']}",
                f"{payment['method']} {payment['amount']} {order.currency} {payment['status']}",
                data={"reference": payment.get("reference", ""), "amount": str(payment["amount"])},
            )
        if draft.plan is not None:
            event(*_allocation_event(draft))
        for fulfillment, code in draft.fulfillment:
            event(
                "fulfillment_order_created",
                f"FO-{fulfillment.pk} at {code}",
                data={"fulfillment_order": fulfillment.pk, "warehouse": code},
            )
        if draft.is_paid:
            event(
                "status_changed",
                "Paid" + (" with units on backorder" if draft.plan.short else ""),
                from_status=OrderStatus.CREATED,
                to_status=order.status,
            )
    rows_insert([event for draft in drafts for event in draft.events])


def _allocation_event(draft: _Draft) -> tuple:
    plan = draft.plan
    codes = {report.location_id: report.code for report in plan.candidates}
    allocated = [
        {"line_id": item.line_key, "warehouse": codes[item.location_id], "quantity": item.quantity}
        for item in plan.allocations
    ]
    short = dict(plan.short)
    return (
        "allocated" if not short else "partially_allocated",
        _describe(allocated, short),
        "",
        "",
        {
            "allocated": allocated,
            "short": {str(key): units for key, units in short.items()},
            "routing_decision": draft.decision.pk,
        },
    )


def _announce(drafts: list[_Draft]) -> None:
    """Outbox events and the confirmation e-mail, dispatched after commit."""
    with emails_queued_together():
        events = _announce_each(drafts)
    outbox_emit_many(events)


def _announce_each(drafts: list[_Draft]) -> list[OutboxEvent]:
    events = []
    for draft in drafts:
        order, lines = draft.order, draft.lines
        order.customer = draft.customer_as_ordered
        created = {**order_payload(order, lines=lines), "status": OrderStatus.CREATED}
        events.append(OutboxEvent(topic="order.created", payload=created, reference=order.number))
        order_email(order=order, template="order_confirmation", lines=lines)
        if draft.is_paid:
            events.append(
                OutboxEvent(
                    topic="order.paid",
                    payload=order_paid_payload(
                        order,
                        lines=lines,
                        exchange_credit=draft.captured
                        if (draft.payment or {}).get("method") == EXCHANGE_CREDIT
                        else Decimal("0.00"),
                    ),
                    reference=order.number,
                )
            )
        if order.status == OrderStatus.BACKORDERED:
            product_ids = [line.product_id for line in lines]
            transaction.on_commit(lambda ids=product_ids: _date_backorders(ids))
    return events
