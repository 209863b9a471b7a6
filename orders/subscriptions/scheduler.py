"""The subscription scheduler: claim due subscriptions, record their runs, place the orders.

One beat tick (`subscriptions_tick`) does two passes; any number of schedulers may run it at
once.

1. **Schedule.** Each active subscription whose `next_run_at` has passed is claimed without
   waiting on other schedulers (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite: a
   conditional UPDATE, which takes the database's write lock until commit, after which a
   competing scheduler's UPDATE finds the run already moved on). In the same transaction the
   run is recorded as a pending `SubscriptionOccurrence`, unique per (subscription, local
   date): a second scheduler or a retried tick can never record, and so never order, the
   same run twice. The subscription then moves to its next run.
2. **Place.** Each pending run (and each run whose payment retry is due) is leased with a
   conditional UPDATE of `attempt_at` (skipping rows other schedulers hold on PostgreSQL), the
   payment step is called outside any transaction, and the order is placed through
   `orders.services.order_create` with `channel_order_id` `SUB-<subscription id>-<yyyymmdd>`,
   so even a lost lease cannot place a second order for the run.

**Downtime.** When the scheduler was down over several runs, a subscription places at most
one catch-up order: for the most recent run that is due; the earlier missed runs are not
ordered (the catch-up run records the first missed date in `catch_up_from`), and the next run
is the first one still in the future.

**Shortage.** The order follows the channel's shortage policy: a `backorder` channel gets a
backordered order; on a `reject` channel the run fails with `insufficient_stock`, the charge
is voided and the customer is told.

**Payment.** A declined payment is retried after each delay of
`settings.OMS_SUBSCRIPTION_PAYMENT_RETRY_HOURS`; when the last retry fails too the run fails,
the subscription pauses (`payment_failed`) and the customer is told.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import CustomerChannel
from oms_project.errors import OmsError
from orders import pricing
from orders.errors import DuplicateOrder
from orders.models import FulfillmentMethod, Order
from orders.subscription_models import Subscription, SubscriptionOccurrence, SubscriptionStatus
from orders.subscriptions.notifications import subscription_email
from orders.subscriptions.payments import PaymentOutcome, payment_gateway
from orders.subscriptions.schedule import occurrence_after
from orders.subscriptions.services import (
    OPEN_OCCURRENCE_STATUSES,
    schedule_set_next,
    subscription_event_record,
    subscription_pause,
    subscription_run_instant,
    subscription_schedule,
)

logger = logging.getLogger(__name__)
ACTOR = "scheduler"
LEASE = timedelta(minutes=10)
BATCH = 200
Status = SubscriptionOccurrence.Status


def subscriptions_tick(*, now: datetime | None = None, limit: int = BATCH) -> dict:
    """Record every due run, then place every run that waits; return how many of each."""
    now = now or timezone.now()
    scheduled = subscriptions_schedule_due(now=now, limit=limit)
    processed = occurrences_process_due(now=now, limit=limit)
    return {"scheduled": scheduled, "processed": processed}


# --- 1. schedule ----------------------------------------------------------------------------


def subscriptions_schedule_due(*, now: datetime, limit: int = BATCH) -> int:
    """Record the due run of up to `limit` subscriptions; return how many were recorded."""
    due = (
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    recorded = 0
    for subscription_id in list(due):
        try:
            occurrence = subscription_run_record(subscription_id=subscription_id, now=now)
        except Exception:  # one broken subscription must not hold up the others
            logger.exception("Subscription %s: recording its due run failed", subscription_id)
            continue
        recorded += occurrence is not None
    return recorded


def _claim(subscription_id: int, now: datetime) -> Subscription | None:
    due = Subscription.objects.filter(
        pk=subscription_id, status=SubscriptionStatus.ACTIVE, next_run_at__lte=now
    )
    if connection.features.has_select_for_update_skip_locked:
        return due.select_for_update(skip_locked=True).first()
    if not due.update(updated_at=now):
        return None
    return Subscription.objects.get(pk=subscription_id)


def subscription_run_record(
    *, subscription_id: int, now: datetime
) -> SubscriptionOccurrence | None:
    """Claim one due subscription, record its run as pending and move it to its next run.

    Returns the recorded run, or None when another scheduler holds or already moved the
    subscription, or the run was recorded before.
    """
    with transaction.atomic():
        subscription = _claim(subscription_id, now)
        if subscription is None:
            return None
        due_date, catch_up_from = latest_due_run(subscription, now)
        try:
            with transaction.atomic():
                occurrence = SubscriptionOccurrence.objects.create(
                    subscription=subscription,
                    occurrence_date=due_date,
                    scheduled_for=subscription_run_instant(subscription, due_date),
                    status=Status.PENDING,
                    attempt_at=now,
                    catch_up_from=catch_up_from,
                    actor=ACTOR,
                )
        except IntegrityError:
            occurrence = None
        else:
            subscription.occurrence_count += 1
        after = occurrence_after(subscription_schedule(subscription), due_date)
        is_exhausted = (
            subscription.max_orders is not None
            and subscription.occurrence_count >= subscription.max_orders
        )
        schedule_set_next(
            subscription,
            None
            if after is None or is_exhausted
            else (after, subscription_run_instant(subscription, after)),
        )
        subscription.save(
            update_fields=[
                "status", "next_occurrence_date", "next_run_at", "occurrence_count", "updated_at"
            ]
        )
        if occurrence is not None:
            subscription_event_record(
                subscription=subscription,
                type="run_scheduled",
                actor=ACTOR,
                message=f"Run of {due_date} recorded"
                + (f" (catching up from {catch_up_from})" if catch_up_from else "")
                + f"; next run {subscription.next_occurrence_date or '—'}.",
                data={"occurrence_date": due_date.isoformat()},
            )
    return occurrence


def latest_due_run(subscription: Subscription, now: datetime):
    """(date of the most recent run due by `now`, first missed date or None if none missed)."""
    schedule = subscription_schedule(subscription)
    first = latest = subscription.next_occurrence_date
    candidate = occurrence_after(schedule, first)
    while candidate is not None and subscription_run_instant(subscription, candidate) <= now:
        latest = candidate
        candidate = occurrence_after(schedule, candidate)
    return latest, (first if latest != first else None)


# --- 2. place -------------------------------------------------------------------------------


def occurrences_process_due(*, now: datetime, limit: int = BATCH) -> int:
    """Lease up to `limit` runs that wait and work each; return how many were worked."""
    claimed = _lease(now, limit)
    for occurrence_id in claimed:
        try:
            occurrence_process(occurrence_id=occurrence_id, now=now)
        except Exception:  # the lease runs out and a later tick tries the run again
            logger.exception("Subscription run %s failed; it is retried later", occurrence_id)
    return len(claimed)


def _lease(now: datetime, limit: int) -> list[int]:
    with transaction.atomic():
        due = SubscriptionOccurrence.objects.filter(
            status__in=OPEN_OCCURRENCE_STATUSES, attempt_at__lte=now
        ).order_by("attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        claimed = []
        for occurrence_id, attempt_at in list(due.values_list("pk", "attempt_at")[:limit]):
            taken = SubscriptionOccurrence.objects.filter(
                pk=occurrence_id, status__in=OPEN_OCCURRENCE_STATUSES, attempt_at=attempt_at
            ).update(attempt_at=now + LEASE)
            if taken:
                claimed.append(occurrence_id)
    return claimed


def occurrence_process(*, occurrence_id: int, now: datetime) -> SubscriptionOccurrence:
    """Charge and place the order of one leased run; record what happened.

    A run of a paused or cancelled subscription is cancelled; a declined payment is scheduled
    for retry (or fails the run and pauses the subscription); an order the channel refuses
    fails the run and voids the charge.
    """
    occurrence = SubscriptionOccurrence.objects.select_related(
        "subscription__channel", "subscription__customer", "subscription__shipping_method"
    ).get(pk=occurrence_id)
    subscription = occurrence.subscription
    if occurrence.status not in OPEN_OCCURRENCE_STATUSES:
        return occurrence
    # A completed subscription still places its last recorded run.
    if subscription.status in (SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED):
        return _finish(
            occurrence, Status.CANCELLED, failure_code=f"subscription_{subscription.status}"
        )
    attempt = occurrence.attempts + 1
    data = order_data(subscription, occurrence, now)
    amount = _order_total(data)
    outcome = PaymentOutcome(is_successful=True)
    if amount > 0:
        outcome = payment_gateway().charge(
            subscription=subscription,
            amount=amount,
            currency=subscription.currency,
            idempotency_key=f"subscription-run-{occurrence.pk}-attempt-{attempt}",
        )
        if not outcome.is_successful:
            return _payment_declined(occurrence, attempt, outcome, now)
        data["payment"] = {
            "method": subscription.payment_method,
            "amount": amount,
            "status": "captured",
            "reference": outcome.reference or subscription.payment_reference,
        }
    return _place(occurrence, data, attempt, amount, outcome)


def _place(occurrence, data: dict, attempt: int, amount: Decimal, outcome: PaymentOutcome):
    from orders.services import order_create

    subscription = occurrence.subscription
    try:
        with transaction.atomic():
            order = order_create(
                channel=subscription.channel, data=data, actor=f"subscription:{subscription.pk}"
            )
            return _finish(
                occurrence, Status.PLACED, order=order, attempts=attempt,
                payment_reference=outcome.reference,
            )
    except DuplicateOrder:
        _void(subscription, outcome, amount)
        order = Order.objects.get(
            channel=subscription.channel, channel_order_id=data["channel_order_id"]
        )
        return _finish(occurrence, Status.PLACED, order=order, attempts=attempt)
    except OmsError as error:
        _void(subscription, outcome, amount)
        with transaction.atomic():
            occurrence = _finish(
                occurrence, Status.FAILED, attempts=attempt, failure_code=error.code,
                failure_detail=error.detail,
            )
            subscription_email(
                subscription=subscription,
                template="subscription_run_failed",
                extra={"occurrence": occurrence},
            )
        return occurrence


def _void(subscription: Subscription, outcome: PaymentOutcome, amount: Decimal) -> None:
    if amount > 0 and outcome.is_successful:
        payment_gateway().void(
            subscription=subscription,
            reference=outcome.reference,
            amount=amount,
            currency=subscription.currency,
        )


def _payment_declined(occurrence, attempt: int, outcome: PaymentOutcome, now: datetime):
    delays = settings.OMS_SUBSCRIPTION_PAYMENT_RETRY_HOURS
    subscription = occurrence.subscription
    with transaction.atomic():
        if attempt <= len(delays):
            retry_at = now + timedelta(hours=delays[attempt - 1])
            return _finish(
                occurrence, Status.PAYMENT_RETRY, attempts=attempt, attempt_at=retry_at,
                failure_code="payment_declined", failure_detail=outcome.message,
            )
        occurrence = _finish(
            occurrence, Status.FAILED, attempts=attempt, failure_code="payment_declined",
            failure_detail=outcome.message,
        )
        is_paused = subscription.status == SubscriptionStatus.ACTIVE
        if is_paused:  # a completed subscription has nothing left to pause
            subscription = subscription_pause(
                subscription=subscription,
                actor=ACTOR,
                reason=Subscription.PauseReason.PAYMENT_FAILED,
            )
        subscription_email(
            subscription=subscription,
            template="subscription_payment_failed",
            extra={"occurrence": occurrence, "attempts": attempt, "is_paused": is_paused},
        )
    return occurrence


def _finish(occurrence: SubscriptionOccurrence, status: str, **fields) -> SubscriptionOccurrence:
    """Record the run's outcome and an audit event (inside the caller's transaction if any)."""
    with transaction.atomic():
        fields.setdefault("attempt_at", None)
        if status == Status.PLACED:
            fields.update(failure_code="", failure_detail="")
        for name, value in fields.items():
            setattr(occurrence, name, value)
        occurrence.status = status
        occurrence.save()
        subscription_event_record(
            subscription=occurrence.subscription,
            type=f"run_{status}",
            actor=ACTOR,
            message=_outcome_message(occurrence),
            data={
                "occurrence_date": occurrence.occurrence_date.isoformat(),
                "order": occurrence.order.number if occurrence.order_id else None,
                "failure_code": occurrence.failure_code,
            },
        )
    return occurrence


def _outcome_message(occurrence: SubscriptionOccurrence) -> str:
    if occurrence.status == Status.PLACED:
        return f"Run of {occurrence.occurrence_date}: order {occurrence.order.number} placed."
    if occurrence.status == Status.PAYMENT_RETRY:
        return (
            f"Run of {occurrence.occurrence_date}: payment declined (attempt "
            f"{occurrence.attempts}); retrying at {occurrence.attempt_at:%Y-%m-%d %H:%M} UTC."
        )
    return (
        f"Run of {occurrence.occurrence_date} {occurrence.status}: "
        f"{occurrence.failure_code} {occurrence.failure_detail}".strip()
    )


def order_data(subscription: Subscription, occurrence: SubscriptionOccurrence, now) -> dict:
    """The order payload of one run, in the shape `order_create` takes from channels."""
    return {
        "channel_order_id": f"SUB-{subscription.pk}-{occurrence.occurrence_date:%Y%m%d}",
        "customer": _order_customer(subscription),
        "shipping_address": dict(subscription.shipping_address),
        "billing_address": dict(subscription.billing_address) or None,
        "fulfillment_method": FulfillmentMethod.SHIP,
        "shipping_method": subscription.shipping_method.code
        if subscription.shipping_method_id
        else "",
        "currency": subscription.currency,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": Decimal("0.00"),
            }
            for line in subscription.lines.order_by("pk")
        ],
        "shipping_total": subscription.shipping_total,
        "tax_total": subscription.tax_total,
        "discount_total": Decimal("0.00"),
        "attributes": {
            "subscription_id": str(subscription.pk),
            "subscription_run": occurrence.occurrence_date.isoformat(),
        },
        "placed_at": now,
    }


def _order_customer(subscription: Subscription) -> dict:
    """The subscriber as an order names them: the profile's current e-mail and, when the
    channel knows one, its customer id.

    Order intake finds the customer by the channel's customer id, else by e-mail; a copy of
    the e-mail taken at sign-up would file the run under a new profile once it changed.
    """
    customer = subscription.customer
    data = {
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
    }
    external_id = (
        CustomerChannel.objects.filter(
            customer=customer, channel_code=subscription.channel.code, external_id__isnull=False
        )
        .values_list("external_id", flat=True)
        .first()
    )
    if external_id:
        data["channel_customer_id"] = external_id
    return data


def _order_total(data: dict) -> Decimal:
    subtotal = sum(
        (
            pricing.line_total(
                unit_price=line["unit_price"], quantity=line["quantity"], discount=line["discount"]
            )
            for line in data["lines"]
        ),
        Decimal("0.00"),
    )
    return pricing.order_total(
        subtotal=subtotal,
        discount_total=data["discount_total"],
        shipping_total=data["shipping_total"],
        tax_total=data["tax_total"],
    )
