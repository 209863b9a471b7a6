"""Admin: why this location on the order, the warehouse queue and its actions, pick lists,
pack verification, and routing rules with validation and a dry run."""

import pytest
from django.urls import reverse

from orders.models import FulfillmentOrder, RoutingRuleSet
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    return order, FulfillmentOrder.objects.get(order=order)


def test_order_page_shows_why_this_location(admin_client, placed):
    order, fulfillment_order = placed
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Routing decisions (why this location)" in html
    assert "EAST can fill the whole order" in html
    assert f"FO-{fulfillment_order.pk}" in html


def test_queue_pick_list_and_batch_pick_list(admin_client, placed, shop, stock):
    order, fulfillment_order = placed
    second = order_create(channel=shop["channel"],
                          data=order_data(channel_order_id="WEB-2"), actor="test")
    queue = admin_client.get(
        reverse("admin:orders_fulfillmentorder_changelist") + "?warehouse__id__exact="
        + str(fulfillment_order.warehouse_id)
    )
    assert queue.status_code == 200 and order.number in queue.content.decode()
    pick_list = admin_client.get(
        reverse("admin:orders_fulfillmentorder_pick_list", args=[fulfillment_order.pk])
    )
    assert pick_list.status_code == 200
    assert f"Pick list FO-{fulfillment_order.pk}" in pick_list.content.decode()
    batch = admin_client.get(
        reverse("admin:orders_fulfillmentorder_batch_pick_list") + "?warehouse=EAST"
    )
    assert [(g["sku"], g["quantity"], [o[0] for o in g["orders"]]) for g in
            batch.context["groups"]] == [("A", 4, [order.number, second.number])]
    assert admin_client.get(
        reverse("admin:orders_fulfillmentorder_batch_pick_list")
    ).status_code == 404


def test_pack_page_blocks_a_mismatch_then_packs(admin_client, placed):
    from orders.services.fulfillment import fulfillment_pick_start

    _, fulfillment_order = placed
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    url = reverse("admin:orders_fulfillmentorder_pack", args=[fulfillment_order.pk])
    wrong = admin_client.post(url, {"scans": "A\nB"})
    assert wrong.status_code == 200
    assert wrong.context["problems"] == {
        "A": ["Expected 2, scanned 1."], "B": ["Not on this fulfillment order (scanned 1)."]
    }
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "picking"
    done = admin_client.post(url, {"scans": "A x 2"})
    assert done.status_code == 302
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "packed"


def test_reroute_and_pick_actions(admin_client, placed):
    order, fulfillment_order = placed
    changelist = reverse("admin:orders_fulfillmentorder_changelist")
    west = FulfillmentOrder._meta.get_field("warehouse").related_model.objects.get(code="WEST")
    response = admin_client.post(changelist, {
        "action": "reroute", "_selected_action": [fulfillment_order.pk], "apply": "1",
        "warehouse": west.pk, "reason": "EAST short of staff",
    }, follow=True)
    assert response.status_code == 200
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "cancelled"
    moved = FulfillmentOrder.objects.get(order=order, status="open")
    assert moved.warehouse.code == "WEST"
    admin_client.post(changelist, {"action": "start_picking", "_selected_action": [moved.pk]})
    moved.refresh_from_db()
    assert moved.status == "picking"


def test_rules_are_validated_and_saved_with_a_version(admin_client, shop):
    url = reverse("admin:orders_routingruleset_add")
    base = {"channel": shop["channel"].pk, "is_active": "on", "check_freight": "on",
            "check_destination": "on", "check_capacity": "on", "check_outages": "on"}
    bad = admin_client.post(url, {**base, "strategy_order": "nearest, cheapest",
                                  "preferred": "EAST", "excluded": "EAST, NOPE"})
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert errors["strategy_order"] == [
        "Unknown strategy 'cheapest'. Use: priority, nearest, fewest_shipments, most_stock, "
        "earliest_promise."
    ]
    assert errors["excluded"] == ["Unknown location 'NOPE'."]
    assert errors["preferred"] == ["Location 'EAST' is both preferred and excluded."]
    assert not RoutingRuleSet.objects.exists()
    good = admin_client.post(url, {**base, "strategy_order": "nearest, priority",
                                   "preferred": "", "excluded": "WEST"})
    assert good.status_code == 302
    rule_set = RoutingRuleSet.objects.get()
    assert (rule_set.strategies, rule_set.excluded_locations, rule_set.version) == (
        ["nearest", "priority"], ["WEST"], 1
    )
    change = reverse("admin:orders_routingruleset_change", args=[rule_set.pk])
    changed = admin_client.post(change, {**base, "strategy_order": "priority", "preferred": "",
                                         "excluded": ""}, follow=True)
    rule_set.refresh_from_db()
    assert (rule_set.strategies, rule_set.version) == (["priority"], 2)
    # The message names the version the save made, not the one the form was opened on.
    assert [str(message) for message in changed.context["messages"]][-1].count(str(rule_set))


def test_dry_run_shows_where_orders_would_go_and_saves_nothing(admin_client, placed, shop):
    order, _ = placed
    url = reverse("admin:orders_routingruleset_add")
    response = admin_client.post(url, {
        "channel": shop["channel"].pk, "is_active": "on", "strategy_order": "priority",
        "preferred": "WEST", "excluded": "", "check_freight": "on", "_simulate": "1",
        "simulate_last": "10",
    })
    assert response.status_code == 200
    result = response.context["result"]
    assert result["totals"]["orders"] == 1 and result["totals"]["moved"] == 1
    (row,) = result["rows"]
    assert row["order"] == order.number
    assert (row["now"]["locations"], row["now"]["short"]) == (["EAST"], 0)
    assert (row["simulated"]["locations"], row["simulated"]["short"]) == (["WEST"], 0)
    assert row["now"]["delivery"] == row["simulated"]["delivery"]
    assert not RoutingRuleSet.objects.exists()
    assert FulfillmentOrder.objects.get(order=order).warehouse.code == "EAST"


def test_fulfillment_order_page_shows_a_repack_after_a_cancellation(admin_client, placed):
    from orders.services import order_cancel
    from orders.services.fulfillment import fulfillment_pack, fulfillment_pick_start

    order, fulfillment_order = placed
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="t")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="t")
    order_cancel(order=order, actor="support", reason="too many",
                 lines={order.lines.get().pk: 1})

    page = admin_client.get(
        reverse("admin:orders_fulfillmentorder_change", args=[fulfillment_order.pk])
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Picking" in html and "Packed and verified" in html
    assert "Cancelled: too many; re-pack without 1 x A" in html
    pack = admin_client.get(reverse("admin:orders_fulfillmentorder_pack",
                                    args=[fulfillment_order.pk]))
    assert pack.context["expected"] == {"A": 1}
