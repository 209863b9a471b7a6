"""Fixes from the fulfilment floor walk: collecting part of a pickup takes exactly its units,
holds stop the pickup counter and "start picking", a split order promises its latest part,
the ready-for-pickup e-mail says what is on the shelf, and the batch pick list leaves out
what is not to pick; pickups left on the shelf are reminded once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockLevel, StockReservation
from oms_project.models import EmailMessage
from orders.errors import InvalidTransition
from orders.models import FulfillmentOrder, Order, OrderEvent
from orders.services import order_create, order_hold
from orders.services.backorders import backorders_allocate
from orders.services.fulfillment import (
    fulfillment_collect,
    fulfillment_hand_over,
    fulfillment_hold,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
    fulfillment_release,
    fulfillment_reroute,
    fulfillment_ship,
    pickup_reminders_send,
)
from tests.factories import WarehouseFactory
from tests.orders.conftest import order_data
from tests.orders.pickups import on_the_shelf
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db

A_AND_B = [
    {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
    {"sku": "B", "quantity": 1, "unit_price": Decimal("5.00")},
]
PAID_32 = {"method": "card", "amount": Decimal("32.00"), "status": "captured"}


def _backorder(channel):
    channel.shortage_policy = "backorder"
    channel.save(update_fields=["shortage_policy"])


def _levels(sku: str, code: str = "STORE1") -> tuple[int, int]:
    level = StockLevel.objects.get(product__sku=sku, warehouse__code=code)
    return level.on_hand, level.allocated


def _split_pickup(shop, stock) -> tuple[Order, FulfillmentOrder]:
    """A paid pickup order at STORE1 for A x 2 (in stock) and B x 1 (none): backordered."""
    _backorder(shop["channel"])
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1",
                        lines=A_AND_B, payment=PAID_32),
        actor="test",
    )
    order.refresh_from_db()
    assert order.status == "backordered"
    return order, FulfillmentOrder.objects.get(order=order)


def _b_arrives(shop, stock) -> FulfillmentOrder:
    """B x 1 reaches STORE1 and fills the backorder; return the fulfillment order made."""
    stock("B", "STORE1", 1)
    backorders_allocate(product_ids=[shop["products"]["B"].pk], actor="test")
    return FulfillmentOrder.objects.get(lines__order_line__sku="B")


# 1. Collecting part of a pickup takes exactly its units -----------------------------------


def test_collecting_a_pickup_of_a_backordered_order_consumes_its_stock(shop, stock):
    """A pickup order with one line in stock and one backordered: the ready part is collected
    with the right code. The units handed over must leave stock and count as shipped."""
    order, fulfillment_order = _split_pickup(shop, stock)
    fulfillment_order, code = on_the_shelf(fulfillment_order, [{"sku": "A", "quantity": 2}])

    fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")

    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "closed"
    line_a = order.lines.get(sku="A")
    # Two units left the store with the customer.
    assert _levels("A") == (0, 0)
    assert (line_a.quantity_shipped, line_a.quantity_allocated) == (2, 0)
    assert not StockReservation.objects.filter(reference=f"order_line:{line_a.pk}").exists()
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    assert order.events.filter(type="pickup_collected", message__contains="2 x A").exists()


def test_backorder_filled_after_a_partial_collection_asks_only_for_the_new_units(shop, stock):
    order, fulfillment_order = _split_pickup(shop, stock)
    fulfillment_order, code = on_the_shelf(fulfillment_order, ["A", "A"])
    fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")

    second = _b_arrives(shop, stock)

    assert list(second.lines.values_list("order_line__sku", "quantity")) == [("B", 1)]
    assert list(
        FulfillmentOrder.objects.filter(order=order).exclude(status="closed")
        .values_list("pk", flat=True)
    ) == [second.pk]
    # The rest goes on the shelf and is collected: the order completes, the stock is gone.
    second, second_code = on_the_shelf(second, ["B"])
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    fulfillment_collect(fulfillment_order=second, code=second_code, actor="u")
    order.refresh_from_db()
    assert order.status == "complete"
    assert (_levels("A"), _levels("B")) == ((0, 0), (0, 0))
    assert [line.quantity_shipped for line in order.lines.order_by("sku")] == [2, 1]


def test_handing_over_one_of_two_ready_parts_takes_only_its_units(shop, stock):
    """Both parts wait on the shelf (the order is ready for pickup): handing one over must
    not take the other's units, which stay reserved until collected with their own code."""
    order, first = _split_pickup(shop, stock)
    first, _first_code = on_the_shelf(first, ["A", "A"])
    second = _b_arrives(shop, stock)
    second, second_code = on_the_shelf(second, ["B"])
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"

    fulfillment_hand_over(fulfillment_order=first, actor="staff", reason="ID card checked")

    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    assert (_levels("A"), _levels("B")) == ((0, 0), (1, 1))
    assert [line.quantity_shipped for line in order.lines.order_by("sku")] == [2, 0]
    second.refresh_from_db()
    assert second.status == "ready_for_pickup"
    fulfillment_collect(fulfillment_order=second, code=second_code, actor="u")
    order.refresh_from_db()
    assert order.status == "complete"
    assert _levels("B") == (0, 0)


