"""Backorder dates that no longer hold: a late purchase order gives no date, a date that
passed or was withdrawn is announced once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory.purchasing.services import PurchaseItem, purchase_order_create
from oms_project.models import EmailMessage
from orders.models import CustomerNotice
from orders.replenishment import (
    purchase_order_cancel_and_redate,
    purchase_order_reschedule,
    purchase_order_send_and_date,
)
from orders.services.backorder_dates import backorder_dates_refresh
from orders.services.customer_notices import delay_notices_send
from tests.orders.test_backorder_dates import backordered, line_of, sent_order

pytestmark = pytest.mark.django_db


def customer_delay_emails(order):
    return list(
        EmailMessage.objects.filter(
            reference=f"order:{order.number}", template__in=["backorder_delay", "delay_notice"]
        )
    )


def test_cancelled_purchase_order_tells_the_customer_the_date_is_withdrawn(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10)
    assert len(customer_delay_emails(order)) == 1  # "expected on <date>"

    purchase_order_cancel_and_redate(purchase_order=purchase_order, actor="test")
    backorder_dates_refresh(actor="test")
    delay_notices_send()

    assert line_of(order).backorder_expected_date is None
    emails = customer_delay_emails(order)
    assert len(emails) == 2, "the customer still believes the date of a cancelled purchase order"
    assert "will not come as planned" in emails[0].body_text
    assert purchase_order.expected_date.strftime("%-d %B %Y") in emails[0].body_text


def test_late_purchase_order_gives_new_backorders_no_past_date(shop):
    purchase_order = sent_order(shop, 10, days=3)
    with time_machine.travel(timezone.now() + timedelta(days=6), tick=False):
        order = backordered(shop, "NEW", 2, days_ago=0)
        backorder_dates_refresh(actor="test")
        today = timezone.localdate()
        line = line_of(order)
        assert purchase_order.expected_date < today  # the supplier is late
        assert customer_delay_emails(order) == []
        assert line.backorder_expected_date is None, (
            f"told {line.backorder_expected_date} on {today}"
        )
        assert line.backorder_purchase_order_id == purchase_order.pk  # still coming
        # The customer gets the undated notice once the line has waited long enough.
        delay_notices_send(now=timezone.now() + timedelta(hours=49))
    [email] = customer_delay_emails(order)
    assert email.template == "delay_notice"


def test_a_given_date_that_passed_is_announced_as_lapsed_once(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10, days=3)
    promised = purchase_order.expected_date
    with time_machine.travel(timezone.now() + timedelta(days=6), tick=False):
        backorder_dates_refresh(actor="test")
        backorder_dates_refresh(actor="test")
        delay_notices_send()
        line = line_of(order)
        assert (line.backorder_purchase_order_id, line.backorder_expected_date) == (
            purchase_order.pk, None
        )
        lapsed, dated = customer_delay_emails(order)  # newest first
        assert lapsed.template == "backorder_delay"
        assert "no longer holds" in lapsed.body_text
        assert "is late" in lapsed.body_text
        assert promised.strftime("%-d %B %Y") in lapsed.body_text
        assert "delivery date update" in lapsed.subject
        assert CustomerNotice.objects.filter(
            order=order, key=f"backorder_date_lapsed:{line.pk}:{promised.isoformat()}"
        ).exists()

        later = timezone.localdate() + timedelta(days=4)
        purchase_order_reschedule(purchase_order=purchase_order, expected_date=later, actor="t")
        emails = customer_delay_emails(order)
        assert len(emails) == 3
        assert later.strftime("%-d %B %Y") in emails[0].body_text
        assert line_of(order).backorder_expected_date == later


def test_cancelled_purchase_order_replaced_by_another_tells_only_the_new_date(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    first = sent_order(shop, 10, days=5)
    second = purchase_order_send_and_date(
        purchase_order=purchase_order_create(
            supplier=first.supplier, warehouse=shop["west"],
            items=[PurchaseItem(product=shop["products"]["A"], quantity=10, unit_cost=2)],
            expected_date=timezone.localdate() + timedelta(days=20),
        ),
        actor="test",
    )

    purchase_order_cancel_and_redate(purchase_order=first, actor="test")
    delay_notices_send()

    assert line_of(order).backorder_expected_date == second.expected_date
    newest, first_date = customer_delay_emails(order)
    assert second.expected_date.strftime("%-d %B %Y") in newest.body_text
    assert "no longer holds" not in newest.body_text


def test_withdrawn_date_is_told_only_to_customers_who_were_given_it(shop):
    order = backordered(shop, "OLD", 2, days_ago=2)
    purchase_order = sent_order(shop, 10)
    line = line_of(order)
    CustomerNotice.objects.filter(order=order, key__startswith="backorder_date:").delete()

    purchase_order_cancel_and_redate(purchase_order=purchase_order, actor="test")

    assert len(customer_delay_emails(order)) == 1  # the first date only
    assert not CustomerNotice.objects.filter(
        order=order, key__startswith=f"backorder_date_lapsed:{line.pk}:"
    ).exists()
