"""Writes to subscriptions: create, change, pause, resume, skip the next run, cancel.

Each service locks the subscription row, checks the status table below, writes a
`SubscriptionEvent` and returns the subscription as it now is. Runs themselves are placed by
`orders.subscriptions.scheduler`.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from customers.services import customer_upsert
from oms_project.currencies import MAX_AMOUNT
from orders import pricing
from orders.models import SalesChannel
from orders.subscription_models import (
    Subscription,
    SubscriptionEvent,
    SubscriptionLine,
    SubscriptionOccurrence,
    SubscriptionStatus,
)
from orders.subscriptions.errors import SubscriptionStateError, SubscriptionValidationError
from orders.subscriptions.schedule import (
    Schedule,
    local_date,
    occurrence_after,
    occurrence_on_or_after,
    run_instant,
)
from orders.subscriptions.validation import subscription_destination_errors, subscription_validate
from warehouses.models import ServiceLevel

TRANSITIONS = {
    SubscriptionStatus.ACTIVE: frozenset(
        {SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED, SubscriptionStatus.COMPLETED}
    ),
    SubscriptionStatus.PAUSED: frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED}),
    SubscriptionStatus.CANCELLED: frozenset(),
    SubscriptionStatus.COMPLETED: frozenset(),
}
# Runs not yet turned into an order; cancelled with the subscription.
OPEN_OCCURRENCE_STATUSES = (
    SubscriptionOccurrence.Status.PENDING,
    SubscriptionOccurrence.Status.PAYMENT_RETRY,
)
# Enough to step over a daylight-saving change when looking for the next instant.
NEXT_RUN_LOOKAHEAD = 3


# --- schedule of a stored subscription ------------------------------------------------------


def subscription_schedule(subscription: Subscription) -> Schedule:
    """The `Schedule` of a stored subscription."""
    return Schedule(
        interval_unit=subscription.interval_unit,
        interval_count=subscription.interval_count,
        start_date=subscription.start_date,
        anchor_day=subscription.anchor_day,
        end_date=subscription.end_date,
    )


def subscription_zone(subscription: Subscription) -> ZoneInfo:
    return ZoneInfo(subscription.time_zone)


def subscription_run_instant(subscription: Subscription, day) -> datetime:
    """The instant the run on local date `day` is due."""
    return run_instant(day, subscription.local_time, subscription_zone(subscription))


def next_run_not_before(subscription: Subscription, moment: datetime):
    """(date, instant) of the first run due at or after `moment`, or None if none is left."""
    if (
        subscription.max_orders is not None
        and subscription.occurrence_count >= subscription.max_orders
    ):
        return None
    schedule = subscription_schedule(subscription)
    day = occurrence_on_or_after(schedule, local_date(moment, subscription_zone(subscription)))
    for _ in range(NEXT_RUN_LOOKAHEAD):
        if day is None:
            return None
        instant = subscription_run_instant(subscription, day)
        if instant >= moment:
            return day, instant
        day = occurrence_after(schedule, day)
    return None


def next_unrecorded_run_not_before(subscription: Subscription, moment: datetime):
    """(date, instant) of the first run due at or after `moment` that has not been recorded
    yet (skipped, placed, failed, ...), or None if none is left.

    A recorded run is never due again: the scheduler could not record it a second time.
    """
    found = next_run_not_before(subscription, moment)
    if found is None:
        return None
    recorded = set(
        SubscriptionOccurrence.objects.filter(
            subscription=subscription, occurrence_date__gte=found[0]
        ).values_list("occurrence_date", flat=True)
    )
    day = found[0]
    if day not in recorded:
        return found
    schedule = subscription_schedule(subscription)
    while day is not None and day in recorded:
        day = occurrence_after(schedule, day)
    return None if day is None else (day, subscription_run_instant(subscription, day))


def schedule_set_next(subscription: Subscription, found) -> None:
    """Point the subscription at its next run, or complete it when none is left (no save)."""
    if found is None:
        subscription.status = SubscriptionStatus.COMPLETED
        subscription.next_occurrence_date = None
        subscription.next_run_at = None
    else:
        subscription.next_occurrence_date, subscription.next_run_at = found


def subscription_event_record(
    *, subscription: Subscription, type: str, actor: str, message: str = "", data=None
) -> SubscriptionEvent:
    """Append an event to the subscription's audit trail (inside the business transaction)."""
    return SubscriptionEvent.objects.create(
        subscription=subscription, type=type, actor=actor[:150], message=message, data=data or {}
    )