# 2. A held order is not packed, put on the shelf or handed over ---------------------------


def test_a_pickup_order_on_fraud_hold_is_not_put_ready_for_pickup(shop, stock):
    """The store must not put the part in stock on the shelf (e-mailing the code) while the
    order is held for fraud review."""
    order, fulfillment_order = _split_pickup(shop, stock)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="u")
    order_hold(order=order, reason_code="fraud_review", actor="risk")

    with pytest.raises(InvalidTransition) as refused:
        fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order, actor="u")

    assert refused.value.detail == (
        f"Order {order.number} is on hold (fraud review); release the order's hold before "
        "putting it ready for pickup."
    )
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.pickup_code_hash) == ("packed", "")
    assert not EmailMessage.objects.filter(template="ready_for_pickup").exists()


def test_a_fulfillment_order_of_a_held_order_is_not_packed(shop, stock):
    order, fulfillment_order = _split_pickup(shop, stock)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    order_hold(order=order, reason_code="fraud_review", actor="risk")

    with pytest.raises(InvalidTransition, match="release the order's hold before packing"):
        fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="u")

    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.packed_at) == ("picking", None)


def test_a_part_on_the_shelf_is_not_handed_over_while_the_order_is_held(shop, stock):
    order, fulfillment_order = _split_pickup(shop, stock)
    fulfillment_order, code = on_the_shelf(fulfillment_order, ["A", "A"])
    order_hold(order=order, reason_code="fraud_review", actor="risk")

    with pytest.raises(InvalidTransition, match="before handing it over"):
        fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")
    with pytest.raises(InvalidTransition, match="before handing it over"):
        fulfillment_hand_over(fulfillment_order=fulfillment_order, actor="staff",
                              reason="ID card checked")

    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.pickup_code_used_at) == (
        "ready_for_pickup", None
    )
    assert fulfillment_order.pickup_code_failures == 0
    assert _levels("A") == (2, 2)
    order.refresh_from_db()
    assert order.status == "on_hold"


# 3. "Start picking" does not drop a fulfillment hold ---------------------------------------


@pytest.fixture
def held(shop, stock) -> FulfillmentOrder:
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_hold(fulfillment_order=fulfillment_order, reason="recount the bin", actor="lead")
    return fulfillment_order


def test_pick_start_does_not_skip_a_fulfillment_hold(held):
    """A fulfillment order held at the location ("damaged shelf, recount") must be released
    first; 'Start picking' must not silently drop the hold."""
    with pytest.raises(InvalidTransition) as refused:
        fulfillment_pick_start(fulfillment_order=held, actor="picker")

    assert refused.value.detail == (
        f"Fulfillment order {held.pk} is on hold (recount the bin); release the hold before "
        "picking."
    )
    held.refresh_from_db()
    assert (held.status, held.hold_reason) == ("on_hold", "recount the bin")
    fulfillment_release(fulfillment_order=held, actor="lead")
    assert fulfillment_pick_start(fulfillment_order=held, actor="picker").status == "picking"


def test_pick_over_the_api_refuses_a_held_fulfillment_order(held, make_client):
    wms = make_client(scopes=["orders:write"], name="wms")

    response = wms.post(f"/api/v1/fulfillment-orders/{held.pk}/pick/")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    held.refresh_from_db()
    assert (held.status, held.hold_reason) == ("on_hold", "recount the bin")


def test_start_picking_action_reports_the_hold_and_keeps_it(held, admin_client):
    response = admin_client.post(
        "/admin/orders/fulfillmentorder/",
        {"action": "start_picking", "_selected_action": [held.pk]},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        f"FO-{held.pk}: Fulfillment order {held.pk} is on hold (recount the bin); release the "
        "hold before picking."
    ]
    held.refresh_from_db()
    assert (held.status, held.hold_reason) == ("on_hold", "recount the bin")


# 4. A split order promises its latest part --------------------------------------------------


