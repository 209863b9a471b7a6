"""E-mail templates render with Jinja2 as Django's template language rendered them: dates
formatted by Django's rules, nothing for what is missing, HTML escaped only in HTML parts."""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from oms_project.email_templates import _environment, email_render


def render(source: str, **context) -> str:
    return _environment().from_string(source).render(context)


def test_dates_and_times_format_as_djangos_filters_do():
    at = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    assert render('{{ d|date("l, j F Y") }}', d=date(2026, 12, 24)) == "Thursday, 24 December 2026"
    assert render("{{ d|date }}", d=date(2026, 12, 24)) == "Dec. 24, 2026"  # DATE_FORMAT
    with timezone.override("Asia/Tokyo"):  # aware datetimes in the current time zone
        shown = render('{{ at|date("j F Y") }} {{ at|time("H:i") }}', at=at)
    assert shown == "4 December 2026 08:30"
    assert render('[{{ nothing|date("j F Y") }}][{{ nothing|time }}]', nothing=None) == "[][]"


def test_what_is_missing_renders_as_nothing_and_compares_false():
    assert render("[{{ order.customer.first_name }}]") == "[]"
    assert render("{% if order.paid_total >= order.total %}paid{% else %}unpaid{% endif %}") == (
        "unpaid"
    )
    assert render('{{ name|default("there", true) }}', name="") == "there"


def test_amounts_print_as_stored():
    assert render("{{ amount }}", amount=Decimal("1234.50")) == "1234.50"


def test_html_parts_are_escaped_and_text_parts_are_not():
    context = {
        "brand_name": "A & B <shop>",
        "order": SimpleNamespace(number="W1", customer=SimpleNamespace(first_name="Jo")),
        "subject": "x",
        "body": "<b>",
    }
    assert "<b>" in email_render("emails/staff_alert.txt", context)
    html = email_render("emails/staff_alert.html", context)
    assert "&lt;b&gt;" in html and "A &amp; B &lt;shop&gt;" in html
