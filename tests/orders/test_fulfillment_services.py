"""Fulfillment orders: created by allocation per location, worked (pick, pack, ship, pickup),
held, re-routed and cancelled with the order; routing decisions and promises stored."""

import itertools
from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockReservation
from oms_project.errors import InvalidTransition, ValidationFailed
from oms_project.models import EmailMessage
from orders.fulfillment_errors import (
    PackMismatch,
    PickupCodeInvalid,
    PickupCodeUsed,
    RerouteRefused,
)
from orders.fulfillment_states import FULFILLMENT_TRANSITIONS, FulfillmentStatus
from orders.models import FulfillmentOrder, Order, OrderEvent, RoutingDecision
from orders.services import order_cancel, order_create, order_hold
from orders.services.fulfillment import (
    fulfillment_collect,
    fulfillment_hold,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
    fulfillment_release,
    fulfillment_reroute,
    fulfillment_ship,
    fulfillment_transition,
)
from tests.factories import WarehouseFactory
from tests.orders.conftest import order_data
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db


def reserved(order):
    return sorted(
        StockReservation.objects.filter(stock_level__product__order_lines__order=order)
        .values_list("stock_level__warehouse__code", "stock_level__product__sku", "quantity")
        .distinct()
    )


def two_line_data(**overrides):
    lines = [
        {"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")},
        {"sku": "B", "quantity": 1, "unit_price": Decimal("5.00")},
    ]
    payment = {"method": "card", "amount": Decimal("32.00"), "status": "captured"}
    return order_data(lines=lines, payment=payment, **overrides)


def test_paid_order_gets_one_fulfillment_order_with_decision_and_promise(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order.refresh_from_db()
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert fulfillment_order.warehouse.code == "EAST"
    assert fulfillment_order.status == "open"
    assert list(fulfillment_order.lines.values_list("order_line__sku", "quantity")) == [("A", 2)]
    decision = RoutingDecision.objects.get(order=order)
    assert decision.locations == ["EAST"] and decision.is_complete and not decision.is_split
    assert decision.trigger == "allocation"
    assert [c["location"] for c in decision.explanation["candidates"]] == ["EAST", "WEST"]
    assert decision.explanation["candidates"][1]["rejected"] == ["no usable stock for this order"]
    assert fulfillment_order.routing_decision == decision
    assert order.promised_ship_date == fulfillment_order.promised_ship_date
    assert order.promised_delivery_date == fulfillment_order.promised_delivery_date
    assert order.promised_delivery_date > order.promised_ship_date


def test_split_order_gets_one_fulfillment_order_per_location(shop, stock):
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    order = order_create(channel=shop["channel"], data=two_line_data(), actor="test")
    rows = sorted(
        (fo.warehouse.code, sku, quantity)
        for fo in FulfillmentOrder.objects.filter(order=order)
        for sku, quantity in fo.lines.values_list("order_line__sku", "quantity")
    )
    assert rows == [("EAST", "A", 2), ("WEST", "B", 1)]
    assert RoutingDecision.objects.get(order=order).is_split


def test_unpaid_order_has_no_fulfillment_order_until_paid(shop, stock):
    from orders.services import payment_apply

    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(payment=None), actor="test")
    assert not FulfillmentOrder.objects.filter(order=order).exists()
    payment_apply(order=order, method="card", amount=Decimal("27.00"), status="captured",
                  reference="p", actor="test")
    assert FulfillmentOrder.objects.get(order=order).warehouse.code == "EAST"


def test_cancelling_the_order_cancels_its_open_fulfillment_orders(shop, stock):
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    order = order_create(channel=shop["channel"], data=two_line_data(), actor="test")
    order_cancel(order=order, actor="test", reason="customer changed mind")
    statuses = set(FulfillmentOrder.objects.filter(order=order).values_list("status", flat=True))
    assert statuses == {"cancelled"}
    assert reserved(order) == []


