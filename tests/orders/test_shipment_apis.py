"""Shipment API: the channels' camelCase shape as is, our snake_case shape, scopes, bad input."""

import pytest

from inventory.models import StockLevel
from oms_project.models import EmailMessage, OutboxEvent
from orders.models import Shipment
from tests.factories import SalesChannelFactory
from tests.orders.shipping import line_ids, paid_order, post_json

pytestmark = pytest.mark.django_db

CHANNEL_SHAPE = "/api/v1/orders/shipments/"


def camel(order, line_id: int, **overrides) -> dict:
    shipment = {
        "shipmentRef": "PKG-1",
        "shipmentCarrier": "UPS",
        "shipmentCarrierUrl": "https://ups.example/track/1Z999",
        "trackingNumber": "1Z999",
        "lineItems": [{"lineItemId": line_id, "quantity": 1}],
        "shipmentStatus": "in_transit",
        "estimatedDeliveryDate": "2026-12-03",
        "shippedDate": "2026-11-30T09:15:00Z",
    }
    shipment.update(overrides)
    return {"orderId": order.number, "shipments": [shipment]}


def nothing_written(order, emails_before: int, events_before: int) -> None:
    order.refresh_from_db()
    assert order.status == "processing"
    assert Shipment.objects.count() == 0
    assert order.lines.get(sku="A").quantity_shipped == 0
    level = StockLevel.objects.get(product__sku="A", warehouse__code="EAST")
    assert (level.on_hand, level.allocated) == (10, order.lines.get(sku="A").quantity)
    assert EmailMessage.objects.count() == emails_before
    assert OutboxEvent.objects.count() == events_before


def test_camel_case_shape_is_accepted_as_is(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    response = post_json(api, CHANNEL_SHAPE, camel(order, line_ids(order)["A"]))
    assert response.status_code == 201, response.json()
    [result] = response.json()["results"]
    assert (result["orderId"], result["shipmentRef"], result["result"]) == (
        order.number, "PKG-1", "created"
    )
    shipment = result["shipment"]
    assert shipment["carrier"] == "UPS"
    assert shipment["tracking_url"] == "https://ups.example/track/1Z999"
    assert shipment["status"] == "in_transit"
    assert shipment["estimated_delivery_date"] == "2026-12-03"
    assert shipment["shipped_at"].startswith("2026-11-30T09:15:00")
    assert shipment["lines"] == [{"line_id": line_ids(order)["A"], "sku": "A", "quantity": 1}]
    order.refresh_from_db()
    assert order.status == "partially_shipped"


def test_camel_case_list_gives_a_result_per_shipment(api, shop, stock):
    first = paid_order(shop, stock, quantity_a=2)
    second = paid_order(shop, stock, quantity_a=1, channel_order_id="WEB-2")
    document = camel(first, line_ids(first)["A"])
    document["shipments"].append(
        {"shipmentRef": "PKG-2", "trackingNumber": "1Z1000", "shipmentCarrier": "UPS",
         "shipmentCarrierUrl": "https://ups.example/track/1Z1000",
         "lineItems": [{"lineItemId": line_ids(first)["A"], "quantity": 1}]}
    )
    other = camel(second, line_ids(second)["A"], shipmentRef="PKG-9")
    response = post_json(api, CHANNEL_SHAPE, [document, other])
    assert response.status_code == 201
    results = [(r["orderId"], r["shipmentRef"], r["result"]) for r in response.json()["results"]]
    assert results == [
        (first.number, "PKG-1", "created"),
        (first.number, "PKG-2", "created"),
        (second.number, "PKG-9", "created"),
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("shipped", "shipped")


def test_camel_case_over_shipping_is_400_with_line_errors_and_nothing_written(
    api, shop, stock
):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    ids = line_ids(order)
    emails, events = EmailMessage.objects.count(), OutboxEvent.objects.count()
    document = camel(order, ids["A"])
    document["shipments"][0]["lineItems"] = [
        {"lineItemId": ids["A"], "quantity": 1},
        {"lineItemId": ids["B"], "quantity": 5},
    ]
    response = post_json(api, CHANNEL_SHAPE, document)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == {
        "shipments": {
            "0": {"lineItems": {"1": {"quantity": [  # the second line item
                "Only 1 unit(s) are allocated and not yet shipped."
            ]}}}
        }
    }
    assert response["Content-Type"] == "application/problem+json"
    order.refresh_from_db()
    assert order.lines.get(sku="B").quantity_shipped == 0
    nothing_written(order, emails, events)


def test_second_shipment_failing_rolls_back_the_first(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    emails, events = EmailMessage.objects.count(), OutboxEvent.objects.count()
    document = camel(order, line_ids(order)["A"])
    document["shipments"].append(
        {"shipmentRef": "PKG-2", "lineItems": [{"lineItemId": 987654, "quantity": 1}]}
    )
    response = post_json(api, CHANNEL_SHAPE, document)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "shipments": {"1": {"lineItems": {"0": {"lineItemId": ["No such line on this order."]}}}}
    }
    nothing_written(order, emails, events)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("estimatedDeliveryDate", "03/12/2026"),
        ("shippedDate", "yesterday"),
        ("shipmentStatus", "lost_in_space"),
        ("shipmentCarrierUrl", "javascript:alert(1)"),
    ],
)
def test_camel_case_bad_values_are_field_errors(api, shop, stock, field, value):
    order = paid_order(shop, stock)
    emails, events = EmailMessage.objects.count(), OutboxEvent.objects.count()
    response = post_json(api, CHANNEL_SHAPE, camel(order, line_ids(order)["A"], **{field: value}))
    assert response.status_code == 400
    assert list(response.json()["errors"]["shipments"]["0"]) == [field]
    nothing_written(order, emails, events)


