"""`manage.py seed_demo`: a believable merchant, every order status, idempotent, deterministic."""

from datetime import timedelta
from io import StringIO
from random import Random

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.utils import timezone

from customers.models import Address, Customer
from inventory.models import Product, StockLevel, StockMovement, StockReservation
from oms_project.models import EmailMessage, OutboxEvent
from orders.demo import FULL, history
from orders.demo.people import customers_generate
from orders.models import (
    FulfillmentOrder,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    SalesChannel,
    Shipment,
)
from orders.states import OrderStatus
from warehouses.models import Carrier, ServiceLevel, Warehouse

pytestmark = pytest.mark.django_db

SMALL_STATUS_COUNTS = {
    "created": 3, "processing": 4, "on_hold": 2, "backordered": 2, "ready_for_pickup": 2,
    "partially_shipped": 2, "shipped": 4, "complete": 22, "cancelled": 4,
}
FULL_STATUS_COUNTS = {
    "created": 21, "processing": 30, "on_hold": 12, "backordered": 15, "ready_for_pickup": 15,
    "partially_shipped": 15, "shipped": 30, "complete": 135, "cancelled": 27,
}
COUNTED = (SalesChannel, Warehouse, Carrier, ServiceLevel, Product, StockLevel, StockMovement,
           StockReservation, Customer, Address, Order, OrderLine, Payment, Shipment, OrderEvent,
           EmailMessage, OutboxEvent)


