"""What order intake reads for every order besides stock, kept per process for a few seconds.

Every new order is routed against its channel's shipping locations, the channel's rule set,
those locations' outages, its destination's postal-code centre and its service level (and
that level's carrier). Staff change these rarely, yet they were read for every order. They
are kept here for `OMS_ROUTING_CONFIG_SECONDS` (default 5; 0 turns the copy off): a change
saved through the models (admin, API, services) clears this process's copy at once through
signals, and other processes (web workers, Celery) see it within those seconds. Stock is never
kept: it is read for every batch and reserved by a conditional UPDATE, so a stale copy can
pick a location that a change just ruled out, but never oversell.

Only order intake (`order_lookups_load`, `BatchRouter`) reads through here; re-routing and
allocation of existing orders read the database each time.
"""

import copy
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from orders.models import RoutingRuleSet, SalesChannel
from orders.services.allocation import candidate_locations
from orders.services.routing_rules import routing_rules_for
from warehouses.models import Carrier, LocationOutage, PostalCode, ServiceLevel, Warehouse
from warehouses.routing import Destination, Outage, Rules
from warehouses.routing.loading import destination_resolve, location_outages

# Postal-code centres are kept per destination, so the copy is bounded: past this many entries
# it starts over.
MAX_KEPT = 10_000

_kept: dict[tuple, tuple[float, object]] = {}


def _through(key: tuple, load: Callable[[], object]) -> object:
    seconds = settings.OMS_ROUTING_CONFIG_SECONDS
    if seconds <= 0:
        return load()
    now = time.monotonic()
    kept = _kept.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    value = load()
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[key] = (now + seconds, value)
    return value


def shipping_locations(channel: SalesChannel) -> list[Warehouse]:
    """The channel's active locations that ship, in routing order (copies: callers may keep
    them on the rows they write)."""
    from orders.models import FulfillmentMethod

    locations = _through(
        ("locations", channel.pk),
        lambda: candidate_locations(
            channel=channel, fulfillment_method=FulfillmentMethod.SHIP, pickup_location=None
        ),
    )
    return [copy.copy(location) for location in locations]


def channel_rules(channel: SalesChannel) -> Rules:
    """The engine's rules for the channel (its split settings are read from `channel`)."""
    rule_set = _through(
        ("rule_set", channel.pk),
        lambda: RoutingRuleSet.objects.filter(channel=channel, is_active=True).first(),
    )
    return routing_rules_for(channel=channel, rule_set=rule_set, look_up=False)


def outages(warehouse_ids: list[int], now: datetime) -> dict[int, list[Outage]]:
    """The locations' outages not over at `now`, by location."""
    kept = _through(
        ("outages", tuple(sorted(warehouse_ids))),
        lambda: location_outages(warehouse_ids=warehouse_ids, now=now),
    )
    return {
        warehouse_id: [outage for outage in items if outage.ends_at > now]
        for warehouse_id, items in kept.items()
    }


def destination(address: dict | None) -> Destination:
    """`destination_resolve`, with postal-code centres kept like the rest."""
    address = address or {}
    key = tuple(
        str(address.get(name) or "")
        for name in ("country", "postal_code", "region", "state", "latitude", "longitude")
    )
    return _through(("destination", key), lambda: destination_resolve(address or None))


def service_levels(codes: set[str]) -> dict[str, ServiceLevel]:
    """The service levels among `codes` that are active and whose carrier is, by code
    (copies): a carrier that stopped collecting takes its services with it."""
    levels = _through(
        ("service_levels", tuple(sorted(codes))),
        lambda: {
            level.code: level
            for level in ServiceLevel.objects.offered().filter(code__in=codes)
        },
    )
    return {code: copy.copy(level) for code, level in levels.items()}


def routing_config_forget(**signal) -> None:
    """Drop this process's copy (connected to every change of what is kept), and again once
    the change is committed, so nothing read in between survives it. (A change rolled back
    after routing read it inside the same transaction stays in the copy until it expires.)"""
    _kept.clear()
    if signal:
        transaction.on_commit(_kept.clear)


def connect_signals() -> None:
    kept_models = (
        Warehouse, LocationOutage, RoutingRuleSet, SalesChannel, PostalCode, ServiceLevel,
        Carrier,
    )
    for model in kept_models:
        post_save.connect(routing_config_forget, sender=model, dispatch_uid=f"routing-{model}")
        post_delete.connect(routing_config_forget, sender=model, dispatch_uid=f"routing-d-{model}")
    m2m_changed.connect(
        routing_config_forget,
        sender=SalesChannel.warehouses.through,
        dispatch_uid="routing-channel-locations",
    )
