"""Order work never locks the sales channel's row.

Services lock an order with its channel joined in (`select_related("channel")`). Without
`of=("self",)` PostgreSQL locks the joined channel row too, and every new order of that
channel takes a key-share lock on it when its foreign keys are checked at COMMIT, already
holding its stock and customer rows: a cancellation or shipment holding the channel and
waiting for one of those rows deadlocked with it (a 500). The races below are widened with
short sleeps around a real service call so they line up every time; a static check keeps
every `select_for_update` that joins related rows naming the rows it locks.
"""

import ast
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from oms_project.errors import OmsError
from orders.models import Order
from orders.services import order_cancel, order_create, shipment_create
from tests.orders.conftest import order_data

ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "inventory", "oms_project", "orders", "returns", "warehouses")


def race(calls) -> list[str]:
    """Run the calls in threads released together; "ok", an error code or the database error."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            call()
            return "ok"
        except OmsError as error:
            return error.code
        except DatabaseError as error:
            return f"{type(error).__name__}: {str(error).splitlines()[0]}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def slowed(monkeypatch, module, name: str, seconds: float) -> None:
    """Make `module.name` sleep after the real call (what it does is unchanged)."""
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(seconds)
        return result

    monkeypatch.setattr(module, name, wrapper)


def paid(shop, reference: str, *, sku="A", customer=None, quantity=2) -> dict:
    price = Decimal("10.00")
    extra = {"customer": customer} if customer else {}
    return order_data(
        channel_order_id=reference,
        lines=[{"sku": sku, "quantity": quantity, "unit_price": price}],
        payment={"method": "card", "amount": price * quantity + Decimal("7.00"),
                 "status": "captured", "reference": f"pay-{reference}"},
        **extra,
    )


def after(seconds: float, call):
    return lambda: time.sleep(seconds) or call()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancelling_an_order_while_its_customer_places_another_does_not_deadlock(
    shop, stock, monkeypatch
):
    import orders.services.bulk_creation as bulk_creation

    slowed(monkeypatch, bulk_creation, "_write_customers", 0.4)  # holds the customer row
    stock("A", "EAST", 10)
    stock("B", "EAST", 10)
    outcomes = []
    for round_ in range(3):
        earlier = order_create(channel=shop["channel"], data=paid(shop, f"OLD-{round_}"),
                               actor="web")
        customer = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
                    "channel_customer_id": "c-1", "phone": f"555-01{round_:02d}"}
        new = paid(shop, f"NEW-{round_}", sku="B", customer=customer, quantity=1)
        outcomes.append(race([
            partial(order_create, channel=shop["channel"], actor="web", data=new),
            after(0.15, partial(order_cancel, order=Order(pk=earlier.pk), actor="support",
                                reason="customer_request")),
        ]))
    assert outcomes == [["ok", "ok"]] * 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("work", ["cancel", "ship"])
def test_cancelling_or_shipping_while_another_customer_orders_the_sku_does_not_deadlock(
    shop, stock, monkeypatch, work
):
    import orders.services.bulk_creation as bulk_creation

    slowed(monkeypatch, bulk_creation, "stock_allocate", 0.4)  # holds the stock row
    stock("A", "EAST", 12)
    outcomes = []
    for round_ in range(3):
        earlier = order_create(channel=shop["channel"], data=paid(shop, f"OLD-{round_}"),
                               actor="web")
        line = earlier.lines.get()
        if work == "cancel":
            def call(earlier=earlier):
                order_cancel(order=Order(pk=earlier.pk), actor="support", reason="fraud")
        else:
            def call(earlier=earlier, line=line, round_=round_):
                shipment_create(order=Order(pk=earlier.pk), reference=f"S-{round_}",
                                lines={line.pk: 2}, actor="wms", warehouse=shop["east"])
        other = {"email": f"bob{round_}@example.com", "first_name": "Bob", "last_name": "Roe",
                 "channel_customer_id": f"b-{round_}"}
        new = paid(shop, f"OTHER-{round_}", customer=other, quantity=1)
        outcomes.append(race([
            partial(order_create, channel=shop["channel"], actor="web", data=new),
            after(0.2, call),
        ]))
    assert outcomes == [["ok", "ok"]] * 3


def _locks_joined_rows_unnamed(tree: ast.AST):
    """Yield the line of each query chain calling `select_for_update()` without `of=` and
    `select_related(...)`: it would lock every joined row."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        chain, current = [], node
        while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            chain.append(current)
            current = current.func.value
        names = {call.func.attr: call for call in chain}
        lock = names.get("select_for_update")
        if lock and "select_related" in names and not any(k.arg == "of" for k in lock.keywords):
            yield node.lineno


def test_no_row_lock_takes_the_rows_it_joins_without_naming_them():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = set(_locks_joined_rows_unnamed(ast.parse(path.read_text())))
            found += [f"{path.relative_to(ROOT)}:{line}" for line in sorted(lines)]
    assert found == []


def test_the_static_check_sees_an_unnamed_lock():
    code = "Order.objects.select_for_update().select_related('channel').get(pk=1)"
    assert set(_locks_joined_rows_unnamed(ast.parse(code))) == {1}
    named = "Order.objects.select_for_update(of=('self',)).select_related('channel').get(pk=1)"
    assert set(_locks_joined_rows_unnamed(ast.parse(named))) == set()
