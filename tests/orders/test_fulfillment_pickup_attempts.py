"""Guessing pickup codes: a few wrong codes lock the counter out for a while, each is logged,
staff can still hand over, and the right code works again once the lockout ends."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from oms_project.errors import OmsError
from orders.fulfillment_errors import PickupCodeInvalid
from orders.models import FulfillmentOrder, OrderEvent
from orders.services import order_create
from orders.services.fulfillment import (
    PICKUP_CODE_LOCKOUT,
    PICKUP_CODE_MAX_FAILURES,
    PICKUP_CODE_WINDOW,
    PickupCodeLocked,
    fulfillment_collect,
    fulfillment_hand_over,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
)
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def wms(make_client):
    return make_client(scopes=["orders:write"], name="store-till")


@pytest.fixture
def ready(shop, stock):
    """A pickup order on the shelf at STORE1 and its code: (fulfillment order, code)."""
    stock("A", "STORE1", 2)
    with time_machine.travel(START, tick=False):
        order = order_create(
            channel=shop["channel"],
            data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
            actor="test",
        )
        fulfillment_order = FulfillmentOrder.objects.get(order=order)
        fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
        fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
        fulfillment_order, code = fulfillment_ready_for_pickup(
            fulfillment_order=fulfillment_order, actor="t"
        )
    return fulfillment_order, code


def wrong_code(code: str) -> str:
    return "00000000" if code != "00000000" else "11111111"


def collect(client, fulfillment_order, code, at):
    with time_machine.travel(at, tick=False):
        return client.post(
            f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/collect/",
            {"code": code},
            format="json",
        )


def rejected_events(fulfillment_order):
    return OrderEvent.objects.filter(
        order_id=fulfillment_order.order_id, type="pickup_code_rejected"
    ).order_by("pk")


def test_the_limits_are_small(ready):
    assert PICKUP_CODE_MAX_FAILURES == 5
    assert PICKUP_CODE_WINDOW == PICKUP_CODE_LOCKOUT == timedelta(minutes=15)


def test_five_wrong_codes_lock_out_every_code_until_the_lockout_ends(ready, wms):
    fulfillment_order, code = ready
    wrong = wrong_code(code)

    answers = [collect(wms, fulfillment_order, wrong, START + timedelta(minutes=minute))
               for minute in range(5)]

    assert [answer.status_code for answer in answers] == [400] * 5
    assert {answer.json()["code"] for answer in answers} == {"invalid_pickup_code"}
    assert [answer.json()["attempts_left"] for answer in answers] == [4, 3, 2, 1, 0]
    assert "Too many wrong codes" in answers[-1].json()["detail"]
    locked_until = START + timedelta(minutes=4) + PICKUP_CODE_LOCKOUT

    refused = collect(wms, fulfillment_order, code, START + timedelta(minutes=10))

    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "pickup_code_locked"
    assert refused.json()["locked_until"] == locked_until.isoformat().replace("+00:00", "Z")
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.pickup_code_used_at) == (
        "ready_for_pickup", None
    )
    assert fulfillment_order.order.status == "ready_for_pickup"

    collected = collect(wms, fulfillment_order, code, locked_until + timedelta(seconds=1))

    assert collected.status_code == 200, collected.json()
    assert collected.json()["status"] == "closed"
    fulfillment_order.order.refresh_from_db()
    assert fulfillment_order.order.status == "complete"


def test_each_wrong_code_is_recorded_as_an_event(ready, wms):
    fulfillment_order, code = ready
    for minute in range(3):
        collect(wms, fulfillment_order, wrong_code(code), START + timedelta(minutes=minute))

    events = list(rejected_events(fulfillment_order))

    assert [event.data["failures"] for event in events] == [1, 2, 3]
    assert {event.data["fulfillment_order"] for event in events} == {fulfillment_order.pk}
    assert all(event.actor for event in events)
    assert events[0].message == (
        f"FO-{fulfillment_order.pk} at STORE1: wrong pickup code (1 of 5)"
    )


def test_a_wrong_code_during_the_lockout_is_not_checked_and_does_not_extend_it(ready, wms):
    fulfillment_order, code = ready
    for minute in range(5):
        collect(wms, fulfillment_order, wrong_code(code), START + timedelta(minutes=minute))

    refused = collect(wms, fulfillment_order, wrong_code(code), START + timedelta(minutes=6))

    assert refused.status_code == 429
    assert rejected_events(fulfillment_order).count() == 5
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.pickup_code_locked_until == (
        START + timedelta(minutes=4) + PICKUP_CODE_LOCKOUT
    )


def test_wrong_codes_spread_over_more_than_the_window_do_not_lock(ready, wms):
    fulfillment_order, code = ready
    for minute in range(4):
        collect(wms, fulfillment_order, wrong_code(code), START + timedelta(minutes=minute))

    later = START + PICKUP_CODE_WINDOW + timedelta(minutes=1)
    answer = collect(wms, fulfillment_order, wrong_code(code), later)

    assert answer.status_code == 400
    assert answer.json()["attempts_left"] == 4
    assert collect(wms, fulfillment_order, code, later).json()["status"] == "closed"


def test_after_a_lockout_the_counter_starts_again(ready):
    fulfillment_order, code = ready
    for minute in range(5):
        with time_machine.travel(START + timedelta(minutes=minute), tick=False), \
                pytest.raises(PickupCodeInvalid):
            fulfillment_collect(fulfillment_order=fulfillment_order, code=wrong_code(code),
                                actor="till")
    after = START + timedelta(minutes=4) + PICKUP_CODE_LOCKOUT + timedelta(seconds=1)

    with time_machine.travel(after, tick=False), pytest.raises(PickupCodeInvalid) as wrong:
        fulfillment_collect(fulfillment_order=fulfillment_order, code=wrong_code(code),
                            actor="till")

    assert wrong.value.extra["attempts_left"] == 4


def test_staff_hand_over_without_the_code_while_locked(ready):
    fulfillment_order, code = ready
    for minute in range(5):
        with time_machine.travel(START + timedelta(minutes=minute), tick=False), \
                pytest.raises(PickupCodeInvalid):
            fulfillment_collect(fulfillment_order=fulfillment_order, code=wrong_code(code),
                                actor="till")
    with time_machine.travel(START + timedelta(minutes=6), tick=False), \
            pytest.raises(PickupCodeLocked):
        fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="till")

    with time_machine.travel(START + timedelta(minutes=7), tick=False):
        handed = fulfillment_hand_over(
            fulfillment_order=fulfillment_order, actor="admin:kim",
            reason="Photo ID checked against the order",
        )

    assert handed.status == "closed" and handed.pickup_code_used_at is not None
    handed.order.refresh_from_db()
    assert handed.order.status == "complete"
    event = OrderEvent.objects.filter(
        order_id=handed.order_id, type="fulfillment_status_changed", to_status="closed"
    ).get()
    assert event.actor == "admin:kim"
    assert event.message == (
        f"FO-{handed.pk} at STORE1: Handed over by staff without the code: "
        "Photo ID checked against the order"
    )


def test_staff_hand_over_needs_a_reason_and_a_ready_pickup(ready, shop, stock):
    fulfillment_order, _code = ready
    with pytest.raises(OmsError) as missing:
        fulfillment_hand_over(fulfillment_order=fulfillment_order, actor="kim", reason=" ")
    assert missing.value.code == "validation_error"
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"

    stock("A", "EAST", 2)
    shipped = order_create(channel=shop["channel"], data=order_data(channel_order_id="W-2"),
                           actor="test")
    with pytest.raises(OmsError) as not_ready:
        fulfillment_hand_over(fulfillment_order=FulfillmentOrder.objects.get(order=shipped),
                              actor="kim", reason="ID checked")
    assert not_ready.value.code == "invalid_transition"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_wrong_codes_are_each_counted_and_lock_after_the_limit(shop, stock):
    from tests.orders.pickups import on_the_shelf, pickup_order
    from tests.orders.test_concurrency import race

    fulfillment_order, code = on_the_shelf(pickup_order(shop, stock))

    def guess(_index):
        try:
            fulfillment_collect(fulfillment_order=FulfillmentOrder(pk=fulfillment_order.pk),
                                code=wrong_code(code), actor="till")
        except OmsError as error:
            return error.code
        return "ok"

    results = race(8, guess)

    assert sorted(results) == ["invalid_pickup_code"] * 5 + ["pickup_code_locked"] * 3
    assert rejected_events(fulfillment_order).count() == 5
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.pickup_code_locked_until is not None
    assert fulfillment_order.status == "ready_for_pickup"


def test_staff_hand_over_from_the_admin_needs_a_reason_and_completes_the_order(
    admin_client, ready
):
    from django.urls import reverse

    fulfillment_order, _code = ready
    changelist = admin_client.get(reverse("admin:orders_fulfillmentorder_changelist"))
    url = reverse("admin:orders_fulfillmentorder_hand_over", args=[fulfillment_order.pk])
    assert url in changelist.content.decode()  # offered while the order is on the shelf
    refused = admin_client.post(url, {"reason": "  "})
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"
    done = admin_client.post(url, {"reason": "ID card checked"})
    assert done.status_code == 302
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.order.status == "complete"
    assert OrderEvent.objects.filter(
        order=fulfillment_order.order, message__contains="ID card checked"
    ).exists()
    again = admin_client.post(url, {"reason": "ID card checked"})
    assert again.status_code == 200  # already collected: the service's refusal on the form


def test_a_pickup_on_the_shelf_cannot_be_closed_and_can_still_be_collected(wms, ready):
    fulfillment_order, code = ready
    base = f"/api/v1/fulfillment-orders/{fulfillment_order.pk}"
    refused = wms.post(f"{base}/close/", {}, format="json")
    assert refused.status_code == 409
    assert "collect it with the customer's code" in refused.json()["detail"]
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"
    collected = wms.post(f"{base}/collect/", {"code": code}, format="json")
    assert collected.status_code == 200, collected.content
    assert collected.json()["status"] == "closed"


def test_a_wrong_code_retried_under_its_idempotency_key_is_replayed_not_counted_again(
    ready, wms
):
    """A wrong code is a 400 that is recorded (it counts towards the lockout), so its key
    keeps the answer: a client retrying after a lost response does not use up a second try."""
    fulfillment_order, code = ready
    answers = [
        wms.post(
            f"/api/v1/fulfillment-orders/{fulfillment_order.pk}/collect/",
            {"code": wrong_code(code)}, format="json", HTTP_IDEMPOTENCY_KEY="till-7",
        )
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [400, 400]
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert answers[1].json() == answers[0].json()
    assert rejected_events(fulfillment_order).count() == 1
