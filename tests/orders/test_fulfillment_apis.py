"""Fulfillment over the API: lists, work actions with their error codes, promise, decisions."""

import pytest

from orders.models import FulfillmentOrder
from orders.services import order_create
from tests.factories import SalesChannelFactory
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(make_client):
    return make_client(scopes=["orders:write"], name="wms")


@pytest.fixture
def placed(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 1)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    return order, FulfillmentOrder.objects.get(order=order)


def test_list_is_filtered_and_runs_constant_queries(shop, stock, wms, django_assert_num_queries):
    stock("A", "EAST", 50)
    for number in range(3):
        order_create(channel=shop["channel"],
                     data=order_data(channel_order_id=f"W-{number}"), actor="test")
    with django_assert_num_queries(4):
        response = wms.get("/api/v1/fulfillment-orders/?warehouse=EAST&status=open")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert results[0]["warehouse"] == "EAST" and results[0]["status"] == "open"
    assert results[0]["lines"][0]["sku"] == "A" and results[0]["lines"][0]["quantity"] == 2
    assert wms.get("/api/v1/fulfillment-orders/?warehouse=WEST").json()["results"] == []


def test_channel_key_reads_but_cannot_work(placed, channel_client, make_client):
    order, fulfillment_order = placed
    other = make_client(channel=SalesChannelFactory(code="other"))
    own = channel_client.get(f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/")
    assert own.status_code == 200
    assert other.get(f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/").status_code == 404
    response = channel_client.post(f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/pick/")
    assert response.status_code == 403
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"


def test_pick_pack_and_ship_through_the_api(placed, wms):
    order, fulfillment_order = placed
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    assert wms.post(f"{base}/pick/").json()["status"] == "picking"
    mismatch = wms.post(f"{base}/pack/", {"items": [{"sku": "A", "quantity": 3}]}, format="json")
    assert mismatch.status_code == 400
    assert mismatch["Content-Type"] == "application/problem+json"
    assert mismatch.json()["code"] == "pack_mismatch"
    assert mismatch.json()["errors"] == {"items": {"A": ["Expected 2, scanned 3."]}}
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "picking"
    packed = wms.post(f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2}]}, format="json")
    assert packed.json()["status"] == "packed"
    shipped = wms.post(f"{base}/ship/", {"tracking_number": "1Z1"}, format="json")
    assert shipped.status_code == 200
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["shipment"] == f"FO-{fulfillment_order.pk}"
    again = wms.post(f"{base}/pick/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_reroute_errors_and_success(placed, wms):
    order, fulfillment_order = placed
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    unknown = wms.post(f"{base}/reroute/", {"warehouse": "NOPE", "reason": "x"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"warehouse": ["Unknown location 'NOPE'."]}
    refused = wms.post(f"{base}/reroute/", {"warehouse": "WEST", "reason": "x"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "reroute_refused"
    assert refused.json()["detail"].startswith("WEST cannot take every unit")
    anywhere = wms.post(f"{base}/reroute/", {"reason": "x"}, format="json")
    assert anywhere.status_code == 409
    assert anywhere.json()["detail"].startswith("No other location can take every unit")
    missing_reason = wms.post(f"{base}/reroute/", {"warehouse": "WEST"}, format="json")
    assert missing_reason.status_code == 400
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"
    from inventory.services import stock_receive
    from warehouses.models import Warehouse

    stock_receive(product=order.lines.get().product, warehouse=Warehouse.objects.get(code="WEST"),
                  quantity=5, reference="t", actor="t")
    moved = wms.post(f"{base}/reroute/", {"warehouse": "WEST", "reason": "EAST closed"},
                     format="json")
    assert moved.status_code == 200
    assert [item["warehouse"] for item in moved.json()] == ["WEST"]


def test_order_fulfillment_shows_promise_and_decisions(placed, channel_client):
    order, fulfillment_order = placed
    order.refresh_from_db()
    response = channel_client.get(f"/api/v1/orders/{order.number}/fulfillment/")
    assert response.status_code == 200
    body = response.json()
    assert body["promised_ship_date"] == order.promised_ship_date.isoformat()
    assert body["promised_delivery_date"] == order.promised_delivery_date.isoformat()
    assert [item["id"] for item in body["fulfillment_orders"]] == [fulfillment_order.pk]
    decision = body["routing_decisions"][0]
    assert decision["locations"] == ["EAST"] and decision["trigger"] == "allocation"
    assert decision["explanation"]["reason"] == "EAST can fill the whole order"
    assert channel_client.get("/api/v1/orders/NOPE/fulfillment/").status_code == 404
    listed = channel_client.get(f"/api/v1/routing-decisions/?order={order.number}").json()
    assert [item["order"] for item in listed["results"]] == [order.number]


def test_collect_with_a_wrong_code_is_refused(shop, stock, wms):
    from tests.orders.pickups import on_the_shelf, pickup_order

    fulfillment_order, code = on_the_shelf(pickup_order(shop, stock))
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    wrong = wms.post(f"{base}/collect/", {"code": "x" + code}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_pickup_code"
    assert wms.post(f"{base}/collect/", {"code": code}, format="json").json()["status"] == "closed"
    used = wms.post(f"{base}/collect/", {"code": code}, format="json")
    assert used.status_code == 409 and used.json()["code"] == "pickup_code_used"


def test_cancelling_units_of_a_packed_fulfillment_order_over_the_api_asks_for_a_repack(
    placed, wms, api
):
    from tests.orders.shipping import post_json

    order, fulfillment_order = placed
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    wms.post(f"{base}/pick/")
    wms.post(f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2}]}, format="json")
    line_id = order.lines.get().pk

    response = post_json(api, f"/api/v1/orders/{order.number}/cancel/",
                         {"lines": [{"line_id": line_id, "quantity": 1}], "reason": "too many"})

    assert response.status_code == 200, response.content
    repack = [event for event in response.json()["events"]
              if event["type"] == "fulfillment_status_changed"
              and event["from_status"] == "packed"]
    assert [(event["to_status"], event["message"]) for event in repack] == [
        ("picking", f"FO-{fulfillment_order.pk} at EAST: Cancelled: too many; "
                    "re-pack without 1 x A")
    ]
    current = wms.get(f"{base}/").json()
    assert (current["status"], current["packed_at"]) == ("picking", None)
    assert [(line["sku"], line["quantity"]) for line in current["lines"]] == [("A", 1)]
    refused = wms.post(f"{base}/ship/", {"tracking_number": "1Z1"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    packed = wms.post(f"{base}/pack/", {"items": [{"sku": "A", "quantity": 1}]}, format="json")
    assert packed.json()["status"] == "packed"
