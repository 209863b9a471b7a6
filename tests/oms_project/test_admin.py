"""Admin for the e-mail log and the outbox, and the branded admin pages."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from inventory.services import stock_receive
from oms_project.models import EmailMessage, OutboxEvent
from oms_project.templatetags import oms_dashboard
from orders.models import Order
from orders.states import OrderStatus
from tests.factories import OrderFactory, ProductFactory, StockLevelFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def email():
    return EmailMessage.objects.create(
        to="ada@example.com",
        template="order_confirmation",
        subject="Your order W1001",
        body_text="Thanks for order W1001",
        body_html='<p>Thanks</p><script>alert("x")</script>',
        reference="order:W1001",
        status=EmailMessage.Status.SENT,
        attempts=1,
    )


@pytest.fixture
def outbox_event():
    return OutboxEvent.objects.create(
        topic="order.created", reference="order:W1001", payload={"number": "W1001"}
    )


def test_email_pages_render_and_show_the_body_safely(admin_client, email):
    assert admin_client.get(admin_url(EmailMessage, "changelist")).status_code == 200
    response = admin_client.get(admin_url(EmailMessage, "change", email.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Thanks for order W1001" in content
    assert 'sandbox="" srcdoc="&lt;p&gt;Thanks&lt;/p&gt;&lt;script&gt;' in content
    assert '<script>alert("x")</script>' not in content
    assert 'name="_save"' not in content


def test_outbox_pages_render_and_are_read_only(admin_client, outbox_event):
    assert admin_client.get(admin_url(OutboxEvent, "changelist")).status_code == 200
    response = admin_client.get(admin_url(OutboxEvent, "change", outbox_event.pk))
    assert response.status_code == 200
    assert b"order.created" in response.content
    assert admin_client.get(admin_url(OutboxEvent, "add")).status_code == 403
    deleted = admin_client.post(admin_url(OutboxEvent, "delete", outbox_event.pk), {"post": "yes"})
    assert deleted.status_code == 403
    assert OutboxEvent.objects.filter(pk=outbox_event.pk).exists()


def test_emails_cannot_be_added_or_edited(admin_client, email):
    assert admin_client.get(admin_url(EmailMessage, "add")).status_code == 403
    admin_client.post(admin_url(EmailMessage, "change", email.pk), {"to": "eve@example.com"})
    email.refresh_from_db()
    assert email.to == "ada@example.com"


@pytest.mark.parametrize("term", ["ada@example.com", "ADA@example.com", "order:W1001"])
def test_email_search_matches_recipient_or_reference(admin_client, email, term):
    EmailMessage.objects.create(to="bob@example.com", template="x", subject="x", body_text="x")
    response = admin_client.get(admin_url(EmailMessage, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [email]


@pytest.mark.parametrize("term", ["order.created", "order:W1001"])
def test_outbox_search_matches_topic_reference_and_event_id(admin_client, outbox_event, term):
    OutboxEvent.objects.create(topic="stock.changed", reference="sku:A")
    for query in (term, str(outbox_event.event_id)):
        response = admin_client.get(admin_url(OutboxEvent, "changelist"), {"q": query})
        assert list(response.context["cl"].result_list) == [outbox_event]


def test_resend_action_sends_the_logged_email_again(admin_client, email):
    response = admin_client.post(
        admin_url(EmailMessage, "changelist"),
        {"action": "resend_selected", "_selected_action": [email.pk]},
    )

    assert response.status_code == 302
    assert message_texts(response) == [f"{email}: sent again to ada@example.com."]
    assert [sent.subject for sent in mail.outbox] == ["Your order W1001"]
    assert mail.outbox[0].to == ["ada@example.com"]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailMessage.Status.SENT, 2)


def test_resend_button_on_the_email_page(admin_client, email):
    url = reverse("admin:oms_project_emailmessage_object_action", args=[email.pk, "resend"])
    assert url.encode() in admin_client.get(admin_url(EmailMessage, "change", email.pk)).content

    response = admin_client.post(url)

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_resend_reports_a_refusing_mail_server(admin_client, email, settings):
    settings.EMAIL_BACKEND = "tests.oms_project.test_admin.RefusingBackend"

    response = admin_client.post(
        admin_url(EmailMessage, "changelist"),
        {"action": "resend_selected", "_selected_action": [email.pk]},
    )

    assert response.status_code == 302
    assert message_texts(response) == [f"{email}: not sent: mail server said no"]


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server said no")


def test_admin_pages_carry_the_brand(admin_client):
    response = admin_client.get(reverse("admin:index"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "OMS operations" in content
    assert 'class="oms-brand-mark"' in content
    assert "--header-bg: #163a5c" in content


def test_dashboard_shows_todays_orders_and_what_needs_attention(
    admin_client, django_assert_max_num_queries
):
    OrderFactory(status=OrderStatus.PROCESSING)
    OrderFactory(status=OrderStatus.PROCESSING)
    OrderFactory(status=OrderStatus.ON_HOLD)
    OrderFactory(status=OrderStatus.ON_HOLD, placed_at=timezone.now() - timedelta(days=3))
    level = StockLevelFactory(
        product=ProductFactory(sku="LOW"), warehouse=WarehouseFactory(code="RENO"), reorder_point=5
    )
    stock_receive(product=level.product, warehouse=level.warehouse, quantity=3)
    StockLevelFactory(product=ProductFactory(sku="PLENTY"), warehouse=level.warehouse)
    admin_client.get(reverse("admin:index"))

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:index"))

    content = response.content.decode()
    today = {row["label"]: row["count"] for row in response.context["orders_today"]}
    assert today == {"Processing": 2, "On hold": 1}
    attention = {row["label"]: row["count"] for row in response.context["attention"]}
    assert attention == {
        "Orders on hold": "2",
        "Orders backordered": "0",
        "Stock levels at or below reorder point": "1",
        "E-mails failed in the last 24 hours": "0",
        "Outbox events waiting over 5 minutes": "0",
    }
    assert "Orders placed today" in content


def test_dashboard_counts_stop_at_the_limit(monkeypatch):
    monkeypatch.setattr(oms_dashboard, "COUNT_LIMIT", 2)
    for _ in range(3):
        OrderFactory(status=OrderStatus.ON_HOLD)
    on_hold = Order.objects.filter(status=OrderStatus.ON_HOLD)
    assert oms_dashboard._bounded_count(on_hold) == "2+"
    assert oms_dashboard._bounded_count(Order.objects.filter(status=OrderStatus.SHIPPED)) == "0"
