"""Routing a batch of new orders against one read of the stock (reads only).

The batch counterpart of `plan_allocation`: the candidates, rules, outages and today's load
of each (channel, fulfillment method, pickup store) are read once (locations, rules, outages
and postal-code centres through `routing_config`, which keeps them a few seconds), free stock
once for every product and location of the batch, and each order is routed in turn by the
same engine against what the orders before it left free. The plans are only proposals: the
conditional stock UPDATE at the end of the batch transaction is what guarantees no oversell.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils import timezone

from inventory.models import Product
from inventory.selectors import available_by_location
from orders.models import FulfillmentMethod, SalesChannel
from orders.services import routing_config
from orders.services.allocation import candidate_locations, destination_refusal, routed_today
from warehouses.models import ServiceLevel, Warehouse
from warehouses.routing import Candidate, DemandLine, Plan, Rules, route
from warehouses.routing.loading import candidates_load, service_terms


@dataclass
class _Group:
    """Where orders of one channel, method and pickup store may be filled from."""

    locations: list[Warehouse]
    candidates: list[Candidate]
    rules: Rules
    is_pickup: bool


@dataclass
class BatchRouter:
    """Route orders one after another against the stock the batch has not yet taken."""

    now: datetime
    available: dict[tuple[int, int], int] = field(default_factory=dict)
    groups: dict[tuple, _Group] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        *,
        orders: list[tuple[SalesChannel, str, Warehouse | None]],
        product_ids: set[int],
        now: datetime,
    ) -> "BatchRouter":
        """Read the inputs for orders given as (channel, fulfillment method, pickup store)."""
        router = cls(now=now)
        rules: dict[int, Rules] = {}
        for channel, method, pickup in orders:
            key = _group_key(channel, method, pickup)
            if key in router.groups:
                continue
            if channel.pk not in rules:
                rules[channel.pk] = routing_config.channel_rules(channel)
            is_pickup = method == FulfillmentMethod.PICKUP
            if is_pickup:
                locations = candidate_locations(
                    channel=channel, fulfillment_method=method, pickup_location=pickup
                )
            else:
                locations = routing_config.shipping_locations(channel)
            router.groups[key] = _Group(
                locations=locations,
                candidates=candidates_load(
                    warehouses=locations,
                    now=now,
                    routed_today=routed_today(warehouses=locations, now=now),
                    is_pickup=is_pickup,
                    outages=routing_config.outages([location.pk for location in locations], now),
                ),
                rules=rules[channel.pk],
                is_pickup=is_pickup,
            )
        location_ids = {
            location.pk for group in router.groups.values() for location in group.locations
        }
        if product_ids and location_ids:
            router.available = available_by_location(
                product_ids=product_ids, warehouse_ids=location_ids
            )
        return router

    def locations(self, channel: SalesChannel, method: str, pickup) -> list[Warehouse]:
        return self.groups[_group_key(channel, method, pickup)].locations

    def plan(
        self,
        *,
        channel: SalesChannel,
        method: str,
        pickup: Warehouse | None,
        demand: list[tuple[object, Product, int]],
        destination: dict | None,
        service_level: ServiceLevel | None,
    ) -> Plan:
        """Route one order's demand, given as (line key, product, quantity)."""
        group = self.groups[_group_key(channel, method, pickup)]
        return route(
            demand=[
                DemandLine(
                    key=key,
                    product_id=product.pk,
                    sku=product.sku,
                    quantity=quantity,
                    freight_class=product.freight_class,
                )
                for key, product, quantity in demand
                if quantity > 0
            ],
            destination=self._destination(None if group.is_pickup else destination),
            candidates=group.candidates,
            available=self.available,
            rules=group.rules,
            now=self.now,
            service=None if group.is_pickup else service_terms(service_level),
        )

    def take(self, *, channel, method, pickup, plan: Plan, creates_fulfillment: bool) -> None:
        """Count the plan's units as taken, and its locations' new fulfillment orders."""
        for item in plan.allocations:
            key = (item.product_id, item.location_id)
            self.available[key] = self.available.get(key, 0) - item.quantity
        if not creates_fulfillment:
            return
        chosen = set(plan.location_ids)
        for group in self.groups.values():
            group.candidates = [
                replace(candidate, routed_today=candidate.routed_today + 1)
                if candidate.id in chosen and candidate.daily_capacity is not None
                else candidate
                for candidate in group.candidates
            ]

    def _destination(self, address: dict | None):
        return routing_config.destination(address)


def _group_key(channel: SalesChannel, method: str, pickup: Warehouse | None) -> tuple:
    is_pickup = method == FulfillmentMethod.PICKUP
    return (channel.pk, is_pickup, pickup.pk if is_pickup and pickup else None)


def destination_refusal_for(
    *,
    channel: SalesChannel,
    demand: list[tuple[Product, int]],
    destination: dict | None,
    service_level: ServiceLevel | None = None,
):
    """Route a shipped order of `demand` (product, units) to `destination` without taking
    anything, to learn whether any location of the channel ships there at all (for what
    is not allocated now, such as a subscription's future runs): the refusal on
    `shipping_address.country` (`destination_refusal`), or None."""
    router = BatchRouter.load(
        orders=[(channel, FulfillmentMethod.SHIP, None)],
        product_ids={product.pk for product, _units in demand},
        now=timezone.now(),
    )
    plan = router.plan(
        channel=channel,
        method=FulfillmentMethod.SHIP,
        pickup=None,
        demand=[(position, product, units) for position, (product, units) in enumerate(demand)],
        destination=destination,
        service_level=service_level,
    )
    return destination_refusal(plan, channel, FulfillmentMethod.SHIP, destination)