def test_partial_cancellation_shrinks_the_fulfillment_order(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    line = order.lines.get()
    order_cancel(order=order, actor="test", lines={line.pk: 1})
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    assert fulfillment_order.status == "open"
    assert fulfillment_order.lines.get().quantity == 1


def test_pick_pack_verify_and_ship_from_the_fulfillment_orders_location(shop, stock):
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_order = fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    with pytest.raises(PackMismatch) as wrong:
        fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "B"], actor="u")
    assert wrong.value.errors == {"items": {
        "A": ["Expected 2, scanned 1."], "B": ["Not on this fulfillment order (scanned 1)."]
    }}
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "picking" and fulfillment_order.packed_at is None
    barcode = shop["products"]["A"].barcode
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", barcode], actor="u")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "packed"
    fulfillment_ship(fulfillment_order=fulfillment_order, actor="u", tracking_number="1Z9")
    fulfillment_order.refresh_from_db()
    order.refresh_from_db()
    assert fulfillment_order.status == "shipped"
    assert fulfillment_order.shipment.warehouse.code == "WEST"
    assert fulfillment_order.shipment.reference == f"FO-{fulfillment_order.pk}"
    assert order.status == "shipped"
    level = StockLevel.objects.get(product__sku="A", warehouse__code="WEST")
    assert (level.on_hand, level.allocated) == (3, 0)