# --- create ---------------------------------------------------------------------------------


def subscription_create(*, channel: SalesChannel, data: dict, actor: str) -> Subscription:
    """Create an active subscription for a channel's customer from validated API data.

    Checks what a serializer cannot (`orders.subscriptions.validation`: SKUs for sale, the
    shipping method, the time zone, the interval and anchor day, dates the schedule can run)
    and that a run is left before the end, all before writing anything; then upserts the
    customer, writes the subscription and its lines and points it at its first run: the first
    run date on or after the start date whose local time has not passed yet. Raises
    `SubscriptionValidationError` with field errors; nothing is written then.
    """
    now = timezone.now()
    products, service_level = subscription_validate(data, today=now.date(), channel=channel)
    subscription = _subscription_build(channel=channel, data=data, service_level=service_level)
    found = next_run_not_before(subscription, now)
    if found is None:
        raise SubscriptionValidationError(
            "The subscription has no run left.",
            errors={"end_date": ["No run falls between now and the end date."]},
        )
    schedule_set_next(subscription, found)
    with transaction.atomic():
        customer_data = data["customer"]
        subscription.customer = customer_upsert(
            channel_code=channel.code,
            email=customer_data["email"],
            external_id=customer_data.get("channel_customer_id") or None,
            profile={
                field: customer_data.get(field, "")
                for field in ("first_name", "last_name", "phone")
            },
        )
        subscription.email = subscription.customer.email
        subscription.save()
        SubscriptionLine.objects.bulk_create(
            [
                SubscriptionLine(
                    subscription=subscription,
                    product=products[line["sku"]],
                    sku=line["sku"],
                    quantity=line["quantity"],
                    unit_price=line["unit_price"],
                )
                for line in data["lines"]
            ]
        )
        subscription_event_record(
            subscription=subscription,
            type="created",
            actor=actor,
            message=f"Subscription created; first run {subscription.next_occurrence_date}.",
        )
    return subscription


def _subscription_build(
    *, channel: SalesChannel, data: dict, service_level: ServiceLevel | None
) -> Subscription:
    """The unsaved subscription for validated data (its customer is set when writing)."""
    return Subscription(
        channel=channel,
        shipping_address=address_snapshot(data["shipping_address"]),
        billing_address=address_snapshot(data.get("billing_address")),
        shipping_method=service_level,
        currency=data["currency"],
        shipping_total=data.get("shipping_total", Decimal("0.00")),
        tax_total=data.get("tax_total", Decimal("0.00")),
        tax_basis_total=data.get("tax_total", Decimal("0.00")),
        tax_basis_subtotal=_subtotal(
            [(line["quantity"], Decimal(str(line["unit_price"]))) for line in data["lines"]]
        ),
        payment_method=data["payment_method"],
        payment_reference=data["payment_reference"],
        interval_unit=data["interval_unit"],
        interval_count=data.get("interval_count", 1),
        anchor_day=data.get("anchor_day"),
        time_zone=data["time_zone"],
        local_time=data["local_time"],
        start_date=data["start_date"],
        end_date=data.get("end_date"),
        max_orders=data.get("max_orders"),
        attributes=data.get("attributes") or {},
    )


def address_snapshot(address: dict | None) -> dict:
    if not address:
        return {}
    return {key: (str(value) if value is not None else None) for key, value in address.items()}


# --- customer controls ----------------------------------------------------------------------


def _locked(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=subscription.pk)


def _check_transition(subscription: Subscription, to_status: str) -> None:
    if to_status not in TRANSITIONS[subscription.status]:
        raise SubscriptionStateError(
            f"Subscription {subscription.pk} is {subscription.status}; it cannot become "
            f"{to_status}.",
            extra={"subscription_status": subscription.status},
        )


