"""The accounting journal at the ends of the calendar: an empty day, never a 500."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from oms_project.models import OutboxEvent
from orders.accounting import SALE, accounting_journal, neighbouring_days

pytestmark = pytest.mark.django_db
URL = reverse("admin:orders_accountingjournal_changelist")


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Honolulu"])
@pytest.mark.parametrize("day", [date.min, date.max])
def test_journal_of_the_first_and_last_day_is_empty(settings, zone, day):
    settings.TIME_ZONE = zone
    OutboxEvent.objects.create(
        topic=SALE, reference="order:1", payload={"channel": "web", "currency": "USD",
                                                  "total": "1.00"},
    )
    assert accounting_journal(day=day) == []


def test_journal_of_an_ordinary_day_still_counts_its_events(settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"
    event = OutboxEvent.objects.create(
        topic=SALE, reference="order:1", payload={"channel": "web", "currency": "USD",
                                                  "total": "1.00"},
    )
    [row] = accounting_journal(day=timezone.localdate(event.created_at))
    assert (row["sales_count"], row["sales_total"]) == (1, "1.00")


def test_neighbouring_days_stop_at_the_ends_of_the_calendar():
    assert neighbouring_days(date.min) == (None, date(1, 1, 2))
    assert neighbouring_days(date.max) == (date(9999, 12, 30), None)
    assert neighbouring_days(date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 3, 2))


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_journal_api_answers_for_the_ends_of_the_calendar(make_client, day):
    client = make_client(scopes=["accounting:read"])
    response = client.get(f"/api/v1/accounting/journal/?date={day}")
    assert response.status_code == 200
    assert response.json() == {"date": day, "rows": []}


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_journal_page_for_the_ends_of_the_calendar_shows_an_empty_day(admin_client, day):
    response = admin_client.get(URL, {"date": day})
    assert response.status_code == 200
    assert "No sales, cancellations or refunds on this day." in response.content.decode()
