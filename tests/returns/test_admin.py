"""Returns admin: list with filters and bulk approve, the return page and its form pages,
staff opening a return, and the order page's returns."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from oms_project.models import EmailMessage
from returns.models import Refund, ReturnRequest
from returns.services import return_approve, return_create
from tests.returns.conftest import deliver_order, lines_by_sku

pytestmark = pytest.mark.django_db


def open_return(order, reason="defective", **quantities) -> ReturnRequest:
    lines = lines_by_sku(order)
    return return_create(
        order=order, actor="test",
        lines=[{"line_id": lines[sku].pk, "quantity": units, "reason": reason}
               for sku, units in quantities.items()],
    )


def change_url(return_request) -> str:
    return reverse("admin:returns_returnrequest_change", args=[return_request.pk])


def test_list_filters_render_and_select(admin_client, delivered):
    sized = open_return(delivered, reason="size_or_fit", A=1)
    broken = open_return(delivered, reason="defective", B=1)
    url = reverse("admin:returns_returnrequest_changelist")
    for query in ("", "?status__exact=requested", "?reason=defective",
                  f"?channel__id__exact={delivered.channel_id}",
                  f"?q={sized.number}", f"?q={delivered.number}"):
        assert admin_client.get(url + query).status_code == 200, query
    page = admin_client.get(url + "?reason=defective").content.decode()
    assert broken.number in page and sized.number not in page
    page = admin_client.get(url + f"?q={sized.number}").content.decode()
    assert sized.number in page and broken.number not in page


def test_bulk_approve_reports_each_return(admin_client, delivered):
    first = open_return(delivered, A=1)
    second = open_return(delivered, B=1)
    return_approve(return_request=second, actor="test")
    response = admin_client.post(
        reverse("admin:returns_returnrequest_changelist"),
        {"action": "approve_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert f"{first.number}: approved" in text
    assert f"{second.number}: Return {second.number} cannot go from approved to approved" in text
    assert ReturnRequest.objects.get(pk=first.pk).status == "approved"
    assert EmailMessage.objects.filter(template="return_approved").count() == 2


def test_return_page_shows_lines_timeline_and_buttons(admin_client, delivered):
    return_request = open_return(delivered, A=1)
    page = admin_client.get(change_url(return_request)).content.decode()
    assert "Approve" in page and "Reject…" in page
    assert "timeline" in page.lower()
    assert "not returned" in page

    approve = reverse(
        "admin:returns_returnrequest_object_action", args=[return_request.pk, "approve"]
    )
    assert admin_client.post(approve).status_code == 302
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "approved"
    page = admin_client.get(change_url(return_request)).content.decode()
    assert "Receive…" in page


def test_reject_page_needs_a_reason(admin_client, delivered):
    return_request = open_return(delivered, A=1)
    url = reverse("admin:returns_returnrequest_reject", args=[return_request.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"reason": ""}).status_code == 200
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "requested"
    assert admin_client.post(url, {"reason": "Outside policy"}).status_code == 302
    assert ReturnRequest.objects.get(pk=return_request.pk).rejection_reason == "Outside policy"


def test_receive_and_refund_pages_call_the_services(admin_client, delivered):
    return_request = open_return(delivered, A=2)
    return_approve(return_request=return_request, actor="test")
    line = return_request.lines.get()
    url = reverse("admin:returns_returnrequest_receive", args=[return_request.pk])
    assert admin_client.get(url).status_code == 200
    # Three units counted for a return of two: a form error, nothing written.
    response = admin_client.post(url, {
        f"resellable_{line.pk}": 2, f"location_{line.pk}": "EAST",
        f"damaged_{line.pk}": 1, f"missing_{line.pk}": 0,
    })
    assert response.status_code == 200
    assert "accounted for" in response.content.decode()
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "approved"

    on_hand = StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand
    response = admin_client.post(url, {
        f"resellable_{line.pk}": 1, f"location_{line.pk}": "EAST",
        f"damaged_{line.pk}": 1, f"missing_{line.pk}": 0,
    })
    assert response.status_code == 302
    assert StockLevel.objects.get(product__sku="A", warehouse__code="EAST").on_hand == on_hand + 1

    refund_url = reverse("admin:returns_returnrequest_refund", args=[return_request.pk])
    page = admin_client.get(refund_url).content.decode()
    assert "19.60" in page  # two units of A with their share of discount and tax
    response = admin_client.post(refund_url, {
        "restocking_fee": "2.00", "adjustment": "0.00", "method": "card",
        "processor_reference": "re_admin",
    })
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.restocking_fee, refund.created_by) == (
        Decimal("17.60"), Decimal("2.00"), "user:admin"
    )
    refund_page = admin_client.get(reverse("admin:returns_refund_change", args=[refund.pk]))
    assert refund_page.status_code == 200
    assert admin_client.get(reverse("admin:returns_refund_changelist")).status_code == 200


def test_form_pages_of_a_return_in_another_state_send_staff_back(admin_client, delivered):
    return_request = open_return(delivered, A=1)
    for page in ("receive", "refund"):
        url = reverse(f"admin:returns_returnrequest_{page}", args=[return_request.pk])
        response = admin_client.get(url, follow=True)
        assert response.redirect_chain == [(change_url(return_request), 302)]
        assert "only a" in response.content.decode()
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "requested"


def test_receive_page_offers_only_the_channels_stocking_locations(admin_client, shop, delivered):
    from tests.factories import WarehouseFactory
    from warehouses.models import Warehouse

    WarehouseFactory(code="OTHER")  # serves no channel of this return
    shop["channel"].warehouses.add(WarehouseFactory(code="VENDOR", kind=Warehouse.Kind.DROPSHIP))
    return_request = open_return(delivered, A=1)
    return_approve(return_request=return_request, actor="test")
    line = return_request.lines.get()
    url = reverse("admin:returns_returnrequest_receive", args=[return_request.pk])

    field = admin_client.get(url).context["form"].fields[f"location_{line.pk}"]

    assert [w.code for w in field.queryset] == ["EAST", "STORE1", "WEST"]


def test_close_is_offered_only_once_nothing_is_left_to_refund(admin_client, delivered):
    from tests.returns.test_refunds import received_return

    return_request = received_return(delivered, A=1)
    close = reverse("admin:returns_returnrequest_object_action", args=[return_request.pk, "close"])
    page = admin_client.get(change_url(return_request)).content.decode()
    assert close not in page and "Refund…" in page
    admin_client.post(close)
    assert ReturnRequest.objects.get(pk=return_request.pk).status == "received"

    refund_url = reverse("admin:returns_returnrequest_refund", args=[return_request.pk])
    page = admin_client.get(refund_url).content.decode()
    assert "At most 38.32 USD may be refunded" in page
    refunded = admin_client.post(refund_url, {"restocking_fee": "0", "adjustment": "0"})
    assert refunded.status_code == 302
    assert close in admin_client.get(change_url(return_request)).content.decode()


def test_staff_open_a_return_outside_the_window_with_a_reason(admin_client, shop, stock):
    order = deliver_order(shop, stock, delivered_days_ago=45)
    lines = lines_by_sku(order)
    add_url = reverse("admin:returns_returnrequest_add")
    assert admin_client.get(add_url).status_code == 200
    step_one = admin_client.post(add_url, {"order": order.number})
    assert step_one.status_code == 302
    assert step_one["Location"].endswith(f"?order={order.number}")
    assert admin_client.get(step_one["Location"]).status_code == 200
    missing = admin_client.post(add_url, {"order": "NOPE"})
    assert "No order NOPE" in missing.content.decode()

    form = {
        f"quantity_{lines['A'].pk}": 1, f"reason_{lines['A'].pk}": "defective",
        f"quantity_{lines['B'].pk}": 0, f"reason_{lines['B'].pk}": "other",
        "customer_note": "", "exchange_items": "", "window_override_reason": "",
    }
    refused = admin_client.post(step_one["Location"], form)
    assert refused.status_code == 200
    assert "return window" in refused.content.decode()
    assert not ReturnRequest.objects.exists()

    form["window_override_reason"] = "Long-standing customer"
    form["exchange_items"] = "A x 1"
    assert admin_client.post(step_one["Location"], form).status_code == 302
    return_request = ReturnRequest.objects.get()
    assert return_request.window_override_reason == "Long-standing customer"
    assert return_request.created_by == "user:admin"
    assert [(item.product.sku, item.quantity, item.unit_price)
            for item in return_request.exchange_items.all()] == [("A", 1, Decimal("9.80"))]


def test_order_page_shows_its_returns(admin_client, delivered):
    return_request = open_return(delivered, A=1)
    page = admin_client.get(reverse("admin:orders_order_change", args=[delivered.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert return_request.number in text
    assert "1 x A" in text
    assert "return_requested" in text  # the order's timeline shows the return