def subscription_pause(
    *, subscription: Subscription, actor: str, reason: str = Subscription.PauseReason.CUSTOMER
) -> Subscription:
    """Stop placing orders until resumed. Raises `SubscriptionStateError` unless active."""
    with transaction.atomic():
        subscription = _locked(subscription)
        _check_transition(subscription, SubscriptionStatus.PAUSED)
        subscription.status = SubscriptionStatus.PAUSED
        subscription.pause_reason = reason
        subscription.next_occurrence_date = None
        subscription.next_run_at = None
        subscription.save()
        subscription_event_record(
            subscription=subscription, type="paused", actor=actor, data={"reason": reason}
        )
    return subscription


def subscription_resume(*, subscription: Subscription, actor: str) -> Subscription:
    """Place orders again from the first run due from now on that was not recorded yet.

    Runs missed while paused are not placed, and runs skipped before or during the pause stay
    skipped. Raises `SubscriptionStateError` unless paused; completes the subscription if no
    run is left."""
    with transaction.atomic():
        subscription = _locked(subscription)
        _check_transition(subscription, SubscriptionStatus.ACTIVE)
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.pause_reason = ""
        schedule_set_next(
            subscription, next_unrecorded_run_not_before(subscription, timezone.now())
        )
        subscription.save()
        subscription_event_record(
            subscription=subscription,
            type="resumed" if subscription.status == SubscriptionStatus.ACTIVE else "completed",
            actor=actor,
            message=f"Next run {subscription.next_occurrence_date or '—'}.",
        )
    return subscription


def subscription_skip_next(*, subscription: Subscription, actor: str) -> SubscriptionOccurrence:
    """Skip the next run: it is recorded as skipped (so no scheduler places it) and the
    subscription moves to the run after it. Raises `SubscriptionStateError` unless active."""
    with transaction.atomic():
        subscription = _locked(subscription)
        if subscription.status != SubscriptionStatus.ACTIVE:
            raise SubscriptionStateError(
                f"Only an active subscription has a next run to skip; this one is "
                f"{subscription.status}.",
                extra={"subscription_status": subscription.status},
            )
        skipped_date = subscription.next_occurrence_date
        try:
            with transaction.atomic():
                occurrence = SubscriptionOccurrence.objects.create(
                    subscription=subscription,
                    occurrence_date=skipped_date,
                    scheduled_for=subscription.next_run_at,
                    status=SubscriptionOccurrence.Status.SKIPPED,
                    actor=actor[:150],
                )
        except IntegrityError:
            raise SubscriptionStateError(
                f"The run of {skipped_date} has already been started; it can no longer be skipped."
            )
        after = occurrence_after(subscription_schedule(subscription), skipped_date)
        schedule_set_next(
            subscription,
            None if after is None else (after, subscription_run_instant(subscription, after)),
        )
        subscription.save()
        subscription_event_record(
            subscription=subscription,
            type="skipped",
            actor=actor,
            message=f"Run of {skipped_date} skipped; next run "
            f"{subscription.next_occurrence_date or '—'}.",
            data={"occurrence_date": skipped_date.isoformat()},
        )
    return occurrence


def subscription_cancel(
    *, subscription: Subscription, actor: str, reason: str = ""
) -> Subscription:
    """End the subscription for good; runs waiting for a payment retry are cancelled too.

    Orders already placed are not touched. Raises `SubscriptionStateError` when it is already
    cancelled or completed.
    """
    with transaction.atomic():
        subscription = _locked(subscription)
        _check_transition(subscription, SubscriptionStatus.CANCELLED)
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.next_occurrence_date = None
        subscription.next_run_at = None
        subscription.cancelled_at = timezone.now()
        subscription.save()
        SubscriptionOccurrence.objects.filter(
            subscription=subscription, status__in=OPEN_OCCURRENCE_STATUSES
        ).update(
            status=SubscriptionOccurrence.Status.CANCELLED,
            attempt_at=None,
            failure_code="subscription_cancelled",
        )
        subscription_event_record(
            subscription=subscription, type="cancelled", actor=actor, message=reason
        )
    return subscription


