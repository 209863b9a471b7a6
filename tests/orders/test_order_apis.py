"""The order API: create (idempotent), validation, payments, holds, cancellation, bulk."""

import re

import pytest

from customers.models import Customer
from inventory.models import StockLevel, StockReservation
from oms_project.models import OutboxEvent
from orders.models import Order
from orders.services import shipment_create
from tests.factories import SalesChannelFactory
from tests.orders.shipping import post_json as post

pytestmark = pytest.mark.django_db


def body(**overrides) -> dict:
    data = {
        "channel_order_id": "WEB-1",
        "customer": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Reno",
            "postal_code": "89501",
            "country": "US",
        },
        "fulfillment_method": "ship",
        "shipping_method": "ground",
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 2, "unit_price": "10.00"}],
        "shipping_total": "5.00",
        "tax_total": "2.00",
        "payment": {
            "method": "card",
            "amount": "27.00",
            "status": "captured",
            "reference": "pay-1",
        },
        "attributes": {"gift_message": "Happy birthday"},
    }
    data.update(overrides)
    return data


def test_create_returns_number_lines_and_allocations(api, stock):
    stock("A", "EAST", 5)
    response = post(api, "/api/v1/orders/", body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "processing"
    assert data["total"] == "27.00"
    line = data["lines"][0]
    assert line["quantity_allocated"] == 2
    assert line["allocations"] == [{"warehouse": "EAST", "quantity": 2}]
    assert data["attributes"] == {"gift_message": "Happy birthday"}


def test_create_requires_idempotency_key(api, stock):
    response = api.post("/api/v1/orders/", data=body(), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert Order.objects.count() == 0


def test_same_key_same_body_replays(api, stock):
    stock("A", "EAST", 5)
    first = post(api, "/api/v1/orders/", body(), key="k1")
    second = post(api, "/api/v1/orders/", body(), key="k1")
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


def test_same_key_different_body_is_422(api, stock):
    stock("A", "EAST", 5)
    post(api, "/api/v1/orders/", body(), key="k1")
    response = post(api, "/api/v1/orders/", body(channel_order_id="WEB-2"), key="k1")
    assert response.status_code == 422
    assert Order.objects.count() == 1


def test_duplicate_channel_order_id_is_409_with_number(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body()).json()["number"]
    response = post(api, "/api/v1/orders/", body())
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert response.json()["number"] == number


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": "1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "1.001"}]}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "-1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "10000000000.00"}]}, "lines"),
        # Amounts the server works out are held to the same limit as those sent.
        ({"lines": [{"sku": "A", "quantity": 10000, "unit_price": "9999999999.99"}]}, "lines"),
        ({"shipping_total": "9999999999.99", "tax_total": "9999999999.99"}, "total"),
        ({"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}] * 501}, "lines"),
        ({"lines": []}, "lines"),
        ({"shipping_method": "teleport"}, "shipping_method"),
        ({"shipping_address": {"line1": "x", "city": "y", "country": "XX"}}, "shipping_address"),
        ({"fulfillment_method": "pickup", "pickup_location": "EAST"}, "pickup_location"),
        ({"fulfillment_method": "pickup"}, "pickup_location"),
        ({"discount_total": "100.00"}, "discount_total"),
        ({"status": "shipped"}, "status"),
        ({"total": "1.00"}, "total"),
        ({"surprise": 1}, "surprise"),
        ({"currency": "dollars"}, "currency"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "XAU"}, "currency"),  # gold is not money an order is paid in
        ({"customer": {"email": "not-an-email"}}, "customer"),
        ({"payment": {"method": "card", "amount": "99.00", "status": "captured"}}, "payment"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_nothing_written(api, stock, overrides, field):
    stock("A", "EAST", 5)
    response = post(api, "/api/v1/orders/", body(**overrides))
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0
    assert StockReservation.objects.count() == 0


def test_malformed_json_is_400_problem(api):
    response = api.post(
        "/api/v1/orders/", data="{nope", content_type="application/json", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_a_line_discount_over_the_line_is_the_only_error(api, stock):
    stock("A", "EAST", 5)
    lines = [{"sku": "A", "quantity": 1, "unit_price": "10.00", "discount": "25.00"}]
    response = post(api, "/api/v1/orders/", body(lines=lines))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines": {"0": {"discount": ["Discount exceeds the line's value."]}}
    }


def test_json_nested_too_deeply_is_400_problem(api):
    response = api.post(
        "/api/v1/orders/",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
    assert Order.objects.count() == 0


def test_customer_orders_of_an_unknown_or_unseen_customer_are_404(api, shop, stock, make_client):
    stock("A", "EAST", 5)
    post(api, "/api/v1/orders/", body())
    customer = Customer.objects.get()
    assert api.get(f"/api/v1/customers/{customer.pk}/orders/").status_code == 200
    assert api.get(f"/api/v1/customers/{customer.pk + 1000}/orders/").status_code == 404
    other_channel = SalesChannelFactory(code="market")
    other = make_client(channel=other_channel)
    response = other.get(f"/api/v1/customers/{customer.pk}/orders/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_shortage_with_reject_policy_is_409_listing_lines(api, shop, stock):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 1)
    response = post(api, "/api/v1/orders/", body())
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["errors"] == [
        {"sku": "A", "line": 0, "warehouse": None, "requested": 2, "available": 1}
    ]
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0
    assert StockReservation.objects.count() == 0


def test_refusing_a_short_order_writes_nothing_but_its_idempotency_record(
    api, shop, stock, django_assert_max_num_queries
):
    shop["channel"].shortage_policy = "reject"
    shop["channel"].save()
    stock("A", "EAST", 1)
    with django_assert_max_num_queries(16) as queries:
        response = post(api, "/api/v1/orders/", body())
    assert response.status_code == 409
    written = {
        match.group(1)
        for query in queries.captured_queries
        if (match := re.match(r'(?:INSERT INTO|UPDATE|DELETE FROM) "?(\w+)', query["sql"]))
    }
    # (The key's last-used time is refreshed at most once per interval, here on first use.)
    assert written - {"orders_apikey"} == {"orders_idempotencyrecord"}
    # Routing only reads: the refusal opens no transaction (the one savepoint is the key's claim).
    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1


def test_pickup_order_allocates_at_the_chosen_store(api, stock):
    stock("A", "EAST", 5)
    stock("A", "STORE1", 2)
    response = post(
        api, "/api/v1/orders/", body(fulfillment_method="pickup", pickup_location="STORE1")
    )
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["allocations"] == [{"warehouse": "STORE1", "quantity": 2}]


def test_later_capture_moves_order_to_processing(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body(payment=None)).json()["number"]
    assert Order.objects.get(number=number).status == "created"
    response = post(
        api,
        f"/api/v1/orders/{number}/payments/",
        {"method": "card", "amount": "27.00", "status": "captured"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processing"
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 2


def test_partial_cancel_releases_exactly_those_units(api, stock):
    stock("A", "EAST", 5)
    created = post(api, "/api/v1/orders/", body()).json()
    line_id = created["lines"][0]["line_id"]
    response = post(
        api,
        f"/api/v1/orders/{created['number']}/cancel/",
        {"lines": [{"line_id": line_id, "quantity": 1}], "reason": "customer"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "processing"
    assert data["lines"][0]["quantity_cancelled"] == 1
    assert data["lines"][0]["quantity_allocated"] == 1
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 1
    assert data["refund_due"] == "11.00"


def test_full_cancel_releases_everything_and_records_refund(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body()).json()["number"]
    response = post(api, f"/api/v1/orders/{number}/cancel/", {"reason": "fraud"})
    assert response.json()["status"] == "cancelled"
    assert response.json()["refund_due"] == "27.00"
    assert StockLevel.objects.get(warehouse__code="EAST").allocated == 0
    again = post(api, f"/api/v1/orders/{number}/cancel/", {})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_cancelling_shipped_units_is_invalid_transition(api, stock):
    stock("A", "EAST", 5)
    created = post(api, "/api/v1/orders/", body()).json()
    order = Order.objects.get(number=created["number"])
    line_id = created["lines"][0]["line_id"]
    shipment_create(order=order, reference="S1", lines={line_id: 1}, actor="test")
    response = post(
        api,
        f"/api/v1/orders/{order.number}/cancel/",
        {"lines": [{"line_id": line_id, "quantity": 2}]},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    order.refresh_from_db()
    assert order.lines.get().quantity_cancelled == 0


def test_hold_and_release(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body()).json()["number"]
    bad = api.post(f"/api/v1/orders/{number}/hold/", {"reason": "bored"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_error"
    assert "reason" in bad.json()["errors"]
    assert api.get(f"/api/v1/orders/{number}/").json()["status"] == "processing"
    held = api.post(f"/api/v1/orders/{number}/hold/", {"reason": "fraud_review"}, format="json")
    assert held.json()["status"] == "on_hold"
    assert held.json()["hold_reason"] == "fraud_review"
    again = api.post(f"/api/v1/orders/{number}/hold/", {"reason": "fraud_review"}, format="json")
    assert again.status_code == 409  # already on hold
    released = api.post(f"/api/v1/orders/{number}/release-hold/", {}, format="json")
    assert released.json()["status"] == "processing"


def test_bulk_cancel_reports_per_order(api, stock):
    stock("A", "EAST", 10)
    first = post(api, "/api/v1/orders/", body()).json()["number"]
    second = post(api, "/api/v1/orders/", body(channel_order_id="WEB-2")).json()["number"]
    post(api, f"/api/v1/orders/{second}/cancel/", {})
    response = post(
        api, "/api/v1/orders/bulk-cancel/", {"numbers": [first, second, "NOPE"], "reason": "ops"}
    )
    results = {item["number"]: item for item in response.json()["results"]}
    assert results[first]["status"] == 200
    assert results[second]["code"] == "invalid_transition"
    assert results["NOPE"]["status"] == 404


def test_bulk_create_results_per_order_and_dedupes(api, stock):
    stock("A", "EAST", 50)
    orders = [body(channel_order_id=f"M-{i}") for i in range(3)]
    orders.append(body(channel_order_id="M-0"))
    orders.append(body(channel_order_id="M-9", lines=[]))
    response = post(api, "/api/v1/orders/bulk/", {"orders": orders})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [item["status"] for item in results] == [201, 201, 201, 409, 400]
    # Every refusal says what went wrong in `detail`, field errors included.
    assert results[4]["detail"] == "Invalid input in: lines."
    assert all(item["detail"] for item in results[3:])
    assert Order.objects.count() == 3


def test_other_channel_cannot_see_or_cancel(api, shop, stock, make_client):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body()).json()["number"]
    other = make_client(channel=SalesChannelFactory(code="market"))
    assert other.get(f"/api/v1/orders/{number}/").status_code == 404
    response = post(other, f"/api/v1/orders/{number}/cancel/", {})
    assert response.status_code == 404
    assert Order.objects.get(number=number).status == "processing"


def test_fetch_by_numbers_constant_queries(api, stock, django_assert_max_num_queries):
    stock("A", "EAST", 100)
    numbers = [
        post(api, "/api/v1/orders/", body(channel_order_id=f"N-{i}")).json()["number"]
        for i in range(6)
    ]
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/orders/", {"numbers": ",".join(numbers), "limit": 500})
    assert sorted(item["number"] for item in response.json()["results"]) == sorted(numbers)


def test_customer_order_history(api, stock):
    stock("A", "EAST", 5)
    post(api, "/api/v1/orders/", body())
    customer = Customer.objects.get()
    response = api.get(f"/api/v1/customers/{customer.pk}/orders/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_warehouse_filter_finds_orders_routed_there(api, stock):
    stock("A", "EAST", 2)
    stock("A", "WEST", 5)
    east = post(api, "/api/v1/orders/", body(channel_order_id="E-1")).json()["number"]
    west = post(api, "/api/v1/orders/", body(channel_order_id="W-1")).json()["number"]
    unpaid = post(api, "/api/v1/orders/", body(channel_order_id="U-1", payment=None))
    assert unpaid.status_code == 201

    def numbers(code):
        response = api.get("/api/v1/orders/", {"warehouse": code})
        return {order["number"] for order in response.json()["results"]}

    assert numbers("EAST") == {east}
    assert numbers("WEST") == {west}
    assert numbers("STORE1") == set()


SPLIT_LINES = [
    {"sku": "A", "quantity": 4, "unit_price": "10.00", "discount": "1.50"},
    {"sku": "B", "quantity": 1, "unit_price": "3.50"},
]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="captured"),
        pytest.param({"payment": None}, id="unpaid"),
        pytest.param(
            {"payment": {"method": "card", "amount": "27.00", "status": "authorized"}},
            id="authorized",
        ),
        pytest.param(
            {"fulfillment_method": "pickup", "pickup_location": "STORE1"}, id="pickup"
        ),
        pytest.param(
            {
                "lines": SPLIT_LINES,
                "payment": {"method": "card", "amount": "49.00", "status": "captured"},
                "placed_at": "2026-11-02T10:00:00+05:00",
            },
            id="split-over-locations",
        ),
        pytest.param(
            {"lines": [{"sku": "A", "quantity": 9, "unit_price": "2.00"}],
             "payment": {"method": "card", "amount": "25.00", "status": "captured"}},
            id="backordered",
        ),
    ],
)
def test_create_answers_exactly_what_reading_the_order_back_gives(api, stock, overrides):
    stock("A", "EAST", 3)
    stock("A", "WEST", 1)
    stock("A", "STORE1", 2)
    stock("B", "WEST", 5)
    created = post(api, "/api/v1/orders/", body(**overrides))
    assert created.status_code == 201, created.content
    read = api.get(f"/api/v1/orders/{created.json()['number']}/")
    assert read.status_code == 200
    assert created.json() == read.json()
    if overrides.get("lines") == SPLIT_LINES:  # one line really is reserved in two places
        assert created.json()["status"] == "processing"
        assert [line["allocations"] for line in created.json()["lines"]] == [
            [{"warehouse": "EAST", "quantity": 3}, {"warehouse": "WEST", "quantity": 1}],
            [{"warehouse": "WEST", "quantity": 1}],
        ]


@pytest.mark.parametrize("action", ["payments", "cancel"])
def test_money_moving_actions_need_an_idempotency_key(api, stock, action):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body(payment=None)).json()["number"]
    payload = (
        {"method": "card", "amount": "2.00", "status": "captured"}
        if action == "payments"
        else {"reason": "customer asked"}
    )
    without = api.post(f"/api/v1/orders/{number}/{action}/", payload, format="json")
    assert without.status_code == 400
    assert without.json()["code"] == "idempotency_key_required"
    order = Order.objects.get(number=number)
    assert (order.status, order.paid_total) == ("created", 0)
    # A retry with its key is answered once and applied once.
    first = post(api, f"/api/v1/orders/{number}/{action}/", payload, key="retry-1")
    again = post(api, f"/api/v1/orders/{number}/{action}/", payload, key="retry-1")
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    order.refresh_from_db()
    assert order.paid_total == (2 if action == "payments" else 0)


def test_a_payment_reference_reused_for_another_amount_is_refused(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body(payment=None)).json()["number"]
    payment = {"method": "card", "amount": "2.00", "status": "captured", "reference": "ch_1"}
    assert post(api, f"/api/v1/orders/{number}/payments/", payment).status_code == 200
    same = post(api, f"/api/v1/orders/{number}/payments/", payment)
    assert same.status_code == 200  # the processor's retry: recorded once
    other = post(api, f"/api/v1/orders/{number}/payments/", {**payment, "amount": "3.00"})
    assert other.status_code == 400
    assert other.json()["code"] == "payment_error"
    assert "reference" in other.json()["errors"]
    assert Order.objects.get(number=number).paid_total == 2


@pytest.mark.parametrize("paid", [True, False])
@pytest.mark.parametrize("policy", ["reject", "backorder"])
def test_an_address_no_location_ships_to_is_a_validation_error(api, shop, stock, policy, paid):
    """Paid or not: an unpaid order holds no stock yet, but paying it later could never
    allocate it (it would wait on backorder for good)."""
    from warehouses.models import Warehouse

    shop["channel"].shortage_policy = policy
    shop["channel"].save()
    for code in ("EAST", "WEST"):
        warehouse = Warehouse.objects.get(code=code)
        warehouse.ships_to_countries = ["US"]
        warehouse.save()
    stock("A", "EAST", 5)
    address = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
    payment = {} if paid else {"payment": None}
    refused = post(api, "/api/v1/orders/", body(shipping_address=address, **payment))
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "validation_error"
    errors = refused.json()["errors"]
    assert errors == {"shipping_address": {"country": ["No location ships to FR."]}}
    assert not Order.objects.exists()
    assert post(api, "/api/v1/orders/", body(**payment)).status_code == 201  # to the US it goes


def two_line_body(**overrides) -> dict:
    """100.00 in all: A 2 x 10.00, B 3 x 25.00, shipping 5.00, no tax."""
    return body(
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B", "quantity": 3, "unit_price": "25.00"},
        ],
        tax_total="0.00",
        **overrides,
    )


def cancel_line(api, created: dict, index: int):
    line = created["lines"][index]
    return post(
        api,
        f"/api/v1/orders/{created['number']}/cancel/",
        {"lines": [{"line_id": line["line_id"], "quantity": line["quantity"]}]},
    )


def test_cancelling_part_of_an_unpaid_order_lowers_what_is_due(api, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    created = post(api, "/api/v1/orders/", two_line_body(payment=None)).json()
    cancelled = cancel_line(api, created, 1).json()
    assert (cancelled["total"], cancelled["cancelled_total"]) == ("100.00", "75.00")
    assert cancelled["refund_due"] == "0.00"  # nothing was paid
    pay = f"/api/v1/orders/{created['number']}/payments/"
    too_much = post(api, pay, {"method": "card", "amount": "100.00", "status": "captured"})
    assert too_much.status_code == 400
    assert too_much.json()["errors"]["amount"] == ["Over-payment: 25.00 is due."]
    paid = post(api, pay, {"method": "card", "amount": "25.00", "status": "captured"})
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "processing"
    assert paid.json()["lines"][0]["quantity_allocated"] == 2
    assert StockLevel.objects.get(warehouse__code="EAST", product__sku="B").allocated == 0


def test_a_cancellation_that_leaves_a_part_payment_covering_the_rest_moves_the_order_on(
    api, stock
):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    payment = {"method": "card", "amount": "50.00", "status": "captured", "reference": "p-50"}
    created = post(api, "/api/v1/orders/", two_line_body(payment=payment)).json()
    assert created["status"] == "created"  # 50.00 of 100.00 paid
    cancelled = cancel_line(api, created, 1).json()
    # 25.00 is left to pay for and 50.00 was paid: 25.00 goes back, and the order is paid.
    assert (cancelled["cancelled_total"], cancelled["refund_due"]) == ("75.00", "25.00")
    assert cancelled["status"] == "processing"
    assert cancelled["lines"][0]["quantity_allocated"] == 2
    paid_events = OutboxEvent.objects.filter(reference=created["number"], topic="order.paid")
    assert paid_events.count() == 1  # accounting hears of the sale once it is paid for


def test_a_part_payment_is_not_refunded_while_it_does_not_cover_what_is_left(api, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    payment = {"method": "card", "amount": "10.00", "status": "captured", "reference": "p-10"}
    created = post(api, "/api/v1/orders/", two_line_body(payment=payment)).json()
    cancelled = cancel_line(api, created, 1).json()
    assert (cancelled["cancelled_total"], cancelled["refund_due"]) == ("75.00", "0.00")
    assert cancelled["status"] == "created"  # 15.00 still due


def test_cancelling_all_of_a_paid_order_refunds_what_was_paid_to_the_cent(api, stock):
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    payment = {"method": "card", "amount": "100.00", "status": "captured", "reference": "p"}
    created = post(api, "/api/v1/orders/", two_line_body(payment=payment)).json()
    first = cancel_line(api, created, 0).json()
    assert (first["cancelled_total"], first["refund_due"]) == ("20.00", "20.00")
    whole = post(api, f"/api/v1/orders/{created['number']}/cancel/", {}).json()
    assert (whole["cancelled_total"], whole["refund_due"]) == ("100.00", "100.00")


def test_an_authorization_over_what_the_order_comes_to_is_refused(api, stock):
    stock("A", "EAST", 5)
    number = post(api, "/api/v1/orders/", body(payment=None)).json()["number"]
    response = post(
        api,
        f"/api/v1/orders/{number}/payments/",
        {"method": "card", "amount": "999999.00", "status": "authorized"},
    )
    assert response.status_code == 400
    assert response.json()["errors"]["amount"] == ["More than the 27.00 still due."]


def test_cancelling_a_line_in_steps_takes_off_what_cancelling_it_at_once_does(api, stock):
    """A 2 x 10.00, B 1 x 10.00, tax 1.00: the two A units are worth 20.67 together, however
    they are cancelled, so paying the 10.33 left settles the order to the cent."""
    stock("A", "EAST", 5)
    stock("B", "EAST", 5)
    created = post(api, "/api/v1/orders/", body(
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B", "quantity": 1, "unit_price": "10.00"},
        ],
        shipping_total="0.00", tax_total="1.00", payment=None,
    )).json()
    line_a = created["lines"][0]["line_id"]
    cancel = f"/api/v1/orders/{created['number']}/cancel/"
    post(api, cancel, {"lines": [{"line_id": line_a, "quantity": 1}]})
    second = post(api, cancel, {"lines": [{"line_id": line_a, "quantity": 1}]}).json()
    assert second["cancelled_total"] == "20.67"
    paid = post(
        api,
        f"/api/v1/orders/{created['number']}/payments/",
        {"method": "card", "amount": "10.33", "status": "captured"},
    )
    assert paid.json()["status"] == "processing"
