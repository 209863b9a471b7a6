"""Reminder e-mails some days before each subscription run (per channel), sent once per run."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orders.models import SalesChannel
from orders.subscription_models import Subscription, SubscriptionStatus
from orders.subscriptions.notifications import subscription_email
from orders.subscriptions.services import subscription_event_record, subscription_zone

BATCH = 500


def subscription_reminders_send(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """E-mail each subscriber whose next run is due within their channel's
    `subscription_reminder_days` (0 turns reminders off), once per run; return how many.

    A run that is already due is not announced any more. The reminder is claimed with a
    conditional UPDATE of `reminded_for_date`, so concurrent senders send it once.
    """
    now = now or timezone.now()
    lead_days = (
        SalesChannel.objects.filter(subscription_reminder_days__gt=0, customer_emails=True)
        .values_list("subscription_reminder_days", flat=True)
        .distinct()
    )
    sent = 0
    for days in sorted(set(lead_days)):
        due = (
            Subscription.objects.filter(
                status=SubscriptionStatus.ACTIVE,
                channel__subscription_reminder_days=days,
                channel__customer_emails=True,
                next_run_at__gt=now,
                next_run_at__lte=now + timedelta(days=days),
            )
            .filter(
                Q(reminded_for_date__isnull=True)
                | ~Q(reminded_for_date=F("next_occurrence_date"))
            )
            .order_by("next_run_at", "pk")
            .values_list("pk", "next_occurrence_date")[:limit]
        )
        for subscription_id, run_date in list(due):
            sent += _remind(subscription_id, run_date)
    return sent


def _remind(subscription_id: int, run_date) -> int:
    with transaction.atomic():
        claimed = (
            Subscription.objects.filter(
                pk=subscription_id,
                status=SubscriptionStatus.ACTIVE,
                next_occurrence_date=run_date,
            )
            .filter(Q(reminded_for_date__isnull=True) | ~Q(reminded_for_date=run_date))
            .update(reminded_for_date=run_date)
        )
        if not claimed:
            return 0
        subscription = Subscription.objects.select_related("channel", "customer").get(
            pk=subscription_id
        )
        # Naive local time: templates would otherwise show it in the server's zone.
        run_at = subscription.next_run_at.astimezone(subscription_zone(subscription)).replace(
            tzinfo=None
        )
        subscription_email(
            subscription=subscription,
            template="subscription_reminder",
            extra={"run_date": run_date, "run_at": run_at},
        )
        subscription_event_record(
            subscription=subscription,
            type="reminded",
            actor="scheduler",
            message=f"Reminder sent for the run of {run_date}.",
            data={"occurrence_date": run_date.isoformat()},
        )
    return 1