def test_pack_refuses_bad_scan_shapes_and_unpicked_orders(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    with pytest.raises(ValidationFailed) as bad:
        fulfillment_pack(fulfillment_order=fulfillment_order,
                         scans=[{"sku": "A", "quantity": 0}, 7], actor="u")
    assert bad.value.errors == {"items": {
        "0": ["Quantity must be a positive whole number."],
        "1": ['Give a SKU, a barcode or {"sku": ..., "quantity": ...}.'],
    }}
    with pytest.raises(InvalidTransition):
        fulfillment_pack(fulfillment_order=fulfillment_order,
                         scans=[{"sku": "A", "quantity": 2}], actor="u")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"


def pickup_order(shop, stock):
    """A paid order for pickup at STORE1 (3 units of A in stock there) and its FO."""
    stock("A", "STORE1", 3)
    order = order_create(
        channel=shop["channel"],
        data=order_data(fulfillment_method="pickup", pickup_location="STORE1"),
        actor="test",
    )
    return order, FulfillmentOrder.objects.get(order=order)


def test_pickup_code_is_emailed_and_handing_over_completes_the_order(shop, stock):
    order, fulfillment_order = pickup_order(shop, stock)
    assert fulfillment_order.warehouse.code == "STORE1"
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=[{"sku": "A", "quantity": 2}],
                     actor="u")
    with pytest.raises(InvalidTransition):
        fulfillment_ship(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_order, code = fulfillment_ready_for_pickup(
        fulfillment_order=fulfillment_order, actor="u"
    )
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    assert len(code) == 8 and code not in fulfillment_order.pickup_code_hash
    mail = EmailMessage.objects.get(template="ready_for_pickup")
    assert code in mail.body_text
    wrong = "00000000" if code != "00000000" else "11111111"
    with pytest.raises(PickupCodeInvalid):
        fulfillment_collect(fulfillment_order=fulfillment_order, code=wrong, actor="u")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"
    assert fulfillment_order.pickup_code_used_at is None
    fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")
    order.refresh_from_db()
    fulfillment_order.refresh_from_db()
    assert (order.status, fulfillment_order.status) == ("complete", "closed")
    level = StockLevel.objects.get(product__sku="A", warehouse__code="STORE1")
    assert (level.on_hand, level.allocated) == (1, 0)
    with pytest.raises(PickupCodeUsed):
        fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")


def test_reroute_moves_the_units_and_logs_the_reason(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    source = FulfillmentOrder.objects.get(order=order)
    created = fulfillment_reroute(
        fulfillment_order=source, actor="ops", reason="flood at EAST",
        warehouse=Warehouse.objects.get(code="WEST"),
    )
    source.refresh_from_db()
    assert source.status == "cancelled"
    assert [fo.warehouse.code for fo in created] == ["WEST"]
    assert created[0].lines.get().quantity == 2
    assert reserved(order) == [("WEST", "A", 2)]
    event = OrderEvent.objects.get(order=order, type="rerouted")
    assert event.message == f"FO-{source.pk} moved from EAST to WEST: flood at EAST"
    assert RoutingDecision.objects.filter(order=order, trigger="reroute").count() == 1
    assert order.lines.get().quantity_allocated == 2


def test_reroute_to_a_location_that_cannot_take_it_changes_nothing(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 1)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    source = FulfillmentOrder.objects.get(order=order)
    events = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(RerouteRefused) as refused:
        fulfillment_reroute(fulfillment_order=source, actor="ops", reason="try",
                            warehouse=Warehouse.objects.get(code="WEST"))
    assert refused.value.errors == {"warehouse": ["WEST: has 1 of 2 unit(s)"]}
    source.refresh_from_db()
    assert source.status == "open"
    assert reserved(order) == [("EAST", "A", 2)]
    assert OrderEvent.objects.filter(order=order).count() == events
    with pytest.raises(ValidationFailed):
        fulfillment_reroute(fulfillment_order=source, actor="ops", reason=" ")


def test_picked_fulfillment_order_cannot_be_rerouted(shop, stock):
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    source = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=source, actor="u")
    with pytest.raises(RerouteRefused):
        fulfillment_reroute(fulfillment_order=source, actor="ops", reason="late")
    assert reserved(order) == [("EAST", "A", 2)]


def test_hold_and_release_return_to_where_work_stopped(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    with pytest.raises(ValidationFailed):
        fulfillment_hold(fulfillment_order=fulfillment_order, reason="", actor="u")
    fulfillment_hold(fulfillment_order=fulfillment_order, reason="damaged box", actor="u")
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.hold_reason) == ("on_hold", "damaged box")
    fulfillment_release(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.hold_reason) == ("picking", "")


def test_order_on_hold_cannot_be_picked(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    order_hold(order=order, reason_code="fraud_review", actor="u")
    fulfillment_order = FulfillmentOrder.objects.get(order=order)
    with pytest.raises(InvalidTransition):
        fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "open"


def test_capacity_full_sends_the_next_order_to_the_next_location(shop, stock):
    Warehouse.objects.filter(code="EAST").update(daily_order_capacity=1)
    stock("A", "EAST", 10)
    stock("A", "WEST", 10)
    first = order_create(channel=shop["channel"], data=order_data(), actor="test")
    second = order_create(
        channel=shop["channel"], data=order_data(channel_order_id="WEB-2"), actor="test"
    )
    assert FulfillmentOrder.objects.get(order=first).warehouse.code == "EAST"
    assert FulfillmentOrder.objects.get(order=second).warehouse.code == "WEST"
    east = next(c for c in RoutingDecision.objects.get(order=second).explanation["candidates"]
                if c["location"] == "EAST")
    assert east["rejected"] == ["daily capacity reached (1/1)"]


def test_nearest_rule_uses_the_postal_code_table(shop, stock):
    from orders.services.routing_rules import routing_rules_save
    from warehouses.models import PostalCode

    Warehouse.objects.filter(code="EAST").update(latitude=Decimal("40.71"),
                                                  longitude=Decimal("-74.0"))
    Warehouse.objects.filter(code="WEST").update(latitude=Decimal("37.77"),
                                                  longitude=Decimal("-122.42"))
    PostalCode.objects.create(country="US", postal_code="89501", latitude=Decimal("39.53"),
                              longitude=Decimal("-119.81"))
    routing_rules_save(channel=shop["channel"], values={"strategies": ["nearest", "priority"]},
                       actor="ops")
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    decision = RoutingDecision.objects.get(order=order)
    assert decision.locations == ["WEST"]
    assert decision.strategies == ["nearest", "priority"] and decision.rules_version == 1


def test_hazmat_product_goes_only_where_accepted(shop, stock):
    shop["products"]["A"].freight_class = "hazmat"
    shop["products"]["A"].save()
    shop["service_level"].accepted_freight_classes = ["hazmat"]
    shop["service_level"].save()
    Warehouse.objects.filter(code="WEST").update(accepted_freight_classes=["hazmat"])
    stock("A", "EAST", 5)
    stock("A", "WEST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    assert FulfillmentOrder.objects.get(order=order).warehouse.code == "WEST"


def test_nothing_fills_with_splits_off_backorders_or_rejects(shop, stock):
    from inventory.errors import InsufficientStock

    channel = shop["channel"]
    channel.allow_split = False
    channel.save()
    stock("A", "EAST", 2)
    stock("B", "WEST", 1)
    order = order_create(channel=channel, data=two_line_data(), actor="test")
    order.refresh_from_db()
    assert order.status == "backordered"
    assert reserved(order) == [("EAST", "A", 2)]
    channel.shortage_policy = "reject"
    channel.save()
    with pytest.raises(InsufficientStock):
        order_create(channel=channel, data=two_line_data(channel_order_id="WEB-2"), actor="t")
    assert not Order.objects.filter(channel_order_id="WEB-2").exists()


def test_checkout_order_gets_a_fulfillment_order_for_the_held_stock(shop, stock):
    from orders.services.checkouts import checkout_complete, checkout_create

    stock("A", "WEST", 5)
    checkout = checkout_create(channel=shop["channel"], lines=[{"sku": "A", "quantity": 2}],
                               actor="test")
    order = checkout_complete(checkout=checkout, data=order_data(), actor="test")
    assert FulfillmentOrder.objects.get(order=order).warehouse.code == "WEST"


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    list(itertools.product(FulfillmentStatus.values, FulfillmentStatus.values)),
)
def test_every_transition_pair_follows_the_table(shop, from_status, to_status):
    from tests.factories import OrderFactory

    order = OrderFactory(channel=shop["channel"])
    fulfillment_order = FulfillmentOrder.objects.create(
        order=order, warehouse=WarehouseFactory(code="X1")
    )
    FulfillmentOrder.objects.filter(pk=fulfillment_order.pk).update(status=from_status)
    fulfillment_order.refresh_from_db()
    if to_status in FULFILLMENT_TRANSITIONS[from_status]:
        fulfillment_transition(fulfillment_order=fulfillment_order, to_status=to_status, actor="t")
        fulfillment_order.refresh_from_db()
        assert fulfillment_order.status == to_status
        event = OrderEvent.objects.get(order=order, type="fulfillment_status_changed")
        assert (event.from_status, event.to_status) == (from_status, to_status)
    else:
        with pytest.raises(InvalidTransition):
            fulfillment_transition(
                fulfillment_order=fulfillment_order, to_status=to_status, actor="t"
            )
        fulfillment_order.refresh_from_db()
        assert fulfillment_order.status == from_status
        assert not OrderEvent.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    "target, problem",
    [
        ("STORE1", "it is not an active location of channel web that ships"),
        ("ELSEWHERE", "it is not an active location of channel web that ships"),
        ("INACTIVE", "it is not an active location of channel web that ships"),
    ],
)
def test_reroute_only_to_a_location_the_order_may_be_filled_from(shop, stock, target, problem):
    elsewhere = WarehouseFactory(code="ELSEWHERE")  # not one of the channel's locations
    inactive = WarehouseFactory(code="INACTIVE", is_active=False)
    shop["channel"].warehouses.add(inactive)
    for code in ("EAST", "STORE1", "ELSEWHERE", "INACTIVE"):
        stock("A", code, 5)
    assert elsewhere.can_ship
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    source = FulfillmentOrder.objects.get(order=order)
    with pytest.raises(RerouteRefused) as refused:
        fulfillment_reroute(
            fulfillment_order=source, actor="ops", reason="try",
            warehouse=Warehouse.objects.get(code=target),
        )
    assert refused.value.errors == {"warehouse": [f"{target}: {problem}."]}
    source.refresh_from_db()
    assert source.status == "open"
    assert reserved(order) == [("EAST", "A", 2)]


def packed_fulfillment_order(order):
    fulfillment_order = FulfillmentOrder.objects.get(order=order, warehouse__code="EAST")
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="packer")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=[{"sku": "A", "quantity": 2}],
                     actor="packer")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "packed" and fulfillment_order.packed_at is not None
    return fulfillment_order


