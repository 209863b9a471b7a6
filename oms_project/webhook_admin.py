"""Admin for webhook subscriptions and deliveries with their attempt log and redelivery.

Loaded from the end of `oms_project/admin.py`. Subscriptions are created and changed through
`oms_project.webhooks` (the URL is checked there); a generated secret is shown once.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from oms_project.admin import (
    ObjectActionsMixin,
    ViewOnlyMixin,
    object_action,
    run_for_each,
    take_saved,
)
from oms_project.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms_project.webhooks import (
    webhook_redeliver,
    webhook_subscription_create,
    webhook_subscription_errors,
    webhook_subscription_update,
)

INACTIVE_HELP = (
    "Unticked, the subscription receives nothing: deliveries still waiting for a retry fail "
    "at their next attempt, and events emitted meanwhile are never sent to it, not even once "
    "it is active again (redeliver those from Webhook deliveries if needed)."
)


class SubscriptionForm(forms.ModelForm):
    url = forms.CharField(max_length=500, help_text="An http:// or https:// address.")
    events = forms.CharField(
        help_text="Comma-separated topics: order.created, order.*, refund.*, or * for all."
    )
    secret = forms.CharField(
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret (or to have one made for a new "
        "subscription).",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "secret", "is_active"]
        help_texts = {"is_active": INACTIVE_HELP}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["events"] = ", ".join(self.instance.events or [])

    def clean_events(self):
        return [topic.strip() for topic in self.cleaned_data["events"].split(",") if topic.strip()]

    def clean(self):
        cleaned = super().clean()
        checked = {key: cleaned[key] for key in ("url", "events", "secret") if key in cleaned}
        for field, problems in webhook_subscription_errors(checked).items():
            for problem in problems:
                self.add_error(field, problem)
        return cleaned

    def _post_clean(self):
        # The service saves; the model form must not copy an empty secret onto the instance.
        pass


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = [
        "number", "started_at", "duration_ms", "response_code", "outcome", "error",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "topic_list", "is_active", "created_at", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    @admin.display(description="events")
    def topic_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.events or [])

    def save_model(self, request, obj, form, change) -> None:
        data = {field: form.cleaned_data[field] for field in ("name", "url", "events", "is_active")}
        secret = form.cleaned_data.get("secret") or ""
        if change:
            if secret:
                data["secret"] = secret
            saved = webhook_subscription_update(
                subscription=WebhookSubscription.objects.get(pk=obj.pk), **data
            )
        else:
            saved = webhook_subscription_create(secret=secret, **data)
        take_saved(obj, saved)
        form.instance = saved
        if not change and not secret:
            self.message_user(
                request,
                format_html(
                    "Signing secret (copy it now, it is not shown again): <code>{}</code>",
                    saved.secret,
                ),
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ObjectActionsMixin, ViewOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at", "topic", "subscription", "status", "attempts", "last_response_code",
        "next_attempt_at", "completed_at",
    ]
    list_filter = ["status", "subscription"]
    list_select_related = ["event", "subscription"]
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["redeliver_selected"]
    object_actions = ("redeliver",)
    fields = [
        "subscription", "event_link", "status", "attempts", "next_attempt_at",
        "last_response_code", "last_error", "created_at", "completed_at",
    ]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only fields; the permission lets the Redeliver button show.
        return request.user.has_perm("oms_project.change_webhookdelivery")

    @admin.display(description="topic")
    def topic(self, delivery: WebhookDelivery) -> str:
        return delivery.event.topic

    @admin.display(description="event")
    def event_link(self, delivery: WebhookDelivery) -> str:
        from django.urls import reverse

        url = reverse("admin:oms_project_outboxevent_change", args=[delivery.event_id])
        return format_html(
            "<a href='{}'>{} {}</a>", url, delivery.event.topic, delivery.event.event_id
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _redeliver(self, request, deliveries) -> None:
        def redeliver(delivery: WebhookDelivery) -> str:
            webhook_redeliver(delivery=delivery)
            return "queued for delivery again."

        run_for_each(self, request, deliveries, redeliver)

    @admin.action(description="Redeliver selected", permissions=["change"])
    def redeliver_selected(self, request, queryset) -> None:
        self._redeliver(request, queryset.order_by("pk"))

    @object_action(label="Redeliver")
    def redeliver(self, request, delivery: WebhookDelivery) -> None:
        self._redeliver(request, [delivery])