def subscription_change(
    *,
    subscription: Subscription,
    actor: str,
    quantities: dict[str, int] | None = None,
    shipping_address: dict | None = None,
    shipping_method: str | None = None,
    tax_total: Decimal | None = None,
    payment_method: str | None = None,
    payment_reference: str | None = None,
) -> Subscription:
    """Change line quantities (by SKU; 0 removes the line), the shipping address or method,
    the tax charged per run, or the stored payment (method and the processor's token).

    Applies to the runs not placed yet, and to payment retries of runs placed before: a
    subscription paused after a declined payment keeps its pause until resumed. New
    quantities keep the tax's effective rate: the stored tax is scaled by new subtotal / old
    subtotal, rounded half-up to the cent, unless `tax_total` gives the new tax (see
    docs/subscriptions.md). The audit event names a new payment reference by its last
    characters only. Raises `SubscriptionValidationError` for a SKU not on the subscription,
    a negative quantity, removing every line, an unknown shipping method, a tax that is not
    an amount from 0 to `MAX_AMOUNT`, a blank or too long payment method or reference, or a
    new payment method without its reference; and `SubscriptionStateError` for a cancelled
    or completed subscription; nothing changes.
    """
    with transaction.atomic():
        subscription = _locked(subscription)
        if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.COMPLETED):
            raise SubscriptionStateError(
                f"Subscription {subscription.pk} is {subscription.status}; it cannot change.",
                extra={"subscription_status": subscription.status},
            )
        changes: dict = {}
        payment = _change_payment(subscription, payment_method, payment_reference)
        if payment:
            changes["payment"] = payment
        tax_before = subscription.tax_total
        if tax_total is not None:
            subscription.tax_total = _tax_checked(tax_total)
        if quantities:
            changes["quantities"] = _change_quantities(
                subscription, quantities, is_tax_given=tax_total is not None
            )
        elif tax_total is not None:  # the tax given for the basket as it is
            subscription.tax_basis_total = subscription.tax_total
            subscription.tax_basis_subtotal = _subtotal(
                list(subscription.lines.values_list("quantity", "unit_price"))
            )
        if subscription.tax_total != tax_before:
            changes["tax_total"] = {"before": str(tax_before), "after": str(subscription.tax_total)}
        if shipping_method is not None:
            service_level = ServiceLevel.objects.filter(
                code=shipping_method, is_active=True
            ).first()
            if service_level is None:
                raise SubscriptionValidationError(
                    errors={"shipping_method": [f"Unknown shipping method '{shipping_method}'."]}
                )
            subscription.shipping_method = service_level
            changes["shipping_method"] = shipping_method
        if shipping_address is not None:
            destination_errors = subscription_destination_errors(
                channel=subscription.channel,
                lines=[
                    (line.product, line.quantity)
                    for line in subscription.lines.select_related("product")
                ],
                address=shipping_address,
                service_level=subscription.shipping_method,
            )
            if destination_errors:
                raise SubscriptionValidationError(
                    "No location of the channel ships to this address.",
                    errors=destination_errors,
                )
            subscription.shipping_address = address_snapshot(shipping_address)
            changes["shipping_address"] = subscription.shipping_address
        subscription.save()
        subscription_event_record(
            subscription=subscription, type="changed", actor=actor, data=changes
        )
    return subscription


def _change_payment(
    subscription: Subscription, payment_method: str | None, payment_reference: str | None
) -> dict:
    """Set the stored payment method and reference; return what the audit trail may keep
    (the method and the reference's last characters), or {} when nothing changed."""
    errors = {}
    for name, value, limit in (
        ("payment_method", payment_method, 50),
        ("payment_reference", payment_reference, 100),
    ):
        if value is not None and not (isinstance(value, str) and 0 < len(value.strip()) <= limit):
            errors[name] = [f"Give a value of 1 to {limit} characters."]
    if (
        not errors
        and payment_method is not None
        and payment_method != subscription.payment_method
        and payment_reference is None
    ):
        errors["payment_reference"] = ["A new payment method needs its payment reference."]
    if errors:
        raise SubscriptionValidationError("The payment details are invalid.", errors=errors)
    if payment_method is None and payment_reference is None:
        return {}
    method = subscription.payment_method if payment_method is None else payment_method
    reference = subscription.payment_reference if payment_reference is None else payment_reference
    if (method, reference) == (subscription.payment_method, subscription.payment_reference):
        return {}
    subscription.payment_method, subscription.payment_reference = method, reference
    return {"method": method, "reference": _reference_hint(reference)}


