"""The demo order history: orders in every status, made and moved only through the services.

Each order gets a target status; its payload is built from the catalogue's free stock (so
allocation lands where the status needs it) and then walked there with the same service
calls a channel, the warehouse or the ops team would make: pay, hold, pick, pack and ship
each fulfillment order, deliver, put on the pickup shelf, collect with the code, cancel. So
each order's fulfillment orders show where its work stands, and the warehouse queue holds
only work that is really left.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from orders import pricing
from orders.demo.catalog import ACTOR, CatalogItem
from orders.demo.network import EAST, MARKETPLACE, RETAIL, STORES, WEB
from orders.demo.people import DemoCustomer
from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentOrder, Order, SalesChannel, Shipment
from orders.services import (
    order_cancel,
    order_create,
    order_hold,
    payment_apply,
    shipment_create,
    shipment_mark_delivered,
)
from orders.services.fulfillment import (
    expected_items,
    fulfillment_collect,
    fulfillment_pack,
    fulfillment_pick_start,
    fulfillment_ready_for_pickup,
    fulfillment_ship,
)
from orders.services.tracking import shipment_track
from orders.states import HoldReason, OrderStatus
from warehouses.models import FreightClass, ServiceLevel, Warehouse

S = OrderStatus
HISTORY_DAYS = 90
TAX_RATE = Decimal("0.0825")
FREE_SHIPPING_FROM = Decimal("75.00")
SHIPPING_PRICES = {"ups-ground": Decimal("6.95"), "fedex-home": Decimal("6.95"),
                   "ups-2day": Decimal("14.95"), "fedex-express": Decimal("12.95"),
                   "ups-next-day": Decimal("29.95"), "fedex-overnight": Decimal("29.95")}
SERVICE_LEVELS_FOR = {
    FreightClass.HAZMAT: ("ups-ground",),
    FreightClass.OVERSIZE: ("ups-ground", "fedex-home"),
    FreightClass.COLD: ("ups-next-day", "fedex-overnight", "fedex-express"),
    FreightClass.STANDARD: ("ups-ground", "fedex-home", "ups-ground", "fedex-home",
                            "ups-2day", "fedex-express", "ups-next-day"),
}
# Share of the history per status (percent) and how far along its life an order in that
# status is: older orders are further along, so the oldest are complete.
STATUS_SHARES = {S.COMPLETE: 45, S.SHIPPED: 10, S.PARTIALLY_SHIPPED: 5, S.PROCESSING: 10,
                 S.CREATED: 7, S.ON_HOLD: 4, S.BACKORDERED: 5, S.READY_FOR_PICKUP: 5,
                 S.CANCELLED: 9}
STAGES = {S.COMPLETE: 0.0, S.SHIPPED: 1.1, S.PARTIALLY_SHIPPED: 1.5, S.BACKORDERED: 1.9,
          S.ON_HOLD: 2.1, S.READY_FOR_PICKUP: 2.2, S.PROCESSING: 2.3, S.CREATED: 2.5}
CHANNEL_SHARES = {  # (web, marketplace, retail) for each status
    S.COMPLETE: (60, 25, 15), S.PROCESSING: (60, 25, 15), S.CANCELLED: (60, 30, 10),
    S.READY_FOR_PICKUP: (0, 0, 1), S.BACKORDERED: (1, 0, 0),
}


@dataclass(frozen=True)
class PlannedOrder:
    status: str
    channel_code: str
    placed_at: datetime
    customer: DemoCustomer


def status_counts(order_count: int) -> dict[str, int]:
    """Orders per status: the shares of `order_count`, at least two of each."""
    counts = {status: max(order_count * share // 100, 2) for status, share in
              STATUS_SHARES.items()}
    counts[S.COMPLETE] += order_count - sum(counts.values())
    return counts


def history_plan(*, rng: random.Random, order_count: int, customers: list[DemoCustomer],
                 now: datetime) -> list[PlannedOrder]:
    """Spread the orders over the last 90 days, oldest first, every customer at least once."""
    statuses = [status for status, count in status_counts(order_count).items()
                for _ in range(count)]
    ranked = sorted(statuses, key=lambda status: STAGES.get(status, rng.uniform(0, 3))
                    + rng.uniform(0, 1.0))
    ages = sorted((rng.uniform(0.05, HISTORY_DAYS) for _ in ranked), reverse=True)
    buyers = list(customers) + [rng.choice(customers)
                                for _ in range(max(order_count - len(customers), 0))]
    rng.shuffle(buyers)
    plans = []
    for status, age in zip(ranked, ages, strict=True):
        web, marketplace, retail = CHANNEL_SHARES.get(status, (70, 30, 0))
        channel = rng.choices((WEB, MARKETPLACE, RETAIL), weights=(web, marketplace, retail))[0]
        plans.append(PlannedOrder(status=status, channel_code=channel,
                                  placed_at=now - timedelta(days=age), customer=buyers.pop()))
    return plans


class HistoryWriter:
    """Turns planned orders into real ones through the order services."""

    def __init__(self, *, rng: random.Random, catalog: list[CatalogItem],
                 channels: dict[str, SalesChannel], locations: dict[str, Warehouse],
                 now: datetime):
        self.rng, self.catalog, self.channels, self.locations = rng, catalog, channels, locations
        self.now = now
        self.service_levels = {level.code: level for level in
                               ServiceLevel.objects.select_related("carrier")}
        self.web_locations = [code for code, _ in sorted(
            ((location.code, location.priority) for location in
             channels[WEB].warehouses.filter(is_active=True, can_ship=True)),
            key=lambda pair: pair[1])]
        self.sequence = 0

    def write(self, plan: PlannedOrder) -> Order:
        """Create the planned order and move it to its planned status."""
        self.sequence += 1
        channel = self.channels[plan.channel_code]
        order = order_create(channel=channel, data=self._payload(plan), actor=ACTOR)
        self._drive(order, plan)
        return order

    # Building the payload -------------------------------------------------------------

    def _payload(self, plan: PlannedOrder) -> dict:
        pickup_store = self.rng.choice(STORES) if plan.channel_code == RETAIL else None
        lines = self._lines(plan, pickup_store)
        service_level = None if pickup_store else self._service_level(lines)
        subtotal = sum((item.price * quantity for item, quantity in lines), Decimal("0.00"))
        discount = Decimal("0.00")
        attributes = {}
        if plan.channel_code == WEB and self.rng.random() < 0.15:
            discount = pricing.money(subtotal / 10)
            attributes["promo_code"] = "WELCOME10"
        shipping = Decimal("0.00")
        if service_level and not (service_level.startswith(("ups-ground", "fedex-home"))
                                  and subtotal >= FREE_SHIPPING_FROM):
            shipping = SHIPPING_PRICES[service_level]
        tax = pricing.money((subtotal - discount) * TAX_RATE)
        total = pricing.order_total(subtotal=subtotal, discount_total=discount,
                                    shipping_total=shipping, tax_total=tax)
        data = {
            "channel_order_id": self._channel_order_id(plan.channel_code, pickup_store),
            "customer": plan.customer.payload(
                channel_customer_id=self._channel_customer_id(plan)),
            "billing_address": dict(plan.customer.address),
            "fulfillment_method": "pickup" if pickup_store else "ship",
            "currency": "USD",
            "lines": [{"sku": item.product.sku, "quantity": quantity, "unit_price": item.price}
                      for item, quantity in lines],
            "shipping_total": shipping, "tax_total": tax, "discount_total": discount,
            "attributes": attributes, "placed_at": plan.placed_at,
        }
        if pickup_store:
            data["pickup_location"] = pickup_store
        else:
            data["shipping_address"] = dict(plan.customer.address)
            data["shipping_method"] = service_level
        if self._paid_at_creation(plan):
            data["payment"] = self._payment(plan.channel_code, total)
        return data

    def _lines(self, plan: PlannedOrder, pickup_store: str | None) -> list[tuple]:
        count = self.rng.choices((1, 2, 3, 4), weights=(45, 30, 17, 8))[0]
        if plan.status == S.PARTIALLY_SHIPPED:
            count = max(count, 2)
        lines = []
        if plan.status == S.BACKORDERED:
            sold_out = [item for item in self.catalog if not any(item.free.values())]
            lines.append((self.rng.choice(sold_out), self.rng.choice((1, 2))))
        allow_special = plan.channel_code == WEB and not lines and self.rng.random() < 0.2
        while len(lines) < count:
            quantity = 1 if pickup_store else self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
            item = self._pick(quantity, pickup_store, plan.channel_code, allow_special, lines)
            if item is None:
                break
            allow_special = allow_special and item.is_standard
            lines.append((item, quantity))
        return lines

    def _pick(self, quantity: int, pickup_store: str | None, channel_code: str,
              allow_special: bool, taken: list[tuple]) -> CatalogItem | None:
        """A product with `quantity` free units where this order will be allocated."""
        taken_ids = {item.product.pk for item, _ in taken}
        for _attempt in range(50):
            item = self.rng.choice(self.catalog)
            if item.product.pk in taken_ids or (not item.is_standard and not allow_special):
                continue
            if pickup_store or channel_code == MARKETPLACE:
                location = pickup_store or EAST
                if item.free.get(location, 0) >= quantity:
                    item.free[location] -= quantity
                    return item
            elif sum(item.free.get(code, 0) for code in self.web_locations) >= quantity:
                self._take(item, quantity)
                return item
        return None

    def _take(self, item: CatalogItem, quantity: int) -> None:
        for code in self.web_locations:
            taken = min(item.free.get(code, 0), quantity)
            if taken:
                item.free[code] -= taken
                quantity -= taken

    def _service_level(self, lines: list[tuple]) -> str:
        special = {item.category.freight_class for item, _ in lines} - {FreightClass.STANDARD}
        return self.rng.choice(SERVICE_LEVELS_FOR[special.pop() if special
                                                  else FreightClass.STANDARD])

    def _channel_order_id(self, channel_code: str, pickup_store: str | None) -> str:
        if channel_code == MARKETPLACE:
            return (f"{self.rng.randint(111, 114)}-{self.rng.randint(1000000, 9999999)}-"
                    f"{self.sequence:07d}")
        if channel_code == RETAIL:
            return f"POS-{pickup_store.split('-')[-1]}-{self.sequence:05d}"
        return f"#{24000 + self.sequence}"

    def _channel_customer_id(self, plan: PlannedOrder) -> str | None:
        if plan.channel_code == WEB:
            return f"WEB-C{5000 + plan.customer.number}"
        if plan.channel_code == MARKETPLACE:
            return f"AMB{9000000 + plan.customer.number * 37}"
        return None

    def _paid_at_creation(self, plan: PlannedOrder) -> bool:
        if plan.status == S.CREATED:
            return False
        if plan.status in (S.ON_HOLD, S.CANCELLED):
            return self.rng.random() < 0.5
        if plan.status == S.PROCESSING and plan.channel_code == WEB:
            return self.rng.random() < 0.7  # the others pay later by bank transfer
        return True

    def _payment(self, channel_code: str, total: Decimal) -> dict:
        method = {WEB: self.rng.choice(("card", "card", "card", "paypal")),
                  MARKETPLACE: "marketplace", RETAIL: "card"}[channel_code]
        return {"method": method, "amount": total, "status": "captured",
                "reference": f"pay_{self.rng.getrandbits(64):016x}"}

    # Moving the order along -----------------------------------------------------------

    def _drive(self, order: Order, plan: PlannedOrder) -> None:
        status = plan.status
        if status == S.PROCESSING and order.status == S.CREATED:
            payment_apply(order=order, method="bank_transfer", amount=order.total,
                          status="captured", actor=ACTOR,
                          reference=f"wire_{self.rng.getrandbits(48):012x}")
        if status == S.PROCESSING:
            self._start_work(order)
        elif status == S.ON_HOLD:
            reason = (HoldReason.FRAUD_REVIEW if order.status == S.PROCESSING
                      else self.rng.choice((HoldReason.PAYMENT_ISSUE, HoldReason.ADDRESS_ISSUE)))
            order_hold(order=order, reason_code=reason, actor=ACTOR)
        elif status == S.CANCELLED:
            order_cancel(order=order, actor=ACTOR, reason=self.rng.choice((
                "Customer asked to cancel", "Payment not received within 7 days",
                "Duplicate order", "Suspected fraud")))
        elif order.fulfillment_method == "pickup" and status in (S.READY_FOR_PICKUP, S.COMPLETE):
            self._pickup(order, collected=status == S.COMPLETE)
        elif status in (S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETE):
            self._ship(order, partial=status == S.PARTIALLY_SHIPPED,
                       delivered=status == S.COMPLETE)

    def _work_queue(self, order: Order) -> list[FulfillmentOrder]:
        """The order's fulfillment orders waiting for their locations, first location first."""
        return list(order.fulfillment_orders.filter(status=FulfillmentStatus.OPEN)
                    .select_related("warehouse").order_by("warehouse__priority", "pk"))

    def _start_work(self, order: Order) -> None:
        """Leave a paid order's work open, being picked or packed, so the queue has all three.

        Chosen by the order's position rather than the random generator, so the orders after
        it are the same whatever this does.
        """
        progress = self.sequence % 3
        for fulfillment_order in self._work_queue(order) if progress else []:
            fulfillment_pick_start(fulfillment_order=fulfillment_order, actor=ACTOR)
            if progress == 2:
                self._pack(fulfillment_order)

    def _pick_and_pack(self, fulfillment_order: FulfillmentOrder) -> None:
        fulfillment_pick_start(fulfillment_order=fulfillment_order, actor=ACTOR)
        self._pack(fulfillment_order)

    def _pack(self, fulfillment_order: FulfillmentOrder) -> None:
        fulfillment_pack(fulfillment_order=fulfillment_order, actor=ACTOR, scans=[
            {"sku": sku, "quantity": units}
            for sku, units in sorted(expected_items(fulfillment_order).items())])

    def _pickup(self, order: Order, *, collected: bool) -> None:
        """Pick and pack at the store, put it on the shelf (the customer gets the code) and,
        when collected, hand it over against that code."""
        ready = []
        for fulfillment_order in self._work_queue(order):
            self._pick_and_pack(fulfillment_order)
            ready.append(fulfillment_ready_for_pickup(fulfillment_order=fulfillment_order,
                                                      actor=ACTOR))
        for fulfillment_order, code in ready if collected else []:
            fulfillment_collect(fulfillment_order=fulfillment_order, code=code, actor=ACTOR)

    def _ship(self, order: Order, *, partial: bool, delivered: bool) -> None:
        """Pick, pack and ship each of the order's fulfillment orders (only the first when
        partial; a single one then reports a parcel with its first line, as a 3PL would)."""
        queue = self._work_queue(order)
        shipped_at = min(order.placed_at + timedelta(hours=self.rng.uniform(3, 30)),
                         self.now - timedelta(minutes=30))
        if partial and len(queue) == 1:
            self._report_first_line(order, queue[0], shipped_at)
            return
        for number, fulfillment_order in enumerate(queue[:1] if partial else queue, start=1):
            self._pick_and_pack(fulfillment_order)
            service_level = fulfillment_order.service_level
            shipped = fulfillment_ship(fulfillment_order=fulfillment_order, actor=ACTOR,
                                       reference=f"{order.number}-{number}",
                                       tracking_number=self._tracking_number(service_level))
            self._backdate_and_track(shipped.shipment, shipped_at, delivered=delivered)

    def _backdate_and_track(self, shipment: Shipment, shipped_at: datetime, *,
                            delivered: bool) -> None:
        """Date the parcel back to when it left in the demo's history (the queue records it
        leaving now), then track it to the customer or leave it in transit."""
        service_level = shipment.service_level
        transit_days = self.rng.randint(service_level.transit_days_min,
                                        service_level.transit_days_max)
        Shipment.objects.filter(pk=shipment.pk).update(
            shipped_at=shipped_at,
            estimated_delivery_date=(shipped_at + timedelta(days=transit_days)).date())
        if delivered:
            shipment_mark_delivered(shipment=shipment, actor=ACTOR, delivered_at=min(
                shipped_at + timedelta(days=transit_days, hours=self.rng.uniform(0, 8)),
                self.now))
        else:
            shipment_track(shipment=shipment, status=Shipment.Status.IN_TRANSIT, actor=ACTOR,
                           occurred_at=shipped_at)

    def _report_first_line(self, order: Order, fulfillment_order: FulfillmentOrder,
                           shipped_at: datetime) -> None:
        """Record a parcel with the first line only, as a 3PL reports what it sent; the
        fulfillment order keeps the rest."""
        line_id, units = fulfillment_order.lines.order_by("order_line_id").values_list(
            "order_line_id", "quantity").first()
        service_level = order.shipping_method
        transit_days = self.rng.randint(service_level.transit_days_min,
                                        service_level.transit_days_max)
        shipment_create(
            order=order, reference=f"{order.number}-1", lines={line_id: units}, actor=ACTOR,
            service_level=service_level, tracking_number=self._tracking_number(service_level),
            warehouse=fulfillment_order.warehouse, status=Shipment.Status.IN_TRANSIT,
            estimated_delivery_date=(shipped_at + timedelta(days=transit_days)).date(),
            shipped_at=shipped_at)

    def _tracking_number(self, service_level: ServiceLevel) -> str:
        if service_level.carrier.code == "ups":
            return f"1Z{self.rng.getrandbits(24):06X}03{self.rng.randint(10**7, 10**8 - 1)}"
        return str(self.rng.randint(10**11, 10**12 - 1))