def test_unknown_carrier_without_url_is_refused(api, shop, stock):
    order = paid_order(shop, stock)
    emails, events = EmailMessage.objects.count(), OutboxEvent.objects.count()
    response = post_json(
        api, CHANNEL_SHAPE,
        camel(order, line_ids(order)["A"], shipmentCarrier="Pigeon Post", shipmentCarrierUrl=""),
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["shipments"]["0"]
    assert list(errors) == ["shipmentCarrier"]
    assert "Unknown carrier 'Pigeon Post'" in errors["shipmentCarrier"][0]
    nothing_written(order, emails, events)


def test_unknown_fields_and_missing_order_are_refused(api, shop, stock):
    order = paid_order(shop, stock)
    document = camel(order, line_ids(order)["A"])
    document["shipments"][0]["giftWrap"] = True
    response = post_json(api, CHANNEL_SHAPE, document)
    assert response.status_code == 400
    assert response.json()["errors"]["shipments"]["0"] == {"giftWrap": ["Unknown field."]}
    missing = post_json(api, CHANNEL_SHAPE, camel(order, 1) | {"orderId": "NOPE"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"orderId": ["No such order."]}


def test_idempotency_key_is_required_and_replays(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    document = camel(order, line_ids(order)["A"])
    without = api.post(CHANNEL_SHAPE, document, format="json")
    assert without.status_code == 400
    assert without.json()["code"] == "idempotency_key_required"
    first = post_json(api, CHANNEL_SHAPE, document, key="ship-1")
    again = post_json(api, CHANNEL_SHAPE, document, key="ship-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    fresh_key = post_json(api, CHANNEL_SHAPE, document, key="ship-2")
    assert fresh_key.status_code == 200
    assert fresh_key.json()["results"][0]["result"] == "existing"
    assert order.lines.get().quantity_shipped == 1


def test_snake_case_shape_on_the_order(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    response = post_json(
        api,
        f"/api/v1/orders/{order.number}/shipments/",
        {
            "reference": "S1",
            "service_level": "ground",
            "tracking_number": "1Z42",
            "warehouse": "EAST",
            "estimated_delivery_date": "2026-12-05",
            "lines": [{"line_id": line_ids(order)["A"], "quantity": 2}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tracking_url"] == "https://track.example/1Z42"
    assert (body["warehouse"], body["service_level"], body["status"]) == (
        "EAST", "ground", "awaiting"
    )
    order.refresh_from_db()
    assert order.status == "shipped"


def test_snake_case_errors_are_field_errors(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    emails, events = EmailMessage.objects.count(), OutboxEvent.objects.count()
    path = f"/api/v1/orders/{order.number}/shipments/"
    over = post_json(
        api, path, {"reference": "S1", "lines": [{"line_id": line_ids(order)["A"], "quantity": 3}]}
    )
    assert over.status_code == 400
    assert over.json()["errors"] == {
        "lines": {"0": {"quantity": ["Only 2 unit(s) are allocated and not yet shipped."]}}
    }
    bad_date = post_json(
        api, path,
        {"reference": "S1", "estimated_delivery_date": "2026-13-45",
         "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]},
    )
    assert bad_date.status_code == 400
    assert list(bad_date.json()["errors"]) == ["estimated_delivery_date"]
    unknown_level = post_json(
        api, path,
        {"reference": "S1", "service_level": "teleport",
         "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]},
    )
    assert unknown_level.status_code == 400
    assert unknown_level.json()["errors"] == {
        "service_level": ["Unknown service level 'teleport'."]
    }
    nothing_written(order, emails, events)


def test_routes_are_not_taken_by_the_order_detail(api, shop, stock):
    order = paid_order(shop, stock)
    assert api.get(CHANNEL_SHAPE).status_code == 405
    assert api.get(f"/api/v1/orders/{order.number}/shipments/").status_code == 405
    assert api.get(f"/api/v1/orders/{order.number}/").status_code == 200


def test_channel_keys_see_only_their_orders(shop, stock, make_client):
    order = paid_order(shop, stock)
    other = make_client(channel=SalesChannelFactory(code="market"))
    response = post_json(other, CHANNEL_SHAPE, camel(order, line_ids(order)["A"]))
    assert response.status_code == 400
    assert response.json()["errors"] == {"orderId": ["No such order."]}
    snake = post_json(
        other, f"/api/v1/orders/{order.number}/shipments/",
        {"reference": "S1", "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]},
    )
    assert snake.status_code == 404
    assert Shipment.objects.count() == 0


def test_integration_keys_need_the_shipments_scope(shop, stock, make_client):
    order = paid_order(shop, stock)
    reader = make_client(scopes=["orders:read"])
    refused = post_json(reader, CHANNEL_SHAPE, camel(order, line_ids(order)["A"]))
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    warehouse_system = make_client(scopes=["shipments:write"])
    accepted = post_json(warehouse_system, CHANNEL_SHAPE, camel(order, line_ids(order)["A"]))
    assert accepted.status_code == 201
    listed = warehouse_system.get(f"/api/v1/shipments/?order={order.number}")
    assert [item["reference"] for item in listed.json()["results"]] == ["PKG-1"]


def test_shipment_list_query_count_is_constant(api, shop, stock, django_assert_max_num_queries):
    order = paid_order(shop, stock, quantity_a=4)
    for number in range(4):
        post_json(api, CHANNEL_SHAPE, camel(order, line_ids(order)["A"], shipmentRef=f"P{number}"))
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/shipments/")
    assert len(response.json()["results"]) == 4


def test_a_shipment_reported_outside_the_queue_takes_its_units_out_of_the_queue(
    api, shop, stock
):
    from orders.fulfillment_errors import PackMismatch
    from orders.models import FulfillmentOrder, OrderEvent
    from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start

    order = paid_order(shop, stock, quantity_a=4)
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert fulfillment_order.lines.get().quantity == 4
    line = line_ids(order)["A"]
    body = {"reference": "3PL-1", "warehouse": "EAST", "lines": [{"line_id": line, "quantity": 1}]}
    response = post_json(api, f"/api/v1/orders/{order.number}/shipments/", body)
    assert response.status_code == 201, response.content
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.lines.get().quantity) == ("open", 3)
    # The queue now packs only what is left, and ships it.
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="wms")
    with pytest.raises(PackMismatch):  # four scanned, three left to ship
        fulfillment_pack(fulfillment_order=fulfillment_order, actor="wms", scans=["A"] * 4)
    body = {"reference": "3PL-2", "warehouse": "EAST", "lines": [{"line_id": line, "quantity": 3}]}
    response = post_json(api, f"/api/v1/orders/{order.number}/shipments/", body)
    assert response.status_code == 201, response.content
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "cancelled"
    assert OrderEvent.objects.filter(
        order=order,
        to_status="cancelled",
        message=f"FO-{fulfillment_order.pk} at EAST: "
        "Shipped outside the fulfillment queue (shipment 3PL-2)",
    ).exists()
    order.refresh_from_db()
    assert order.status == "shipped"


def shipment_state(order) -> tuple:
    order.refresh_from_db()
    return (
        order.status,
        list(order.lines.order_by("pk").values_list("pk", "quantity_shipped")),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
        list(Shipment.objects.order_by("pk").values_list("reference", "tracking_number")),
        OutboxEvent.objects.count(),
        EmailMessage.objects.count(),
    )


def test_reused_reference_with_other_lines_is_409_on_the_order(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    ids = line_ids(order)
    path = f"/api/v1/orders/{order.number}/shipments/"
    first = post_json(
        api, path, {"reference": "SH1", "lines": [{"line_id": ids["A"], "quantity": 1}]}
    )
    assert first.status_code == 201, first.json()
    before = shipment_state(order)
    reused = post_json(
        api, path, {"reference": "SH1", "lines": [{"line_id": ids["B"], "quantity": 1}]}
    )
    assert reused.status_code == 409
    assert reused["Content-Type"] == "application/problem+json"
    problem = reused.json()
    assert problem["code"] == "shipment_reference_reused"
    assert list(problem["errors"]) == ["reference"]
    assert "SH1" in problem["detail"]
    assert shipment_state(order) == before
    assert order.lines.get(sku="B").quantity_shipped == 0


def test_same_reference_and_body_with_a_new_key_replays_the_shipment(api, shop, stock):
    order = paid_order(shop, stock, quantity_a=2)
    path = f"/api/v1/orders/{order.number}/shipments/"
    body = {"reference": "SH1", "carrier": "UPS", "tracking_number": "1Z1",
            "tracking_url": "https://ups.example/1Z1",
            "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]}
    first = post_json(api, path, body, key="first")
    before = shipment_state(order)
    again = post_json(api, path, body, key="second")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert shipment_state(order) == before


@pytest.mark.parametrize(
    "change",
    [
        {"lineItems": "other line"},
        {"trackingNumber": "1Z-OTHER"},
        {"shipmentCarrier": "FedEx"},
    ],
)
def test_camel_case_reused_reference_with_other_content_is_409(api, shop, stock, change):
    order = paid_order(shop, stock, quantity_a=2, quantity_b=1)
    ids = line_ids(order)
    assert post_json(api, CHANNEL_SHAPE, camel(order, ids["A"])).status_code == 201
    before = shipment_state(order)
    document = camel(order, ids["A"], **change)
    if change.get("lineItems"):
        document = camel(order, ids["B"])
    reused = post_json(api, CHANNEL_SHAPE, document)
    assert reused.status_code == 409
    assert reused["Content-Type"] == "application/problem+json"
    problem = reused.json()
    assert problem["code"] == "shipment_reference_reused"
    assert list(problem["errors"]["shipments"]["0"]) == ["shipmentRef"]
    assert shipment_state(order) == before


def test_pickup_orders_cannot_ship_over_the_api(api, shop, stock):
    stock("A", "STORE1", 2)
    order = paid_order(shop, stock, fulfillment_method="pickup", pickup_location="STORE1")
    before = shipment_state(order)
    native = post_json(
        api, f"/api/v1/orders/{order.number}/shipments/",
        {"reference": "S1", "lines": [{"line_id": line_ids(order)["A"], "quantity": 1}]},
    )
    channel = post_json(api, CHANNEL_SHAPE, camel(order, line_ids(order)["A"]))
    for response in (native, channel):
        assert response.status_code == 409
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_transition"
        assert "handed over in store" in response.json()["detail"]
    assert shipment_state(order) == before
