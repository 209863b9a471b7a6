"""Subscription admin: list with upcoming runs, buttons and actions, change page, forecast."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.subscription_models import Subscription, SubscriptionLine, SubscriptionOccurrence
from tests.orders.test_subscription_support import frozen, make_subscription, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 1, 20, 12)


@pytest.fixture
def subscription(shop):
    return make_subscription(
        shop, at=NOW, lines=[
            {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
            {"sku": "B", "quantity": 1, "unit_price": Decimal("3.00")},
        ],
    )


def test_changelist_shows_the_next_and_upcoming_runs_in_the_customer_zone(
    admin_client, subscription
):
    with frozen(NOW):
        response = admin_client.get(reverse("admin:orders_subscription_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "sam@example.com" in html
    assert "1 month at 09:00" in html
    assert "2026-01-31 09:00 <small>America/New_York</small>" in html
    assert "2026-02-28 09:00" in html
    assert "2026-04-30 09:00" in html
    assert reverse("admin:orders_subscription_forecast") in html


def test_changelist_filters_and_search(admin_client, shop, subscription):
    other = make_subscription(shop, at=NOW, customer={"email": "kim@example.com"})
    url = reverse("admin:orders_subscription_changelist")
    with frozen(NOW):
        assert "kim@example.com" not in admin_client.get(url + "?q=sam").content.decode()
        found = admin_client.get(url + f"?q={other.pk}").content.decode()
        assert "kim@example.com" in found and "sam@example.com" not in found
        paused = admin_client.get(url + "?status__exact=paused").content.decode()
        assert "sam@example.com" not in paused


def test_buttons_pause_resume_skip_and_cancel_through_the_services(admin_client, subscription):
    def press(action):
        url = reverse("admin:orders_subscription_object_action", args=[subscription.pk, action])
        with frozen(NOW):
            return admin_client.post(url, follow=True)

    with frozen(NOW):
        page = admin_client.get(
            reverse("admin:orders_subscription_change", args=[subscription.pk])
        ).content.decode()
    assert "Skip next run" in page and "Pause" in page and "Resume" not in page
    assert "Change quantities, address, shipping method or payment details" in page

    assert "paused." in press("pause").content.decode()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.pause_reason) == ("paused", "staff")
    press("resume")
    assert "next run skipped." in press("skip_next").content.decode()
    subscription.refresh_from_db()
    assert subscription.next_occurrence_date == date(2026, 2, 28)
    assert SubscriptionOccurrence.objects.get().status == "skipped"
    press("cancel")
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    response = press("pause")
    assert "does not apply" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"


def test_changelist_action_reports_each_subscription(admin_client, shop, subscription):
    other = make_subscription(shop, at=NOW, customer={"email": "kim@example.com"})
    with frozen(NOW):
        admin_client.post(
            reverse("admin:orders_subscription_object_action", args=[other.pk, "cancel"])
        )
        response = admin_client.post(
            reverse("admin:orders_subscription_changelist"),
            {"action": "pause_selected", "_selected_action": [subscription.pk, other.pk]},
            follow=True,
        )
    html = response.content.decode()
    assert f"Subscription {subscription.pk} (sam@example.com): paused" in html
    assert "is cancelled; it cannot become paused" in html
    assert list(Subscription.objects.order_by("pk").values_list("status", flat=True)) == [
        "paused", "cancelled"
    ]


def test_change_contents_page_changes_quantities_and_address(admin_client, subscription):
    url = reverse("admin:orders_subscription_change_contents", args=[subscription.pk])
    with frozen(NOW):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert 'name="quantity_A" value="2"' in page.content.decode()
        response = admin_client.post(url, {
            "quantity_A": "4", "quantity_B": "0", "shipping_method": "ground",
            "line1": "9 Oak Ave", "city": "Sparks", "country": "us", "postal_code": "89431",
        })
    assert response.status_code == 302
    assert list(SubscriptionLine.objects.values_list("sku", "quantity")) == [("A", 4)]
    subscription.refresh_from_db()
    assert subscription.shipping_address == {
        "line1": "9 Oak Ave", "city": "Sparks", "country": "US", "postal_code": "89431"
    }


def test_change_contents_page_refuses_bad_input_and_changes_nothing(admin_client, subscription):
    url = reverse("admin:orders_subscription_change_contents", args=[subscription.pk])
    before = subscription.shipping_address
    with frozen(NOW):
        response = admin_client.post(url, {
            "quantity_A": "0", "quantity_B": "0", "line1": "9 Oak Ave", "city": "Sparks",
            "country": "US",
        })
        assert "keeps at least one line" in response.content.decode()
        response = admin_client.post(url, {
            "quantity_A": "1", "quantity_B": "1", "line1": "9 Oak Ave", "city": "Sparks",
            "country": "XX",
        })
        assert "&#x27;XX&#x27; is not an ISO 3166-1 country code." in response.content.decode()
    assert list(SubscriptionLine.objects.order_by("pk").values_list("quantity", flat=True)) == [
        2, 1
    ]
    subscription.refresh_from_db()
    assert subscription.shipping_address == before


def test_forecast_page_lists_expected_units_per_sku(admin_client, subscription):
    with frozen(NOW):
        response = admin_client.get(reverse("admin:orders_subscription_forecast"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<tr><td>A</td><td>Product A</td><td>2</td></tr>" in html
    assert "<tr><td>B</td><td>Product B</td><td>1</td></tr>" in html


def add_form(shop, **overrides) -> dict:
    data = {
        "channel": shop["channel"].pk,
        "customer_email": "Sam@Example.com",
        "customer_first_name": "Sam",
        "shipping_method": "ground",
        "ship_line1": "1 Main St",
        "ship_city": "Reno",
        "ship_postal_code": "89501",
        "ship_country": "US",
        "currency": "USD",
        "lines": "A, 2, 10.00\nB, 1, 3.00",
        "shipping_total": "4.00",
        "tax_total": "0.00",
        "payment_method": "card",
        "payment_reference": "tok_123",
        "interval_unit": "month",
        "interval_count": "1",
        "anchor_day": "",
        "time_zone": "Europe/Berlin",
        "local_time": "09:00",
        "start_date": "2026-02-01",
        "end_date": "",
        "max_orders": "6",
    }
    data.update(overrides)
    return data


def test_staff_add_a_subscription_through_the_service(admin_client, admin_user, shop):
    url = reverse("admin:orders_subscription_add")
    assert admin_client.get(url).status_code == 200
    with frozen(NOW):
        response = admin_client.post(url, add_form(shop))
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:orders_subscription_change", args=[subscription.pk]
    )
    assert (subscription.email, subscription.status, subscription.max_orders) == (
        "sam@example.com", "active", 6
    )
    assert str(subscription.next_occurrence_date) == "2026-02-01"
    assert subscription.shipping_address["city"] == "Reno"
    assert sorted(subscription.lines.values_list("sku", "quantity")) == [("A", 2), ("B", 1)]
    assert subscription.events.get().actor == f"user:{admin_user.username}"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone"),
        ({"lines": "ZZZ, 1, 5.00"}, "lines", "Unknown SKU 'ZZZ'"),
        (
            {"lines": "A, 1, 5.00, 1.00"},
            "lines",
            "give SKU, quantity, unit price, separated by commas; write decimals with a dot",
        ),
        ({"end_date": "2026-01-01"}, "end_date", "before the start date"),
        ({"anchor_day": "40"}, "anchor_day", ""),
        ({"ship_city": ""}, "ship_city", "required"),
        ({"start_date": "soon"}, "start_date", "valid date"),
        ({"start_date": "9999-12-31"}, "start_date", "Give a start date between"),
        ({"end_date": "9999-12-31"}, "end_date", "Give an end date no later than"),
    ],
)
def test_bad_subscription_input_is_shown_and_writes_nothing(
    admin_client, shop, overrides, field, message
):
    with frozen(NOW):
        response = admin_client.post(
            reverse("admin:orders_subscription_add"), add_form(shop, **overrides)
        )
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field) or []
    assert errors, response.context["form"].errors
    assert message in " ".join(errors)
    assert not Subscription.objects.exists()


def test_subscriptions_cannot_be_deleted_in_the_admin(admin_client, subscription):
    delete = reverse("admin:orders_subscription_delete", args=[subscription.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Subscription.objects.count() == 1


def test_channel_page_sets_the_reminder_lead_days(admin_client, shop):
    url = reverse("admin:orders_saleschannel_change", args=[shop["channel"].pk])
    assert 'name="subscription_reminder_days"' in admin_client.get(url).content.decode()
