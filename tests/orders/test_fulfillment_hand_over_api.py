"""Staff hand a ready pickup order over without its code through the API (the code is lost,
or wrong guesses locked the counter out), with a required reason."""

import pytest

from orders.models import FulfillmentOrder, OrderEvent
from orders.services import order_create
from orders.services.fulfillment import (
    fulfillment_collect,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
)
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(make_client):
    return make_client(scopes=["orders:write"], name="store-till")


def pickup(shop, stock, channel_order_id: str = "WEB-1") -> FulfillmentOrder:
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(channel_order_id=channel_order_id, fulfillment_method="pickup",
                        pickup_location="STORE1"),
        actor="test",
    )
    return FulfillmentOrder.objects.get(order=order)


@pytest.fixture
def ready(shop, stock):
    """A pickup order on the shelf at STORE1 and its code: (fulfillment order, code)."""
    fulfillment_order = pickup(shop, stock)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    return fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order, actor="t")


def hand_over(client, fulfillment_order, body, **headers):
    return client.post(
        f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/hand-over/", body, format="json",
        **headers,
    )


def test_hand_over_completes_the_order_and_logs_the_reason(ready, till):
    fulfillment_order, _code = ready

    response = hand_over(till, fulfillment_order, {"reason": "Photo ID checked"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed"
    assert response.json()["is_pickup_code_used"] is True
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.order.status == "complete"
    event = OrderEvent.objects.get(
        order_id=fulfillment_order.order_id, type="fulfillment_status_changed",
        to_status="closed",
    )
    assert event.message == (
        f"FO-{fulfillment_order.pk} at STORE1: Handed over by staff without the code: "
        "Photo ID checked"
    )
    assert event.actor == f"api_key:{till.api_key.prefix}"


def test_hand_over_without_a_reason_is_refused_and_changes_nothing(ready, till):
    fulfillment_order, _code = ready
    events = OrderEvent.objects.count()

    missing = hand_over(till, fulfillment_order, {})
    blank = hand_over(till, fulfillment_order, {"reason": "  "})

    assert missing.status_code == 400
    assert missing["Content-Type"] == "application/problem+json"
    assert missing.json()["code"] == "validation_error"
    assert missing.json()["errors"] == {"reason": ["This field is required."]}
    assert blank.status_code == 400
    assert blank.json()["errors"] == {"reason": ["This field may not be blank."]}
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.pickup_code_used_at) == (
        "ready_for_pickup", None
    )
    assert fulfillment_order.order.status == "ready_for_pickup"
    assert OrderEvent.objects.count() == events


def test_hand_over_refuses_unknown_fields(ready, till):
    fulfillment_order, _code = ready

    response = hand_over(till, fulfillment_order, {"reason": "ID checked", "code": "1"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"code": ["Unknown field."]}
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"


def test_hand_over_of_a_pickup_not_ready_yet_is_a_conflict(shop, stock, till):
    fulfillment_order = pickup(shop, stock)

    response = hand_over(till, fulfillment_order, {"reason": "ID checked"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["detail"] == (
        f"Fulfillment order {fulfillment_order.pk} is open, not ready for pickup."
    )
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"
    assert fulfillment_order.order.status == "processing"


def test_hand_over_of_a_collected_pickup_is_a_conflict(ready, till):
    fulfillment_order, code = ready
    fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="till")
    events = OrderEvent.objects.count()

    response = hand_over(till, fulfillment_order, {"reason": "ID checked"})

    assert response.status_code == 409
    assert response.json()["code"] == "pickup_code_used"
    assert OrderEvent.objects.count() == events


def test_channel_keys_cannot_hand_over(ready, make_client, shop):
    fulfillment_order, _code = ready
    channel = make_client(channel=shop["channel"])

    response = hand_over(channel, fulfillment_order, {"reason": "ID checked"})

    assert response.status_code == 403
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"


def test_hand_over_with_an_idempotency_key_replays_the_first_answer(ready, till):
    fulfillment_order, _code = ready

    first = hand_over(till, fulfillment_order, {"reason": "ID checked"},
                      HTTP_IDEMPOTENCY_KEY="hand-1")
    again = hand_over(till, fulfillment_order, {"reason": "ID checked"},
                      HTTP_IDEMPOTENCY_KEY="hand-1")

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert OrderEvent.objects.filter(
        order_id=fulfillment_order.order_id, to_status="closed",
        type="fulfillment_status_changed",
    ).count() == 1


def test_hand_over_is_documented_with_its_problems(client):
    schema = client.get("/api/v1/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/fulfillment-orders/{id}/hand-over/"]["post"]

    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert component["required"] == ["reason"]
    assert {"200", "400", "403", "404", "409"} <= set(operation["responses"])
    assert "pickup_code_used" in operation["responses"]["409"]["description"]
    assert "application/problem+json" in operation["responses"]["409"]["content"]
    headers = [item for item in operation["parameters"] if item["in"] == "header"]
    assert [(item["name"], item.get("required", False)) for item in headers] == [
        ("Idempotency-Key", False)
    ]
    collect = schema["paths"]["/api/v1/fulfillment-orders/{id}/collect/"]["post"]
    assert "/hand-over/" in collect["responses"]["429"]["description"]
