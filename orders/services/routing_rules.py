"""A channel's routing rules: reading them for the engine, saving them, and trying them out.

A rule set is checked before it is saved (known strategies and locations, nothing both
preferred and excluded); `routing_simulate` runs unsaved rules over recent orders so ops see
where orders would go, how many would split and how promises move, before switching over.
"""

from django.db import transaction
from django.db.models import F

from inventory.models import StockReservation
from oms_project.errors import ValidationFailed
from orders.models import Order, RoutingRuleSet, SalesChannel
from orders.states import OrderStatus
from warehouses.models import Warehouse
from warehouses.routing import Rules, rules_problems

RULE_FIELDS = (
    "is_active",
    "strategies",
    "preferred_locations",
    "excluded_locations",
    "check_freight",
    "check_destination",
    "check_capacity",
    "check_outages",
)
MAX_SIMULATED_ORDERS = 500


def routing_rules_for(
    *, channel: SalesChannel, rule_set: RoutingRuleSet | None = None, look_up: bool = True
) -> Rules:
    """The engine's rules for a channel: its active rule set, or priority with every filter.

    Without `rule_set`, the channel's active one is read, unless `look_up` is false (the
    caller read it and the channel has none)."""
    if rule_set is None and look_up:
        rule_set = RoutingRuleSet.objects.filter(channel=channel, is_active=True).first()
    if rule_set is None or not rule_set.is_active:
        return Rules(allow_split=channel.allow_split, max_shipments=channel.max_shipments)
    return Rules(
        strategies=tuple(rule_set.strategies),
        allow_split=channel.allow_split,
        max_shipments=channel.max_shipments,
        check_freight=rule_set.check_freight,
        check_destination=rule_set.check_destination,
        check_capacity=rule_set.check_capacity,
        check_outages=rule_set.check_outages,
        excluded_locations=frozenset(rule_set.excluded_locations),
        preferred_locations=tuple(rule_set.preferred_locations),
        version=rule_set.version,
    )


def routing_rules_check(*, channel: SalesChannel | None, values: dict) -> None:
    """Raise `ValidationFailed` with every reason when the rule values cannot be saved."""
    problems = {}
    for field in ("strategies", "preferred_locations", "excluded_locations"):
        value = values.get(field, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems[field] = ["Give a list of codes."]
    if problems:
        raise ValidationFailed("The routing rules are invalid.", errors=problems)
    codes = set(values.get("preferred_locations", [])) | set(values.get("excluded_locations", []))
    problems = rules_problems(
        strategies=values.get("strategies", []),
        excluded_locations=values.get("excluded_locations", []),
        preferred_locations=values.get("preferred_locations", []),
        known_locations=Warehouse.objects.filter(code__in=codes).values_list("code", flat=True),
        channel_locations=(
            channel.warehouses.values_list("code", flat=True) if channel is not None else None
        ),
    )
    if problems:
        raise ValidationFailed("The routing rules are invalid.", errors=problems)


def routing_rules_save(*, channel: SalesChannel, values: dict, actor: str) -> RoutingRuleSet:
    """Create or replace the channel's rule set; each save raises its version by one.

    Raises `ValidationFailed` (nothing saved) for unknown strategies or locations, a location
    both preferred and excluded, or rules that exclude every location of the channel.
    """
    unknown = sorted(set(values) - set(RULE_FIELDS))
    if unknown:
        raise ValidationFailed(errors={field: ["Unknown field."] for field in unknown})
    routing_rules_check(channel=channel, values=values)
    with transaction.atomic():
        rule_set, created = RoutingRuleSet.objects.select_for_update().get_or_create(
            channel=channel, defaults={**values, "updated_by": actor[:150]}
        )
        if not created:
            RoutingRuleSet.objects.filter(pk=rule_set.pk).update(
                **values, version=F("version") + 1, updated_by=actor[:150]
            )
            rule_set.refresh_from_db()
            # An UPDATE sends no signal: drop this process's copy of the rules here.
            from orders.services.routing_config import routing_config_forget

            routing_config_forget()
            transaction.on_commit(routing_config_forget)
    return rule_set


def routing_simulate(*, channel: SalesChannel, values: dict, last: int = 100) -> dict:
    """Route the channel's last `last` orders with unsaved rule values; change nothing.

    Each order's own reservations count as free for it, so the comparison is with the stock
    the order could use. Returns per-order rows (current and simulated locations, splits,
    promised delivery dates) and totals.
    """
    from orders.services.allocation import plan_allocation

    if not isinstance(last, int) or isinstance(last, bool) or not 1 <= last <= MAX_SIMULATED_ORDERS:
        raise ValidationFailed(
            errors={"last": [f"Give a number from 1 to {MAX_SIMULATED_ORDERS}."]}
        )
    routing_rules_check(channel=channel, values=values)
    current_rules = routing_rules_for(channel=channel)
    candidate_rules = routing_rules_for(
        channel=channel, rule_set=RoutingRuleSet(channel=channel, **values, version=0)
    )
    orders = list(
        Order.objects.filter(channel=channel)
        .exclude(status=OrderStatus.CANCELLED)
        .select_related("pickup_location", "shipping_method")
        .prefetch_related("lines")
        .order_by("-placed_at", "-id")[:last]
    )
    rows = []
    totals = {"orders": 0, "moved": 0, "splits_now": 0, "splits_simulated": 0, "earlier": 0,
              "later": 0, "short_now": 0, "short_simulated": 0}
    for order in orders:
        row = _simulate_order(order, channel, current_rules, candidate_rules, plan_allocation)
        if row is None:
            continue
        rows.append(row)
        totals["orders"] += 1
        totals["moved"] += row["now"]["locations"] != row["simulated"]["locations"]
        totals["splits_now"] += len(row["now"]["locations"]) > 1
        totals["splits_simulated"] += len(row["simulated"]["locations"]) > 1
        totals["short_now"] += bool(row["now"]["short"])
        totals["short_simulated"] += bool(row["simulated"]["short"])
        now_date, new_date = row["now"]["delivery"], row["simulated"]["delivery"]
        if now_date and new_date:
            totals["earlier"] += new_date < now_date
            totals["later"] += new_date > now_date
    return {"rows": rows, "totals": totals}


def _simulate_order(order, channel, current_rules, candidate_rules, plan_allocation):
    lines = [line for line in order.lines.all() if line.quantity - line.quantity_shipped
             - line.quantity_cancelled > 0]
    if not lines:
        return None
    demand = {
        line.pk: {line.product_id: line.quantity - line.quantity_shipped - line.quantity_cancelled}
        for line in lines
    }
    own = {}
    for product_id, warehouse_id, quantity in StockReservation.objects.filter(
        reference__in=[f"order_line:{line.pk}" for line in lines]
    ).values_list("stock_level__product_id", "stock_level__warehouse_id", "quantity"):
        own[(product_id, warehouse_id)] = own.get((product_id, warehouse_id), 0) + quantity
    summaries = {}
    for label, rules in (("now", current_rules), ("simulated", candidate_rules)):
        plan = plan_allocation(
            channel=channel,
            demand=demand,
            fulfillment_method=order.fulfillment_method,
            pickup_location=order.pickup_location,
            destination=order.shipping_address,
            service_level=order.shipping_method,
            rules=rules,
            extra_available=own,
        )
        explanation = plan.explain()
        summaries[label] = {
            "locations": explanation["locations"],
            "short": sum(plan.short.values()),
            "delivery": explanation["promised_delivery_date"],
        }
    return {"order": order.number, **summaries}
