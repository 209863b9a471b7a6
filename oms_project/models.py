"""Cross-cutting records: the timeline events every audited record shares, the e-mail log, the
outbox of events, webhook subscriptions and their deliveries."""

import uuid

from django.db import models


class TimelineEvent(models.Model):
    """One step in a record's audit trail (orders, returns, purchase orders): a transition,
    a note or a decision, who did it and the figures it is about. Each concrete timeline adds
    the foreign key to its record and an index on (record, id)."""

    type = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    actor = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.from_status}->{self.to_status}"

    @classmethod
    def record(
        cls,
        *,
        type: str,
        actor: str,
        message: str = "",
        from_status: str = "",
        to_status: str = "",
        data: dict | None = None,
        **subject,
    ):
        """Append an event to `subject`'s timeline (call inside the business transaction);
        `subject` names the record, e.g. `order=order`."""
        return cls.objects.create(
            type=type,
            actor=actor[:150],
            message=message,
            from_status=from_status,
            to_status=to_status,
            data=data or {},
            **subject,
        )


class EmailMessage(models.Model):
    """Every e-mail the OMS sends to a customer, supplier or staff member, as rendered."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        WITHHELD = "withheld", "Withheld"

    to = models.EmailField()
    template = models.CharField(max_length=100)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list, blank=True,
        help_text="Files sent with the e-mail: [{filename, content, mimetype}] (text content).",
    )
    reference = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="What it is about, e.g. order:W1001"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When a send batch took it (status sending); a stale claim means the worker "
        "died and the sweep queues it again.",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The send tasks' batches and the sweep look for queued e-mails, oldest first.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="queued"),
                name="email_queued_idx",
            ),
            # The sweep looks for claims a dead worker left behind.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="email_sending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.status})"


class OutboxEvent(models.Model):
    """An event for other systems, written in the same transaction as the change it reports."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(max_length=60, db_index=True)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"


class WebhookSubscription(models.Model):
    """Where another system wants events POSTed, signed with its secret.

    `events` lists topics (`order.shipped`), prefixes with a wildcard (`order.*`) or `*`.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=128)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def wants(self, topic: str) -> bool:
        for pattern in self.events or []:
            if pattern == "*" or pattern == topic:
                return True
            if pattern.endswith(".*") and topic.startswith(pattern[:-1]):
                return True
        return False


class WebhookDelivery(models.Model):
    """One event for one subscription: retried with backoff until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the attempt in flight was claimed (its lease runs to `next_attempt_at`); empty
    # between attempts.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["subscription", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event.topic} to {self.subscription.name} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as it went: status code, body excerpt, duration."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["delivery", "number"])]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.response_code or self.error}"