def seed(*options: str) -> str:
    out = StringIO()
    call_command("seed_demo", *options, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def stock_numbers() -> list[tuple]:
    return list(StockLevel.objects.order_by("product__sku", "warehouse__code").values_list(
        "product__sku", "warehouse__code", "on_hand", "allocated", "safety_stock",
        "reorder_point", "reorder_quantity"))


def status_counts() -> dict[str, int]:
    return dict(Order.objects.values_list("status").annotate(count=Count("pk")))


@pytest.fixture(scope="class")
def small_demo(django_db_setup, django_db_blocker):
    """Seed the small demo once for the read-only tests of a class, and roll it back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed("--small")
        transaction.set_rollback(True)


@pytest.mark.usefixtures("small_demo")
class TestSmallDemo:
    """Read-only checks of one small seed."""

    def test_small_seed_has_every_order_status(self, small_demo):
        output = small_demo
        assert status_counts() == SMALL_STATUS_COUNTS
        assert set(SMALL_STATUS_COUNTS) == set(OrderStatus.values)
        assert "Demo data created." in output
        assert ("3 channels, 6 locations, 2 carriers, 40 products, 12 customers, 45 orders:"
                in output)
        assert "  Ready for pickup                2\n" in output
        assert "  Complete                       22\n" in output

    def test_second_run_changes_nothing_and_says_so(self):
        counts, stock = row_counts(), stock_numbers()
        last_change = StockLevel.objects.order_by("-updated_at").values_list(
            "updated_at", flat=True).first()

        output = seed("--small")

        assert output.startswith("The demo data is already present; nothing was changed.\n")
        assert "45 orders:" in output
        assert row_counts() == counts
        assert stock_numbers() == stock
        assert StockLevel.objects.order_by("-updated_at").values_list(
            "updated_at", flat=True).first() == last_change

    def test_stock_ledger_and_reservations_agree_with_every_stock_level(self):
        for level in StockLevel.objects.order_by("pk"):
            movements = level.movements.aggregate(on_hand=Sum("delta_on_hand"),
                                                  allocated=Sum("delta_allocated"))
            reserved = level.reservations.aggregate(total=Sum("quantity"))["total"] or 0
            assert level.on_hand == (movements["on_hand"] or 0), f"{level}: on hand off ledger"
            assert level.allocated == (movements["allocated"] or 0), f"{level}: allocated off"
            assert level.allocated == reserved, f"{level}: allocated differs from reservations"
            assert 0 <= level.allocated <= level.on_hand
        for line in OrderLine.objects.all():
            reserved = StockReservation.objects.filter(
                reference=f"order_line:{line.pk}").aggregate(total=Sum("quantity"))["total"]
            reserved = reserved or 0
            assert line.quantity_allocated == reserved, f"line {line.pk} allocation drifted"
        receipts = StockMovement.objects.filter(reason="receipt")
        assert set(receipts.values_list("reference", flat=True)) == {"demo:opening-stock"}
        assert StockMovement.objects.filter(reason="shipment").exists()

    def test_merchant_network_channels_and_catalogue(self):
        channels = {channel.code: channel for channel in SalesChannel.objects.all()}
        assert set(channels) == {"web", "marketplace", "retail"}
        web, marketplace, retail = channels["web"], channels["marketplace"], channels["retail"]
        assert (web.shortage_policy, web.allow_split) == ("backorder", True)
        assert (marketplace.shortage_policy, marketplace.allow_split) == ("reject", False)
        assert sorted(retail.warehouses.values_list("code", flat=True)) == ["STORE-NYC",
                                                                            "STORE-SFO"]
        assert sorted(web.warehouses.values_list("code", flat=True)) == [
            "DS-TRAILHEAD", "NJ-EAST", "NV-WEST", "STORE-NYC", "TX-3PL"]
        kinds = dict(Warehouse.objects.values_list("code", "kind"))
        assert kinds == {"NJ-EAST": "warehouse", "NV-WEST": "warehouse", "TX-3PL": "3pl",
                         "DS-TRAILHEAD": "dropship", "STORE-NYC": "store", "STORE-SFO": "store"}
        stores = Warehouse.objects.filter(kind="store")
        assert all(store.pickup_enabled for store in stores)
        assert sorted(stores.values_list("code", "can_ship")) == [("STORE-NYC", True),
                                                                  ("STORE-SFO", False)]
        for location in Warehouse.objects.all():
            assert location.latitude and location.longitude and location.contact_emails
            assert location.order_cutoff_time and location.timezone.startswith("America/")
        for carrier in Carrier.objects.all():
            assert "{tracking_number}" in carrier.tracking_url_template
            assert carrier.service_levels.count() == 3
        assert ServiceLevel.objects.get(code="ups-ground").accepted_freight_classes == [
            "hazmat", "oversize"]
        freight = dict(Product.objects.values_list("freight_class").annotate(count=Count("pk")))
        assert freight == {"standard": 37, "oversize": 1, "hazmat": 1, "cold": 1}
        sold_out = Product.objects.annotate(units=Sum("stock_levels__on_hand")).filter(units=0)
        assert sold_out.count() == 1

    def test_orders_are_believable(self):
        now = timezone.now()

        assert Customer.objects.count() == 12
        assert not Customer.objects.filter(orders_count=0).exists()
        assert not Order.objects.filter(placed_at__lt=now - timedelta(days=90)).exists()
        assert Order.objects.filter(placed_at__lt=now - timedelta(days=30)).exists()
        pickups = Order.objects.filter(fulfillment_method="pickup")
        assert set(pickups.values_list("channel__code", flat=True)) == {"retail"}
        assert set(pickups.values_list("pickup_location__kind", flat=True)) == {"store"}
        assert set(Order.objects.filter(status="ready_for_pickup").values_list(
            "fulfillment_method", flat=True)) == {"pickup"}
        assert set(Order.objects.filter(status="backordered").values_list(
            "channel__code", flat=True)) == {"web"}
        for order in Order.objects.filter(status__in=["shipped", "complete"],
                                          fulfillment_method="ship"):
            assert order.shipments.exists()
            assert all(line.quantity_shipped == line.quantity for line in order.lines.all())
        for shipment in Shipment.objects.select_related("service_level__carrier"):
            assert shipment.tracking_url == shipment.service_level.carrier.tracking_url(
                shipment.tracking_number)
            assert shipment.shipped_at >= shipment.order.placed_at - timedelta(hours=1)
        assert Shipment.objects.filter(status="delivered").exists()
        assert Order.objects.filter(status="on_hold").exclude(hold_reason="").count() == 2
        assert not Order.objects.exclude(status="created").filter(
            status__in=["processing", "shipped", "complete"], paid_total=0).exists()

    def test_fulfillment_orders_are_in_step_with_their_orders(self):
        finished = ["shipped", "complete", "cancelled"]
        stale_work = FulfillmentOrder.objects.filter(
            status__in=["open", "picking", "packed"], order__status__in=finished)
        assert not stale_work.exists(), [str(item) for item in stale_work]
        cancelled_lines = OrderLine.objects.filter(order=OuterRef("order"),
                                                   quantity_cancelled__gt=0)
        stray_cancelled = FulfillmentOrder.objects.filter(
            status="cancelled", order__status__in=["shipped", "complete"]).exclude(
            Exists(cancelled_lines))
        assert not stray_cancelled.exists(), [str(item) for item in stray_cancelled]

    def test_fulfillment_orders_show_how_far_each_order_got(self):
        def statuses(order_status, method):
            return set(FulfillmentOrder.objects.filter(
                order__status=order_status, order__fulfillment_method=method,
            ).values_list("status", flat=True))

        assert statuses("shipped", "ship") == {"shipped"}
        assert statuses("complete", "ship") <= {"shipped", "closed"}
        assert statuses("complete", "pickup") == {"closed"}
        assert statuses("ready_for_pickup", "pickup") == {"ready_for_pickup"}
        assert statuses("processing", "ship") <= {"open", "picking", "packed"}
        assert statuses("partially_shipped", "ship") <= {"open", "picking", "packed", "shipped"}
        for order in Order.objects.filter(status__in=["shipped", "complete"],
                                          fulfillment_method="ship"):
            fulfillment_orders = order.fulfillment_orders.all()
            assert fulfillment_orders, f"{order.number} has no fulfillment order"
            assert {item.shipment_id for item in fulfillment_orders} == set(
                order.shipments.values_list("pk", flat=True)), order.number
        assert not FulfillmentOrder.objects.filter(
            status="ready_for_pickup", pickup_code_hash="").exists()


def test_same_seed_gives_the_same_merchant():
    def snapshot():
        orders = list(Order.objects.order_by("channel__code", "channel_order_id").values_list(
            "channel__code", "channel_order_id", "email", "status", "total", "paid_total",
            "fulfillment_method", "pickup_location__code", "shipping_method__code"))
        products = list(Product.objects.order_by("sku").values_list(
            "sku", "name", "barcode", "freight_class", "weight_grams"))
        return orders, products, stock_numbers()

    with transaction.atomic():
        seed("--small")
        first = snapshot()
        transaction.set_rollback(True)
    assert Order.objects.count() == 0

    seed("--small")

    assert snapshot() == first
    assert len(first[0]) == 45 and len(first[1]) == 40


def test_other_seed_gives_other_people():
    assert customers_generate(rng=Random(1), count=5) == customers_generate(rng=Random(1),
                                                                            count=5)
    assert customers_generate(rng=Random(1), count=5) != customers_generate(rng=Random(2),
                                                                            count=5)


@pytest.mark.django_db(transaction=True)
def test_seed_e_mails_are_logged_and_sent_but_not_printed(settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    output = seed("--small")

    assert "Subject:" not in capsys.readouterr().out
    assert "Subject:" not in output
    sent = EmailMessage.objects.filter(status="sent").count()
    assert sent == EmailMessage.objects.count() > 45
    assert len(mail.outbox) == sent
    assert EmailMessage.objects.filter(template="order_confirmation").count() == 45


def test_failure_part_way_leaves_nothing(monkeypatch):
    original = history.HistoryWriter.write

    def write_then_fail(self, plan):
        if self.sequence == 10:
            raise RuntimeError("disk full")
        return original(self, plan)

    monkeypatch.setattr(history.HistoryWriter, "write", write_then_fail)

    with pytest.raises(RuntimeError, match="disk full"):
        seed("--small")

    assert all(count == 0 for count in row_counts().values()), row_counts()


def test_default_size_has_the_full_history_in_every_status():
    assert history.status_counts(FULL.orders) == FULL_STATUS_COUNTS
    assert sum(FULL_STATUS_COUNTS.values()) == 300
    assert (FULL.products, FULL.customers) == (200, 50)
