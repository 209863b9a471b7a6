"""The returns API: create, list, read and move a return; refunds; scopes and confinement.

A channel key opens and reads its own orders' returns; the back office (here an integration
key with `returns:write`, the `desk`) approves, receives and refunds them
(`tests/returns/test_scopes_returns.py` covers who may do what).
"""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from inventory.models import StockMovement
from oms_project.models import OutboxEvent
from orders.models import OrderLine
from orders.services import api_key_create
from returns.models import Refund, ReturnRequest
from tests.factories import SalesChannelFactory
from tests.returns.conftest import deliver_order, lines_by_sku, post_json

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def web_client(make_client, shop):
    return make_client(channel=shop["channel"])


def back_office_client() -> APIClient:
    """A client holding an integration key with `returns:write`: the merchant's returns desk."""
    _, raw = api_key_create(name="returns desk", scopes=["returns:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def desk(db):
    return back_office_client()


def create_return(client, order, key=None, **quantities):
    lines = lines_by_sku(order)
    return post_json(
        client,
        "/api/v1/returns/",
        {
            "order": order.number,
            "lines": [
                {"line_id": lines[sku].pk, "quantity": units, "reason": "defective"}
                for sku, units in quantities.items()
            ],
        },
        key=key,
    )


def walk_to_received(client, order, desk=None, **quantities):
    """`client` opens a return of these units; the back office approves and receives it."""
    desk = desk or back_office_client()
    number = create_return(client, order, **quantities).json()["number"]
    assert post_json(desk, f"/api/v1/returns/{number}/approve/", {}).status_code == 200
    lines = lines_by_sku(order)
    response = post_json(
        desk,
        f"/api/v1/returns/{number}/receive/",
        {
            "lines": [
                {"line_id": lines[sku].pk, "condition": "resellable", "quantity": units,
                 "location": "EAST"}
                for sku, units in quantities.items()
            ]
        },
    )
    assert response.status_code == 200, response.json()
    return number


def test_channel_opens_and_back_office_walks_a_return_through_every_state(
    web_client, desk, delivered
):
    response = create_return(web_client, delivered, A=1, B=1)
    assert response.status_code == 201, response.json()
    body = response.json()
    number = body["number"]
    assert body["status"] == "requested"
    assert body["order"] == delivered.number
    assert body["order_return_status"] == "not_returned"
    assert [(line["sku"], line["quantity"], line["reason"]) for line in body["lines"]] == [
        ("A", 1, "defective"), ("B", 1, "defective")
    ]

    response = post_json(
        desk,
        f"/api/v1/returns/{number}/approve/",
        {"return_label_url": "https://labels.example/x.pdf", "return_tracking_number": "1ZR"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["return_label_url"] == "https://labels.example/x.pdf"

    lines = lines_by_sku(delivered)
    response = post_json(
        desk,
        f"/api/v1/returns/{number}/receive/",
        {"lines": [
            {"line_id": lines["A"].pk, "condition": "resellable", "quantity": 1,
             "location": "EAST"},
            {"line_id": lines["B"].pk, "condition": "damaged", "quantity": 1},
        ]},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "received"
    assert response.json()["order_return_status"] == "partially_returned"

    quote = web_client.get(f"/api/v1/returns/{number}/refund-quote/?restocking_fee=1.00")
    assert quote.status_code == 200
    assert quote.json()["amount"] == "13.37"  # 9.80 + 4.57 - 1.00

    response = post_json(
        desk, f"/api/v1/returns/{number}/refund/",
        {"restocking_fee": "1.00", "processor_reference": "re_9"},
    )
    assert response.status_code == 201, response.json()
    refund = response.json()
    assert (refund["amount"], refund["goods_amount"], refund["tax_amount"]) == (
        "13.37", "14.37", "1.17"
    )
    assert refund["restocking_fee"] == "1.00"
    assert refund["return_number"] == number
    assert [(line["quantity"], line["amount"]) for line in refund["lines"]] == [
        (1, "9.80"), (1, "4.57")
    ]

    response = post_json(desk, f"/api/v1/returns/{number}/close/", {"note": "Done"})
    assert response.status_code == 200
    detail = web_client.get(f"/api/v1/returns/{number}/").json()
    assert detail["status"] == "closed"
    assert [event["to_status"] for event in detail["events"] if event["type"] == "status_changed"
            ] == ["approved", "received", "refunded", "closed"]
    assert detail["refunds"][0]["amount"] == "13.37"


def test_refunding_twice_is_invalid_transition(web_client, desk, delivered):
    number = walk_to_received(web_client, delivered, desk, A=1)
    assert post_json(desk, f"/api/v1/returns/{number}/refund/", {}).status_code == 201

    response = post_json(desk, f"/api/v1/returns/{number}/refund/", {})

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "invalid_transition"
    assert Refund.objects.count() == 1


def test_receiving_before_approval_is_invalid_transition(web_client, desk, delivered):
    number = create_return(web_client, delivered, A=1).json()["number"]
    response = post_json(
        desk,
        f"/api/v1/returns/{number}/receive/",
        {"lines": [{"line_id": lines_by_sku(delivered)["A"].pk, "condition": "damaged",
                    "quantity": 1}]},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert ReturnRequest.objects.get(number=number).status == "requested"


def test_returning_more_than_shipped_is_invalid_transition(web_client, delivered):
    response = create_return(web_client, delivered, A=3)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["returnable"] == 2
    assert not ReturnRequest.objects.exists()


def test_unknown_line_is_a_validation_error(web_client, delivered):
    response = post_json(web_client, "/api/v1/returns/", {
        "order": delivered.number,
        "lines": [{"line_id": 987654, "quantity": 1, "reason": "other"}],
    })
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {
        "lines": {"0": {"line_id": ["No line 987654 on this order."]}}
    }
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"lines": []},
        {"lines": [{"line_id": 1, "quantity": 0, "reason": "other"}]},
        {"lines": [{"line_id": 1, "quantity": 1, "reason": "nope"}]},
        {"lines": [{"line_id": 1, "quantity": 1, "reason": "other", "qty": 1}]},
        {"status": "approved", "lines": [{"line_id": 1, "quantity": 1, "reason": "other"}]},
    ],
)
def test_malformed_bodies_are_refused(web_client, delivered, payload):
    response = post_json(web_client, "/api/v1/returns/", {"order": delivered.number, **payload})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not ReturnRequest.objects.exists()


def test_a_channel_cannot_return_another_channels_order(make_client, shop, delivered):
    other = make_client(channel=SalesChannelFactory(code="market"))
    response = create_return(other, delivered, A=1)
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    assert not ReturnRequest.objects.exists()

    number = create_return(make_client(channel=shop["channel"]), delivered, A=1).json()["number"]
    assert other.get(f"/api/v1/returns/{number}/").status_code == 404
    # Approving is back-office work, refused to any channel key before the return is looked up.
    assert post_json(other, f"/api/v1/returns/{number}/approve/", {}).status_code == 403
    assert post_json(other, f"/api/v1/returns/{number}/cancel/", {}).status_code == 404
    assert other.get("/api/v1/returns/").json()["results"] == []
    assert other.get(f"/api/v1/orders/{delivered.number}/returns/").status_code == 404
    assert ReturnRequest.objects.get(number=number).status == "requested"


def test_window_override_is_for_staff_only(web_client, staff_client, shop, stock):
    order = deliver_order(shop, stock, delivered_days_ago=40)
    line_id = lines_by_sku(order)["A"].pk
    body = {"order": order.number,
            "lines": [{"line_id": line_id, "quantity": 1, "reason": "defective"}]}

    closed = post_json(web_client, "/api/v1/returns/", body)
    assert closed.status_code == 400
    assert closed.json()["code"] == "return_window_closed"

    body["window_override_reason"] = "Goodwill"
    assert post_json(web_client, "/api/v1/returns/", body).json()["errors"] == {
        "window_override_reason": ["Staff only."]
    }
    assert not ReturnRequest.objects.exists()

    response = post_json(staff_client, "/api/v1/returns/", body)
    assert response.status_code == 201
    assert response.json()["window_override_reason"] == "Goodwill"


def test_scopes_read_and_write(make_client, delivered):
    reader = make_client(scopes=["returns:read"])
    writer = make_client(scopes=["returns:write"])
    other = make_client(scopes=["orders:write"])
    assert reader.get("/api/v1/returns/").status_code == 200
    assert create_return(reader, delivered, A=1).status_code == 403
    assert other.get("/api/v1/returns/").status_code == 403
    assert create_return(writer, delivered, A=1).status_code == 201
    anonymous = reader.__class__()
    assert anonymous.get("/api/v1/returns/").status_code == 401


def test_refund_requires_an_idempotency_key_and_replays(web_client, desk, delivered):
    number = walk_to_received(web_client, delivered, desk, A=1)
    missing = desk.post(
        f"/api/v1/returns/{number}/refund/", data={}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    assert not Refund.objects.exists()

    first = post_json(desk, f"/api/v1/returns/{number}/refund/", {}, key="refund-1")
    again = post_json(desk, f"/api/v1/returns/{number}/refund/", {}, key="refund-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Refund.objects.count() == 1
    assert OutboxEvent.objects.filter(topic="refund.created").count() == 1
    assert OutboxEvent.objects.filter(topic="refund.completed").count() == 1

    reused = post_json(
        desk, f"/api/v1/returns/{number}/refund/", {"restocking_fee": "1.00"},
        key="refund-1",
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def test_refund_adjustment_needs_a_reason(web_client, desk, delivered):
    number = walk_to_received(web_client, delivered, desk, A=1)
    response = post_json(desk, f"/api/v1/returns/{number}/refund/", {"adjustment": "2.00"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"adjustment_reason": ["Say why the amount is adjusted."]}
    assert not Refund.objects.exists()

    response = post_json(
        desk, f"/api/v1/returns/{number}/refund/",
        {"adjustment": "-0.80", "adjustment_reason": "Tax kept by the marketplace"},
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "9.00"
    assert response.json()["adjustment_reason"] == "Tax kept by the marketplace"


def test_a_quote_and_a_refund_refuse_an_adjustment_below_zero_alike(
    web_client, desk, delivered
):
    number = walk_to_received(web_client, delivered, desk, A=1)
    quote = web_client.get(
        f"/api/v1/returns/{number}/refund-quote/",
        {"adjustment": "-1000", "adjustment_reason": "x"},
    )
    assert quote.status_code == 400
    assert quote.json()["errors"] == {"adjustment": ["Takes the refund below zero (to -990.20)."]}
    refund = post_json(
        desk, f"/api/v1/returns/{number}/refund/",
        {"adjustment": "-1000", "adjustment_reason": "x"},
    )
    assert refund.status_code == 400
    assert refund.json()["errors"] == quote.json()["errors"]
    assert not Refund.objects.exists()


def test_a_quote_over_what_may_be_refunded_is_refused_as_the_refund_is(
    web_client, desk, delivered
):
    number = walk_to_received(web_client, delivered, desk, A=1)
    options = {"adjustment": "1000", "adjustment_reason": "x"}
    quote = web_client.get(f"/api/v1/returns/{number}/refund-quote/", options)
    refund = post_json(desk, f"/api/v1/returns/{number}/refund/", options)
    assert quote.status_code == refund.status_code == 400
    assert quote.json()["code"] == refund.json()["code"] == "refund_exceeds_paid"
    assert not Refund.objects.exists()


def test_goodwill_refund_needs_a_reason_and_stays_within_paid(web_client, desk, delivered):
    missing_reason = post_json(desk, "/api/v1/refunds/", {
        "order": delivered.number, "kind": "goodwill", "amount": "5.00",
    })
    assert missing_reason.status_code == 400
    assert missing_reason.json()["errors"] == {"reason": ["This field is required."]}

    too_much = post_json(desk, "/api/v1/refunds/", {
        "order": delivered.number, "kind": "goodwill", "amount": "38.33", "reason": "Late",
    })
    assert too_much.status_code == 400
    assert too_much.json()["code"] == "refund_exceeds_paid"
    assert not Refund.objects.exists()

    response = post_json(desk, "/api/v1/refunds/", {
        "order": delivered.number, "kind": "goodwill", "amount": "5.00", "reason": "Late",
        "method": "store_credit", "processor_reference": "gc-1",
    })
    assert response.status_code == 201, response.json()
    assert (response.json()["kind"], response.json()["amount"], response.json()["method"]) == (
        "goodwill", "5.00", "store_credit"
    )
    listed = web_client.get(f"/api/v1/refunds/?order={delivered.number}").json()["results"]
    assert [refund["number"] for refund in listed] == [response.json()["number"]]

    duplicate = post_json(desk, "/api/v1/refunds/", {
        "order": delivered.number, "kind": "goodwill", "amount": "1.00", "reason": "Again",
        "processor_reference": "gc-1",
    })
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_refund"
    assert Refund.objects.count() == 1


def test_order_returns_shows_quantities_and_status(web_client, delivered):
    walk_to_received(web_client, delivered, A=2)
    response = web_client.get(f"/api/v1/orders/{delivered.number}/returns/")
    assert response.status_code == 200
    body = response.json()
    assert body["return_status"] == "partially_returned"
    assert [(line["sku"], line["quantity_returned"], line["quantity_returnable"])
            for line in body["lines"]] == [("A", 2, 0), ("B", 0, 3)]
    assert body["refundable"] == "38.32"
    assert len(body["returns"]) == 1
    assert OrderLine.objects.get(pk=lines_by_sku(delivered)["A"].pk).quantity_returned == 2
    assert StockMovement.objects.filter(reason="return_restock").count() == 1


def test_what_may_be_refunded_leaves_the_refund_due_for_cancelled_units(
    web_client, desk, shop, stock
):
    from orders.services import order_cancel, order_create
    from tests.orders.conftest import order_data

    stock("A", "EAST", 10)
    order = order_create(channel=shop["channel"], actor="test", data=order_data())  # 27.00
    order_cancel(order=order, actor="test", lines={order.lines.get().pk: 1})

    body = web_client.get(f"/api/v1/orders/{order.number}/returns/").json()
    goodwill = post_json(desk, "/api/v1/refunds/", {
        "order": order.number, "kind": "goodwill", "amount": "16.01", "reason": "Late",
    })

    assert (body["refund_due"], body["refundable"]) == ("11.00", "16.00")
    assert goodwill.status_code == 400
    assert goodwill.json()["errors"] == {"amount": ["At most 16.00."]}
    assert not Refund.objects.exists()


def test_list_filters_and_constant_queries(
    web_client, desk, delivered, django_assert_max_num_queries
):
    first = create_return(web_client, delivered, A=1).json()["number"]
    second = create_return(web_client, delivered, B=1).json()["number"]
    assert post_json(desk, f"/api/v1/returns/{second}/approve/", {}).status_code == 200

    by_status = web_client.get("/api/v1/returns/?status=approved").json()["results"]
    assert [item["number"] for item in by_status] == [second]
    by_order = web_client.get(f"/api/v1/returns/?order={delivered.number}").json()["results"]
    assert [item["number"] for item in by_order] == [second, first]
    by_reason = web_client.get("/api/v1/returns/?reason=defective").json()["results"]
    assert len(by_reason) == 2
    assert web_client.get("/api/v1/returns/?reason=other").json()["results"] == []
    with django_assert_max_num_queries(9):
        response = web_client.get("/api/v1/returns/")
    assert response.status_code == 200
    assert response.json()["results"][0]["order_return_status"] == "not_returned"


def test_cancel_through_the_api(web_client, delivered):
    number = create_return(web_client, delivered, A=1).json()["number"]
    response = post_json(web_client, f"/api/v1/returns/{number}/cancel/", {"note": "Kept"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = post_json(web_client, f"/api/v1/returns/{number}/cancel/", {})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_reject_through_the_api_needs_a_reason(web_client, desk, delivered):
    number = create_return(web_client, delivered, A=1).json()["number"]
    assert post_json(desk, f"/api/v1/returns/{number}/reject/", {}).status_code == 400
    response = post_json(desk, f"/api/v1/returns/{number}/reject/", {"reason": "Worn"})
    assert response.json()["status"] == "rejected"
    assert response.json()["rejection_reason"] == "Worn"


def test_amounts_are_exact_decimals_in_the_database(web_client, desk, delivered):
    number = walk_to_received(web_client, delivered, desk, B=3)
    assert post_json(desk, f"/api/v1/returns/{number}/refund/", {}).status_code == 201
    assert Refund.objects.get().amount == Decimal("13.72")



def test_cancelling_an_exchange_order_refunds_exchange_credit_through_the_api(
    web_client, desk, delivered, stock
):
    from oms_project.models import EmailMessage

    stock("C", "EAST", 5)
    line_a = lines_by_sku(delivered)["A"]
    number = post_json(web_client, "/api/v1/returns/", {
        "order": delivered.number,
        "lines": [{"line_id": line_a.pk, "quantity": 1, "reason": "defective"}],
        "exchange_items": [{"sku": "C", "quantity": 1, "unit_price": "6.00"}],
    }).json()["number"]
    assert post_json(desk, f"/api/v1/returns/{number}/approve/", {}).status_code == 200
    post_json(desk, f"/api/v1/returns/{number}/receive/", {"lines": [
        {"line_id": line_a.pk, "condition": "resellable", "quantity": 1, "location": "EAST"}
    ]})
    exchange = ReturnRequest.objects.get(number=number).exchange_order

    cancelled = post_json(web_client, f"/api/v1/orders/{exchange.number}/cancel/",
                          {"reason": "Changed my mind"})

    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["refund_due"], cancelled.json()["payment_method"]) == (
        "6.00", "exchange_credit"
    )
    refunded = post_json(desk, "/api/v1/refunds/",
                         {"order": exchange.number, "kind": "cancellation"})
    assert refunded.status_code == 201, refunded.json()
    assert (refunded.json()["amount"], refunded.json()["method"]) == ("6.00", "exchange_credit")
    emails = EmailMessage.objects.filter(reference=f"order:{exchange.number}")
    assert f"exchange credit of your return {number} goes back to that credit" in emails.get(
        template="order_cancelled"
    ).body_text
    assert f"as exchange credit to your return {number}." in emails.get(
        template="refund_issued"
    ).body_text
