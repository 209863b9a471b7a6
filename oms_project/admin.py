"""Admin building blocks shared by every app, and the e-mail log and outbox admin.

The pieces here keep every changelist cheap on big tables and every change going through a
service: `IndexedSearchMixin` searches with exact or prefix matches only, `ViewOnlyMixin`
marks ledgers and logs as read-only, `ObjectActionsMixin` puts service-calling buttons on a
change page, and `run_for_each` reports a service's result per object with `message_user`.
"""

import contextlib
import json
import uuid
from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from oms_project.errors import OmsError
from oms_project.models import EmailMessage, OutboxEvent
from oms_project.notifications import email_send

# --- Shared building blocks -----------------------------------------------------------------


class IndexedSearchMixin:
    """Search with conditions an index can answer instead of `icontains` over every column.

    Subclasses set `search_fields` (shown as the help text and enabling the search box) and
    override `search_condition(term)` to return a `Q` of exact or prefix matches.
    """

    def search_condition(self, term: str) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_condition(term)), False


class ViewOnlyMixin:
    """Records written only by services (ledgers, logs): nobody adds, edits or deletes them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows related rows (audit trails, lines, payments)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LimitedInlineFormSet(BaseInlineFormSet):
    """An inline formset showing only the first `limit` related rows (set by the inline)."""

    limit = 20

    def get_queryset(self):
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.limit]
        return self._limited_queryset


def object_action(*, label: str, is_visible: Callable[[object], bool] | None = None):
    """Mark a `ModelAdmin` method `(request, obj)` as a button on the object's change page.

    List the method's name in the admin's `object_actions`; it is called on POST only, by a
    user with change permission, and should call one service and report with `message_user`.
    """

    def decorate(method):
        method.object_action_label = label
        method.object_action_is_visible = is_visible or (lambda obj: True)
        return method

    return decorate


class ObjectActionsMixin:
    """Render `object_actions` as POST buttons above the change form and route them."""

    object_actions: tuple[str, ...] = ()
    change_form_template = "admin/change_form_with_actions.html"
    # False where every field is read-only and changes are the buttons: no "Save" buttons.
    show_save_buttons = True

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_object_action"
        own = [
            path(
                "<path:object_id>/run/<str:action_name>/",
                self.admin_site.admin_view(self.object_action_view),
                name=name,
            )
        ]
        return own + super().get_urls()

    def object_action_view(self, request, object_id: str, action_name: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action_name not in self.object_actions:
            raise Http404(f"No action named {action_name!r}.")
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such object.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        method = getattr(self, action_name)
        if method.object_action_is_visible(obj):
            method(request, obj)
        else:
            self.message_user(
                request, f"“{method.object_action_label}” does not apply to {obj}.", messages.ERROR
            )
        return redirect(self.object_change_url(obj))

    def object_change_url(self, obj) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[obj.pk],
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if not self.show_save_buttons:
            extra_context = {
                **(extra_context or {}),
                "show_save": False,
                "show_save_and_continue": False,
                "show_save_and_add_another": False,
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_object_links(self, request, obj) -> list[tuple[str, str]]:
        """Extra (label, url) links shown with the buttons; override to add some."""
        return []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["object_action_buttons"] = self._object_action_buttons(obj)
            context["object_action_links"] = self.get_object_links(request, obj)
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    def _object_action_buttons(self, obj) -> list[dict]:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_object_action"
        buttons = []
        for action_name in self.object_actions:
            method = getattr(self, action_name)
            if method.object_action_is_visible(obj):
                url = reverse(name, args=[obj.pk, action_name])
                buttons.append({"label": method.object_action_label, "url": url})
        return buttons


def run_for_each(
    model_admin: admin.ModelAdmin,
    request,
    objects: Iterable,
    call: Callable[[object], str],
) -> None:
    """Call `call(obj)` (one service call) per object and report each result or error."""
    for obj in objects:
        try:
            outcome = call(obj)
        except OmsError as error:
            model_admin.message_user(request, f"{obj}: {error.detail}", messages.ERROR)
        else:
            model_admin.message_user(request, f"{obj}: {outcome}", messages.SUCCESS)


def form_page(
    model_admin: admin.ModelAdmin,
    request,
    *,
    form,
    title: str,
    submit_label: str,
    intro: str = "",
    table: dict | None = None,
    original=None,
):
    """Render the admin page of a form that calls one service.

    The page shows `intro`, an optional `table` ({"head": [...], "rows": [[...], ...]}) of
    what the form acts on, and the form: in the groups of its `groups()` method when it has
    one ([(heading, [bound fields])]), else in one block. `original` is the object the form
    changes (linked in the breadcrumbs and the target of Cancel).
    """
    changelist_url = reverse(
        f"{model_admin.admin_site.name}:{model_admin.opts.app_label}_"
        f"{model_admin.opts.model_name}_changelist"
    )
    original_url = ""
    if original is not None:
        original_url = reverse(
            f"{model_admin.admin_site.name}:{model_admin.opts.app_label}_"
            f"{model_admin.opts.model_name}_change",
            args=[original.pk],
        )
    groups = getattr(form, "groups", None)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "form": form,
        "fieldsets": groups() if callable(groups) else [(None, list(form))],
        "intro": intro,
        "table": table,
        "submit_label": submit_label,
        "original": original,
        "original_url": original_url,
        "changelist_url": changelist_url,
        "cancel_url": original_url or changelist_url,
    }
    return TemplateResponse(request, "admin/oms/form_page.html", context)


def take_saved(obj, saved) -> None:
    """Give the admin's `obj` what a service saved (`saved`, a row of the same model): the
    admin's messages and its history name `obj`, which the service did not write to."""
    for field in type(saved)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