def test_cancelling_units_of_a_packed_fulfillment_order_sends_it_back_to_packing(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = packed_fulfillment_order(order)
    with pytest.raises(InvalidTransition):
        fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="packer")

    order_cancel(order=order, actor="support", reason="customer wants one",
                 lines={order.lines.get().pk: 1})

    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.packed_at) == ("picking", None)
    assert list(fulfillment_order.lines.values_list("order_line__sku", "quantity")) == [("A", 1)]
    event = OrderEvent.objects.get(order=order, type="fulfillment_status_changed",
                                   from_status="packed")
    assert event.to_status == "picking"
    assert event.message == (
        f"FO-{fulfillment_order.pk} at EAST: Cancelled: customer wants one; "
        "re-pack without 1 x A"
    )
    assert event.data["removed"] == {"A": 1}
    assert event.data["items"] == {"A": 1}
    with pytest.raises(InvalidTransition):
        fulfillment_ship(fulfillment_order=fulfillment_order, actor="packer")
    with pytest.raises(PackMismatch) as stale:
        fulfillment_pack(fulfillment_order=fulfillment_order,
                         scans=[{"sku": "A", "quantity": 2}], actor="packer")
    assert stale.value.errors == {"items": {"A": ["Expected 1, scanned 2."]}}
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A"], actor="packer")
    fulfillment_ship(fulfillment_order=fulfillment_order, actor="packer")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "shipped"
    assert list(fulfillment_order.shipment.lines.values_list("quantity", flat=True)) == [1]