def _reference_hint(reference: str) -> str:
    """The end of a payment reference, enough to tell tokens apart in an audit trail: the last
    four characters of one of eight or more, else nothing (a processor's token can charge)."""
    return f"…{reference[-4:]}" if len(reference) >= 8 else "…"


def _tax_checked(tax_total) -> Decimal:
    try:
        amount = Decimal(tax_total)
        is_valid = amount.is_finite() and Decimal("0") <= amount <= MAX_AMOUNT
    except (InvalidOperation, TypeError, ValueError):
        is_valid = False
    if not is_valid or amount != pricing.money(amount):
        raise SubscriptionValidationError(
            "The tax total is invalid.",
            errors={"tax_total": [f"An amount from 0 to {MAX_AMOUNT} with at most two decimals."]},
        )
    return pricing.money(amount)


def _subtotal(quantities_and_prices: list[tuple[int, Decimal]]) -> Decimal:
    return sum(
        (
            pricing.line_total(unit_price=price, quantity=quantity, discount=Decimal("0.00"))
            for quantity, price in quantities_and_prices
        ),
        Decimal("0.00"),
    )


def _tax_rescaled(
    subscription: Subscription, old_subtotal: Decimal, new_subtotal: Decimal
) -> Decimal:
    """The tax at the effective rate it was set at (`tax_basis_*`, else the stored tax on
    `old_subtotal`), on the new subtotal, half-up to the cent; unchanged when there is no
    rate to keep (nothing was charged for the goods)."""
    if subscription.tax_basis_total is None or subscription.tax_basis_subtotal is None:
        # Set up before bases were kept: the tax now, for the basket now.
        subscription.tax_basis_total = subscription.tax_total
        subscription.tax_basis_subtotal = old_subtotal
    basis_tax, basis_subtotal = subscription.tax_basis_total, subscription.tax_basis_subtotal
    if basis_subtotal <= 0 or new_subtotal == old_subtotal:
        return subscription.tax_total
    scaled = pricing.money(basis_tax * new_subtotal / basis_subtotal)
    if scaled > MAX_AMOUNT:
        raise SubscriptionValidationError(
            "The quantities are invalid.",
            errors={"quantities": [f"The tax would come to more than {MAX_AMOUNT}."]},
        )
    return scaled


def _change_quantities(
    subscription: Subscription, quantities: dict[str, int], *, is_tax_given: bool = False
) -> dict:
    """Set the lines' quantities and, unless the caller gave the tax, rescale the tax."""
    lines = {line.sku: line for line in subscription.lines.select_for_update().order_by("pk")}
    errors = {}
    for sku, quantity in quantities.items():
        if sku not in lines:
            errors[sku] = [f"SKU '{sku}' is not on this subscription."]
        elif quantity < 0:
            errors[sku] = ["A quantity cannot be negative."]
    if errors:
        raise SubscriptionValidationError(
            "The quantities are invalid.", errors={"quantities": errors}
        )
    if all(quantities.get(sku, line.quantity) == 0 for sku, line in lines.items()):
        raise SubscriptionValidationError(
            "A subscription keeps at least one line; cancel it instead.",
            errors={"quantities": ["A subscription keeps at least one line; cancel it instead."]},
        )
    old_subtotal = _subtotal([(line.quantity, line.unit_price) for line in lines.values()])
    new_subtotal = _subtotal(
        [(quantities.get(sku, line.quantity), line.unit_price) for sku, line in lines.items()]
    )
    if is_tax_given:  # the tax given is the new basis
        subscription.tax_basis_total = subscription.tax_total
        subscription.tax_basis_subtotal = new_subtotal
    else:
        subscription.tax_total = _tax_rescaled(subscription, old_subtotal, new_subtotal)
    for sku, quantity in quantities.items():
        if quantity == 0:
            lines[sku].delete()
        else:
            SubscriptionLine.objects.filter(pk=lines[sku].pk).update(quantity=quantity)
    return dict(quantities)


def occurrence_count_add(subscription: Subscription) -> None:
    """Count one more scheduled run (a database increment)."""
    Subscription.objects.filter(pk=subscription.pk).update(
        occurrence_count=F("occurrence_count") + 1
    )
    subscription.occurrence_count += 1
