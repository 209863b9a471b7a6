"""The operations dashboard on the admin index: today's orders and what needs attention.

Every number is one indexed query, and counts of open problems stop at `COUNT_LIMIT` so the
index page stays fast on big tables.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django import template
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockLevel
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Order
from orders.states import OrderStatus

register = template.Library()

COUNT_LIMIT = 999
OUTBOX_GRACE = timedelta(minutes=5)


def _bounded_count(queryset) -> str:
    count = queryset.order_by()[: COUNT_LIMIT + 1].count()
    return f"{COUNT_LIMIT}+" if count > COUNT_LIMIT else str(count)


def _orders_today(start) -> list[dict]:
    counts = dict(
        Order.objects.filter(placed_at__gte=start)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    url = reverse("admin:orders_order_changelist")
    return [
        {
            "label": label,
            "count": counts.get(value, 0),
            "url": f"{url}?{urlencode({'status__exact': value, 'placed_at__gte': str(start)})}",
        }
        for value, label in OrderStatus.choices
        if counts.get(value)
    ]


def _attention(user, now) -> list[dict]:
    rows = []
    if user.has_perm("orders.view_order"):
        url = reverse("admin:orders_order_changelist")
        for status in (OrderStatus.ON_HOLD, OrderStatus.BACKORDERED):
            rows.append({
                "label": f"Orders {status.label.lower()}",
                "count": _bounded_count(Order.objects.filter(status=status)),
                "url": f"{url}?status__exact={status.value}",
            })
    if user.has_perm("inventory.view_stocklevel"):
        low = StockLevel.objects.alias(
            free=F("on_hand") - F("allocated") - F("safety_stock")
        ).filter(reorder_point__gt=0, free__lte=F("reorder_point"))
        rows.append({
            "label": "Stock levels at or below reorder point",
            "count": _bounded_count(low),
            "url": reverse("admin:inventory_stocklevel_changelist") + "?stock=reorder",
        })
    if user.has_perm("oms_project.view_emailmessage"):
        failed = EmailMessage.objects.filter(
            created_at__gte=now - timedelta(days=1), status=EmailMessage.Status.FAILED
        )
        rows.append({
            "label": "E-mails failed in the last 24 hours",
            "count": _bounded_count(failed),
            "url": reverse("admin:oms_project_emailmessage_changelist") + "?status__exact=failed",
        })
    if user.has_perm("oms_project.view_outboxevent"):
        stuck = OutboxEvent.objects.filter(
            dispatched_at__isnull=True, created_at__lt=now - OUTBOX_GRACE
        )
        rows.append({
            "label": "Outbox events waiting over 5 minutes",
            "count": _bounded_count(stuck),
            "url": reverse("admin:oms_project_outboxevent_changelist") + "?dispatch=pending",
        })
    return rows


@register.inclusion_tag("admin/oms_dashboard.html", takes_context=True)
def oms_dashboard(context) -> dict:
    """Render today's orders by status and the counts of things that need an operator."""
    user = context["request"].user
    now = timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "orders_today": _orders_today(start) if user.has_perm("orders.view_order") else None,
        "attention": _attention(user, now),
    }