def test_cancelling_every_unit_of_a_packed_fulfillment_order_cancels_it_with_the_reason(
    shop, stock
):
    stock("A", "EAST", 5)
    stock("B", "WEST", 5)
    order = order_create(channel=shop["channel"], data=two_line_data(), actor="test")
    east = packed_fulfillment_order(order)
    west = FulfillmentOrder.objects.get(order=order, warehouse__code="WEST")
    line_a = order.lines.get(sku="A")

    order_cancel(order=order, actor="support", reason="sold out in store",
                 lines={line_a.pk: 2})

    east.refresh_from_db()
    west.refresh_from_db()
    assert (east.status, west.status) == ("cancelled", "open")
    assert not east.lines.exists()
    event = OrderEvent.objects.get(order=order, type="fulfillment_status_changed",
                                   to_status="cancelled")
    assert (event.from_status, event.message) == (
        "packed", f"FO-{east.pk} at EAST: Cancelled: sold out in store"
    )
    assert reserved(order) == [("WEST", "B", 1)]


def test_a_held_packed_fulfillment_order_that_loses_units_is_released_to_packing(shop, stock):
    stock("A", "EAST", 5)
    order = order_create(channel=shop["channel"], data=order_data(), actor="test")
    fulfillment_order = packed_fulfillment_order(order)
    fulfillment_hold(fulfillment_order=fulfillment_order, reason="label printer down",
                     actor="packer")

    order_cancel(order=order, actor="support", reason="customer wants one",
                 lines={order.lines.get().pk: 1})

    fulfillment_order.refresh_from_db()
    assert (fulfillment_order.status, fulfillment_order.hold_reason) == (
        "on_hold", "label printer down"
    )
    assert fulfillment_order.packed_at is None
    event = OrderEvent.objects.get(order=order, type="fulfillment_repack_needed")
    assert event.message == (
        f"FO-{fulfillment_order.pk} at EAST: Cancelled: customer wants one; "
        "re-pack without 1 x A"
    )
    fulfillment_release(fulfillment_order=fulfillment_order, actor="packer")
    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "picking"


def test_a_pickup_order_on_the_shelf_that_loses_units_tells_the_counter_what_to_take_out(
    shop, stock
):
    order, fulfillment_order = pickup_order(shop, stock)
    fulfillment_pick_start(fulfillment_order=fulfillment_order, actor="u")
    fulfillment_pack(fulfillment_order=fulfillment_order, scans=["A", "A"], actor="u")
    fulfillment_order, code = fulfillment_ready_for_pickup(
        fulfillment_order=fulfillment_order, actor="u"
    )

    order_cancel(order=order, actor="support", reason="customer wants one",
                 lines={order.lines.get().pk: 1})

    fulfillment_order.refresh_from_db()
    assert fulfillment_order.status == "ready_for_pickup"
    event = OrderEvent.objects.get(order=order, type="fulfillment_repack_needed")
    assert event.message == (
        f"FO-{fulfillment_order.pk} at STORE1: Cancelled: customer wants one; "
        "re-pack without 1 x A"
    )
    assert (event.data["removed"], event.data["items"]) == ({"A": 1}, {"A": 1})
    fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor="u")
    level = StockLevel.objects.get(product__sku="A", warehouse__code="STORE1")
    assert (level.on_hand, level.allocated) == (2, 0)