def test_rerouting_one_part_of_a_split_order_keeps_the_orders_promise_honest(shop, stock):
    """A split order promises the latest of its parts. Re-routing the early part must not
    move the order's promise before the other part's (still unchanged) promise."""
    Warehouse.objects.filter(code="WEST").update(handling_days=3)
    north = WarehouseFactory(code="NORTH", priority=3)
    shop["channel"].warehouses.add(north)
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    stock("A", "NORTH", 5)
    order = order_create(
        channel=shop["channel"], data=order_data(lines=A_AND_B, payment=PAID_32), actor="test"
    )
    east = FulfillmentOrder.objects.get(order=order, warehouse__code="EAST")
    west = FulfillmentOrder.objects.get(order=order, warehouse__code="WEST")
    order.refresh_from_db()
    assert order.promised_ship_date == west.promised_ship_date > east.promised_ship_date

    fulfillment_reroute(fulfillment_order=east, actor="ops", reason="flood", warehouse=north)

    order.refresh_from_db()
    assert order.promised_ship_date == west.promised_ship_date
    assert order.promised_delivery_date == west.promised_delivery_date


def test_a_filled_backorder_does_not_move_the_promise_before_the_parts_under_way(shop, stock):
    _backorder(shop["channel"])
    Warehouse.objects.filter(code="WEST").update(handling_days=3)
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    lines = [*A_AND_B, {"sku": "C", "quantity": 1, "unit_price": Decimal("5.00")}]
    order = order_create(
        channel=shop["channel"],
        data=order_data(lines=lines, payment={**PAID_32, "amount": Decimal("37.00")}),
        actor="test",
    )
    west = FulfillmentOrder.objects.get(order=order, warehouse__code="WEST")

    stock("C", "EAST", 1)
    backorders_allocate(product_ids=[shop["products"]["C"].pk], actor="test")

    order.refresh_from_db()
    assert order.lines.get(sku="C").quantity_allocated == 1
    assert order.promised_ship_date == west.promised_ship_date
    assert order.promised_delivery_date == west.promised_delivery_date


# 5. The ready-for-pickup e-mail says what is on the shelf -----------------------------------


def test_ready_for_pickup_email_of_a_partly_ready_order_names_what_is_ready(shop, stock):
    """Only line A of a backordered pickup order is on the shelf; the e-mail must say what
    can be collected and what is still to come, not announce the whole order as ready."""
    order, fulfillment_order = _split_pickup(shop, stock)

    on_the_shelf(fulfillment_order, ["A", "A"])

    mail = EmailMessage.objects.get(template="ready_for_pickup")
    assert mail.subject == f"Part of your Web shop order {order.number} is ready for pickup"
    assert f"part of order {order.number} is ready for you at Downtown store" in mail.body_text
    assert "- 2 x Product A (A)\n\nStill to come" in mail.body_text
    assert mail.body_text.split("Still to come")[1].count("Product") == 1
    assert "- 1 x Product B (B)" in mail.body_text
    assert "<li>2 x Product A (A)</li>" in mail.body_html
    assert "<li>1 x Product B (B)</li>" in mail.body_html


def test_ready_for_pickup_email_of_a_whole_order_lists_it_without_anything_to_come(
    shop, stock
):
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
        actor="test",
    )

    on_the_shelf(FulfillmentOrder.objects.get(order=order), ["A", "A"])

    mail = EmailMessage.objects.get(template="ready_for_pickup")
    assert mail.subject == f"Your Web shop order {order.number} is ready for pickup"
    assert f"order {order.number} is ready for you at Downtown store:" in mail.body_text
    assert "- 2 x Product A (A)" in mail.body_text
    assert "Still to come" not in mail.body_text and "Still to come" not in mail.body_html


# 6. The batch pick list sends pickers only to units still to pick --------------------------


def test_batch_pick_list_leaves_out_shipped_fulfillment_orders(shop, stock, admin_client):
    """Selecting a mix in the queue and printing a batch pick list must not send pickers to
    the shelf for units that already left, and says which selected ones it left out."""
    stock("A", "EAST", 10)
    shipped_order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    shipped = FulfillmentOrder.objects.get(order=shipped_order)
    fulfillment_pick_start(fulfillment_order=shipped, actor="u")
    fulfillment_pack(fulfillment_order=shipped, scans=[{"sku": "A", "quantity": 2}], actor="u")
    fulfillment_ship(fulfillment_order=shipped, actor="u")
    waiting_order = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="WEB-2"), actor="test"
    )
    waiting = FulfillmentOrder.objects.get(order=waiting_order)

    response = admin_client.get(
        f"/admin/orders/fulfillmentorder/batch-pick-list/?ids={shipped.pk},{waiting.pk}"
    )

    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(group["sku"], group["quantity"]) for group in groups] == [("A", 2)]
    assert response.context["count"] == 1
    assert response.context["left_out"] == [{"id": shipped.pk, "status": "Shipped"}]
    assert response.context["left_out_note"] == (
        f"Left out, nothing to pick: FO-{shipped.pk} (shipped)."
    )
    assert response.context["left_out_note"] in response.content.decode()