def pretty_json(value) -> str:
    """Render a JSON value as an indented, escaped block."""
    if value in (None, {}, []):
        return "—"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="oms-json">{}</pre>', text)


class DispatchStateFilter(admin.SimpleListFilter):
    """Pending or dispatched, answered by the partial index on undispatched rows."""

    title = "dispatch"
    parameter_name = "dispatch"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("dispatched", "Dispatched")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(dispatched_at__isnull=True)
        if self.value() == "dispatched":
            return queryset.filter(dispatched_at__isnull=False)
        return queryset


# --- E-mail log and outbox ------------------------------------------------------------------


@admin.register(EmailMessage)
class EmailMessageAdmin(ObjectActionsMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["created_at", "to", "template", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["to", "reference"]
    search_help_text = "Exact recipient address or reference (e.g. order:W1001)."
    show_full_result_count = False
    actions = ["resend_selected"]
    object_actions = ("resend",)
    show_save_buttons = False
    fieldsets = [
        (None, {"fields": ["to", "subject", "template", "reference"]}),
        ("Delivery", {"fields": ["status", "attempts", "created_at", "sent_at", "error"]}),
        ("Content", {"fields": ["text_body", "html_body"]}),
    ]
    readonly_fields = [
        "to", "subject", "template", "reference", "status", "attempts", "created_at", "sent_at",
        "error", "text_body", "html_body",
    ]

    def search_condition(self, term: str) -> Q:
        return Q(to__in={term, term.lower()}) | Q(reference=term)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="text")
    def text_body(self, message: EmailMessage) -> str:
        return format_html('<pre class="oms-email-text">{}</pre>', message.body_text)

    @admin.display(description="HTML")
    def html_body(self, message: EmailMessage) -> str:
        if not message.body_html:
            return "—"
        # Sandboxed: the e-mail's markup is shown, its scripts and links never run.
        return format_html(
            '<iframe class="oms-email-html" sandbox="" srcdoc="{}" title="E-mail preview">'
            "</iframe>",
            message.body_html,
        )

    def _resend(self, request, objects) -> None:
        def send(message: EmailMessage) -> str:
            try:
                email_send(message_pk=message.pk, resend=True)
            except OmsError:
                raise
            except Exception as error:  # the mail server's refusal, reported to the operator
                raise OmsError(f"not sent: {error}") from error
            return f"sent again to {message.to}."

        run_for_each(self, request, objects, send)

    @admin.action(description="Resend selected e-mails", permissions=["change"])
    def resend_selected(self, request, queryset) -> None:
        self._resend(request, queryset.order_by("pk"))

    @object_action(label="Resend")
    def resend(self, request, message: EmailMessage) -> None:
        self._resend(request, [message])


@admin.register(OutboxEvent)
class OutboxEventAdmin(ViewOnlyMixin, IndexedSearchMixin, admin.ModelAdmin):
    list_display = ["created_at", "topic", "reference", "event_id", "dispatched_at", "attempts"]
    list_filter = [DispatchStateFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["event_id", "topic", "reference"]
    search_help_text = "Exact event id, topic or reference."
    show_full_result_count = False
    fields = [
        "event_id", "topic", "reference", "created_at", "dispatched_at", "attempts",
        "payload_formatted",
    ]
    readonly_fields = fields

    def search_condition(self, term: str) -> Q:
        condition = Q(topic=term) | Q(reference=term)
        with contextlib.suppress(ValueError):
            condition |= Q(event_id=uuid.UUID(term))
        return condition

    @admin.display(description="payload")
    def payload_formatted(self, event: OutboxEvent) -> str:
        return pretty_json(event.payload)

from oms_project import webhook_admin  # noqa: E402,F401
