"""Checks of a new subscription that a serializer cannot make: SKUs, shipping method, schedule.

Everything is checked before the create service writes anything. The schedule's dates are
kept to a range it can compute and that means something for a standing order: the start at
most `START_YEARS_BACK` years back and `START_YEARS_AHEAD` ahead, the end not before the start
and at most `END_YEARS_AHEAD` years ahead.
"""

import functools
import zoneinfo
from datetime import date

from inventory.models import Product
from oms_project.errors import item_errors
from orders.models import SalesChannel
from orders.services.bulk_planning import destination_refusal_for
from orders.subscriptions.errors import SubscriptionValidationError
from orders.subscriptions.schedule import DAY, MONTH, WEEK, clamp_day
from warehouses.models import ServiceLevel

MAX_INTERVAL_COUNT = 366
START_YEARS_BACK = 10
START_YEARS_AHEAD = 5
END_YEARS_AHEAD = 50


def subscription_validate(
    data: dict, *, today: date, channel: SalesChannel
) -> tuple[dict, ServiceLevel | None]:
    """Check the lines, the shipping method, the schedule and the address of a new
    subscription (some location of `channel` must ship there, or no run could be placed).

    Returns the products by SKU and the service level (or None). Raises
    `SubscriptionValidationError` with every field error.
    """
    products = _products(data["lines"])
    errors = {}
    line_errors = lines_errors(data["lines"], products)
    if line_errors:
        errors["lines"] = line_errors
    service_level = None
    if data.get("shipping_method"):
        service_level = ServiceLevel.objects.filter(
            code=data["shipping_method"], is_active=True
        ).first()
        if service_level is None:
            errors["shipping_method"] = [f"Unknown shipping method '{data['shipping_method']}'."]
    errors.update(schedule_errors(data, today=today))
    if not errors:
        errors.update(
            subscription_destination_errors(
                channel=channel,
                lines=[(products[line["sku"]], line["quantity"]) for line in data["lines"]],
                address=data.get("shipping_address"),
                service_level=service_level,
            )
        )
    if errors:
        raise SubscriptionValidationError("The subscription has invalid fields.", errors=errors)
    return products, service_level


def subscription_destination_errors(
    *, channel: SalesChannel, lines: list, address: dict | None, service_level=None
) -> dict:
    """The field errors of an address none of the channel's locations ships to (empty when
    one does), judged by routing the subscription's lines there as its runs would be."""
    refusal = destination_refusal_for(
        channel=channel, demand=lines, destination=address, service_level=service_level
    )
    return refusal.errors if refusal is not None else {}


def _products(lines: list[dict]) -> dict:
    skus = {line["sku"] for line in lines}
    return {product.sku: product for product in Product.objects.filter(sku__in=skus)}


def lines_errors(lines: list[dict], products: dict) -> dict[str, dict] | None:
    """The lines' errors keyed by their position in the request (`item_errors`), as order
    creation gives them; None when every line is good."""
    errors, seen = [], set()
    for line in lines:
        sku, product = line["sku"], products.get(line["sku"])
        if product is None:
            errors.append({"sku": [f"Unknown SKU '{sku}'."]})
        elif not product.is_active:
            errors.append({"sku": [f"SKU '{sku}' is not for sale."]})
        elif sku in seen:
            errors.append({"sku": [f"SKU '{sku}' appears on more than one line."]})
        else:
            errors.append({})
        seen.add(sku)
    return item_errors(errors) or None


def schedule_errors(data: dict, *, today: date) -> dict:
    """Field errors of the interval, anchor day, time zone and dates (empty when all is well)."""
    errors = {}
    if not is_known_time_zone(data["time_zone"]):
        errors["time_zone"] = [f"Unknown time zone '{data['time_zone']}'; use an IANA name."]
    unit, count = data["interval_unit"], data.get("interval_count", 1)
    if unit not in (DAY, WEEK, MONTH):
        errors["interval_unit"] = [f"Give one of {DAY}, {WEEK} or {MONTH}."]
    if not isinstance(count, int) or not 1 <= count <= MAX_INTERVAL_COUNT:
        errors["interval_count"] = [f"Give a whole number from 1 to {MAX_INTERVAL_COUNT}."]
    anchor = data.get("anchor_day")
    if anchor is not None and unit in (DAY, WEEK, MONTH):
        highest = {MONTH: 31, WEEK: 7}.get(unit)
        if highest is None:
            errors["anchor_day"] = ["Daily schedules take no anchor day."]
        elif not 1 <= anchor <= highest:
            errors["anchor_day"] = [f"Give a day between 1 and {highest} for this interval."]
    return {**errors, **date_errors(data["start_date"], data.get("end_date"), today=today)}


def date_errors(start: date, end: date | None, *, today: date) -> dict:
    """Field errors of a start and end date the schedule cannot or should not run."""
    errors = {}
    earliest, latest = years_from(today, -START_YEARS_BACK), years_from(today, START_YEARS_AHEAD)
    if not earliest <= start <= latest:
        errors["start_date"] = [f"Give a start date between {earliest} and {latest}."]
    if end is not None:
        last_end = years_from(today, END_YEARS_AHEAD)
        if end < start:
            errors["end_date"] = ["The end date is before the start date."]
        elif end > last_end:
            errors["end_date"] = [f"Give an end date no later than {last_end}."]
    return errors


def years_from(day: date, years: int) -> date:
    """The same day `years` later (earlier if negative); 29 February becomes the 28th."""
    return clamp_day(day.year + years, day.month, day.day)


def is_known_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone the system's database knows."""
    return name in _time_zone_names()


@functools.cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