# 7. Pickups left on the shelf: one reminder, and a queue filter ----------------------------


def _ready_pickup(shop, stock, *, days_ago: int, channel_order_id: str = "WEB-1", **data):
    stock("A", "STORE1", 2)
    order = order_create(
        channel=shop["channel"],
        data=order_data(channel_order_id=channel_order_id, fulfillment_method="pickup",
                        pickup_location="STORE1", **data),
        actor="test",
    )
    fulfillment_order, code = on_the_shelf(FulfillmentOrder.objects.get(order=order), ["A"] * 2)
    FulfillmentOrder.objects.filter(pk=fulfillment_order.pk).update(
        updated_at=timezone.now() - timedelta(days=days_ago, hours=1)
    )
    return fulfillment_order, code


def test_a_pickup_waiting_three_days_is_reminded_once(shop, stock):
    from orders.tasks import pickup_reminders_send_task

    fulfillment_order, _code = _ready_pickup(shop, stock, days_ago=3)

    assert pickup_reminders_send_task() == 1
    assert pickup_reminders_send_task() == 0

    mail = EmailMessage.objects.get(template="pickup_reminder")
    order = fulfillment_order.order
    assert mail.subject == f"Reminder: your Web shop order {order.number} is waiting for pickup"
    assert "- 2 x Product A (A)" in mail.body_text
    assert "at Downtown store" in mail.body_text
    event = order.events.get(type="pickup_reminder_sent")
    assert event.data["fulfillment_order"] == fulfillment_order.pk
    assert event.data["email"] == mail.pk


def test_pickups_ready_lately_collected_or_not_emailed_get_no_reminder(shop, stock):
    fresh, _ = _ready_pickup(shop, stock, days_ago=2)
    collected, code = _ready_pickup(shop, stock, days_ago=5, channel_order_id="WEB-2")
    fulfillment_collect(fulfillment_order=collected, code=code, actor="u")
    FulfillmentOrder.objects.filter(pk=collected.pk).update(
        updated_at=timezone.now() - timedelta(days=5)
    )
    silent, _ = _ready_pickup(shop, stock, days_ago=5, channel_order_id="WEB-3",
                              notify_customer=False)
    assert (fresh.status, silent.status) == ("ready_for_pickup", "ready_for_pickup")
    assert silent.order.notify_customer is False

    assert pickup_reminders_send() == 0
    assert pickup_reminders_send(days=0) == 0  # reminders turned off

    assert not EmailMessage.objects.filter(template="pickup_reminder").exists()
    assert not OrderEvent.objects.filter(type="pickup_reminder_sent").exists()


def test_the_reminder_waits_the_configured_days(shop, stock, settings):
    settings.OMS_PICKUP_REMINDER_DAYS = 7
    _ready_pickup(shop, stock, days_ago=5)

    assert pickup_reminders_send() == 0
    assert pickup_reminders_send(now=timezone.now() + timedelta(days=2)) == 1


def test_pickup_reminders_run_daily():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["orders-pickup-reminders"]
    assert entry == {"task": "orders.tasks.pickup_reminders_send_task",
                     "schedule": 24 * 60 * 60}
    assert settings.OMS_PICKUP_REMINDER_DAYS == 3


def test_queue_filter_lists_pickups_waiting_more_than_n_days(shop, stock, admin_client):
    old, _ = _ready_pickup(shop, stock, days_ago=4)
    _ready_pickup(shop, stock, days_ago=1, channel_order_id="WEB-2")

    response = admin_client.get(
        "/admin/orders/fulfillmentorder/?ready_for_pickup_over_days=3"
    )

    assert response.status_code == 200
    assert [item.pk for item in response.context["cl"].result_list] == [old.pk]
    assert b"Ready for pickup for more than 3 days" in response.content


def test_reminded_pickups_do_not_hold_up_the_next_ones(shop, stock):
    first, _ = _ready_pickup(shop, stock, days_ago=6)
    second, _ = _ready_pickup(shop, stock, days_ago=4, channel_order_id="WEB-2")

    assert pickup_reminders_send(limit=1) == 1
    assert pickup_reminders_send(limit=1) == 1

    reminded = OrderEvent.objects.filter(type="pickup_reminder_sent").order_by("pk")
    assert [event.data["fulfillment_order"] for event in reminded] == [first.pk, second.pk]
