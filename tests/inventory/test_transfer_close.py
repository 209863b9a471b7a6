"""Closing a transfer short: units lost in transit are written off (service, API, admin)."""

import pytest
from django.urls import reverse

from inventory.models import StockLevel, StockMovement, Transfer
from inventory.reconciliation import stock_mismatches
from inventory.transfers import (
    TransferItem,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from oms_project.errors import InvalidTransition, ValidationFailed
from tests.factories import ProductFactory, WarehouseFactory
from tests.test_schema_conformance import assert_conforms

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(stock):
    """10 MUGs and 10 JUGs at MAIN; EAST is empty."""
    WarehouseFactory(code="EAST")
    stock("JUG", warehouse="MAIN", on_hand=10)
    return stock("MUG", warehouse="MAIN", on_hand=10).product


def on_hand(sku: str, code: str) -> int | None:
    level = StockLevel.objects.filter(product__sku=sku, warehouse__code=code).first()
    return None if level is None else level.on_hand


def draft(mug) -> Transfer:
    """6 MUGs and 2 JUGs from MAIN to EAST."""
    from warehouses.models import Warehouse

    return transfer_create(
        source=Warehouse.objects.get(code="MAIN"), destination=Warehouse.objects.get(code="EAST"),
        items=[TransferItem(mug, 6), TransferItem(ProductFactory(sku="JUG"), 2)], actor="ops",
    )


def partly_received(mug) -> Transfer:
    """Shipped, then 2 of the 6 MUGs received; 4 MUGs and 2 JUGs still in transit."""
    transfer = transfer_ship(transfer=draft(mug), actor="ops")
    return transfer_receive(transfer=transfer, items=[TransferItem(mug, 2)], actor="ops")


def ledger() -> list[tuple]:
    return list(
        StockMovement.objects.order_by("id").values_list(
            "stock_level__product__sku", "stock_level__warehouse__code", "delta_on_hand",
            "reason", "reference",
        )
    )


def lines(transfer: Transfer) -> list[tuple]:
    return list(
        transfer.lines.order_by("product__sku").values_list(
            "product__sku", "quantity", "quantity_received", "quantity_lost"
        )
    )


# --- Service -------------------------------------------------------------------------------


def test_close_writes_off_what_is_still_in_transit(mug):
    transfer = partly_received(mug)
    before = ledger()

    closed = transfer_close(transfer=transfer, reason="Pallet lost by the carrier", actor="ops")

    assert closed.status == Transfer.Status.CLOSED
    assert (closed.close_reason, closed.closed_by) == ("Pallet lost by the carrier", "ops")
    assert closed.closed_at is not None and closed.received_at is None
    assert lines(closed) == [("JUG", 2, 0, 2), ("MUG", 6, 2, 4)]
    # The lost units left MAIN's on hand when shipped and were counted nowhere since.
    assert (on_hand("MUG", "MAIN"), on_hand("MUG", "EAST")) == (4, 2)
    assert (on_hand("JUG", "MAIN"), on_hand("JUG", "EAST")) == (8, None)
    assert ledger() == before
    assert stock_mismatches() == []


def test_shipping_receiving_and_closing_each_tell_other_systems(mug):
    from oms_project.models import OutboxEvent

    transfer = transfer_close(transfer=partly_received(mug), reason="Pallet lost", actor="ops")

    events = list(
        OutboxEvent.objects.filter(reference=transfer.number).order_by("id")
        .values_list("topic", "payload")
    )
    assert [topic for topic, _payload in events] == [
        "transfer.shipped", "transfer.received", "transfer.closed"
    ]
    shipped, received, closed = (payload for _topic, payload in events)
    assert (shipped["status"], shipped["source"], shipped["destination"]) == (
        "in_transit", "MAIN", "EAST"
    )
    assert received["received"] == [{"sku": "MUG", "quantity": 2}]
    assert closed["reason"] == "Pallet lost"
    assert sorted(
        (line["sku"], line["quantity_received"], line["quantity_lost"])
        for line in closed["lines"]
    ) == [("JUG", 0, 2), ("MUG", 2, 4)]


def test_a_closed_transfer_receives_nothing_more(mug):
    transfer = transfer_close(transfer=partly_received(mug), reason="lost", actor="ops")
    with pytest.raises(InvalidTransition):
        transfer_receive(transfer=transfer, actor="ops")
    assert on_hand("MUG", "EAST") == 2


def test_closing_needs_a_reason(mug):
    transfer = partly_received(mug)
    with pytest.raises(ValidationFailed) as caught:
        transfer_close(transfer=transfer, reason="  ", actor="ops")
    assert caught.value.errors == {"reason": ["This field may not be blank."]}
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert lines(transfer) == [("JUG", 2, 0, 0), ("MUG", 6, 2, 0)]


@pytest.mark.parametrize("state", ["draft", "received", "cancelled", "closed"])
def test_only_a_transfer_in_transit_can_be_closed(mug, state):
    transfer = draft(mug)
    if state == "received":
        transfer = transfer_receive(transfer=transfer_ship(transfer=transfer))
    elif state == "cancelled":
        transfer = transfer_cancel(transfer=transfer)
    elif state == "closed":
        transfer = transfer_close(transfer=transfer_ship(transfer=transfer), reason="lost")
    before = (ledger(), lines(transfer), transfer.close_reason)
    with pytest.raises(InvalidTransition, match="only an in transit transfer can be closed"):
        transfer_close(transfer=transfer, reason="again", actor="ops")
    transfer.refresh_from_db()
    assert transfer.status == state
    assert (ledger(), lines(transfer), transfer.close_reason) == before


# --- API -----------------------------------------------------------------------------------


@pytest.fixture
def writer(make_client):
    return make_client(scopes=["inventory:write", "inventory:read"])


def close(client, number: str, body: dict | None = None, key: str | None = "close-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/transfers/{number}/close/", body if body is not None else {"reason": "lost"},
        format="json", **headers,
    )


def test_api_close_writes_off_the_rest_and_answers_the_transfer(writer, mug):
    transfer = partly_received(mug)
    before = ledger()

    response = close(writer, transfer.number, {"reason": "Pallet lost by the carrier"})

    assert response.status_code == 200, response.content
    body = assert_conforms(response, "POST", "/transfers/{number}/close/")
    assert (body["status"], body["close_reason"]) == ("closed", "Pallet lost by the carrier")
    assert body["closed_by"] == writer.api_key.actor and body["closed_at"]
    assert body["lines"] == [
        {"sku": "MUG", "quantity": 6, "quantity_received": 2, "quantity_lost": 4},
        {"sku": "JUG", "quantity": 2, "quantity_received": 0, "quantity_lost": 2},
    ]
    assert (on_hand("MUG", "MAIN"), on_hand("MUG", "EAST"), on_hand("JUG", "MAIN")) == (4, 2, 8)
    assert ledger() == before
    assert stock_mismatches() == []
    assert writer.get(f"/api/v1/transfers/{transfer.number}/").json()["status"] == "closed"
    listed = writer.get("/api/v1/transfers/?status=closed").json()["results"]
    assert [row["number"] for row in listed] == [transfer.number]


def test_api_close_retried_with_the_same_key_is_replayed(writer, mug):
    transfer = partly_received(mug)
    first = close(writer, transfer.number)
    again = close(writer, transfer.number)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": ""}, {"reason": ["This field may not be blank."]}),
        ({"reason": "lost", "lines": []}, {"lines": ["Unknown field."]}),
    ],
)
def test_api_close_refuses_a_body_without_a_reason(writer, mug, body, errors):
    transfer = partly_received(mug)
    response = close(writer, transfer.number, body)
    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["errors"]) == ("validation_error", errors)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT


@pytest.mark.parametrize("state", ["draft", "received", "cancelled"])
def test_api_close_refuses_a_transfer_not_in_transit(writer, mug, state):
    transfer = draft(mug)
    if state == "received":
        transfer = transfer_receive(transfer=transfer_ship(transfer=transfer))
    elif state == "cancelled":
        transfer = transfer_cancel(transfer=transfer)
    before = ledger()
    response = close(writer, transfer.number)
    assert response.status_code == 409, response.content
    assert_conforms(response, "POST", "/transfers/{number}/close/")
    assert response.json()["code"] == "invalid_transition"
    transfer.refresh_from_db()
    assert (transfer.status, transfer.close_reason) == (state, "")
    assert ledger() == before


def test_api_close_needs_inventory_write(make_client, channel, mug):
    transfer = partly_received(mug)
    for client in (make_client(scopes=["inventory:read"]), make_client(channel=channel)):
        assert close(client, transfer.number).status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT


# --- Admin ---------------------------------------------------------------------------------


def close_url(transfer: Transfer) -> str:
    return reverse("admin:inventory_transfer_close", args=[transfer.pk])


def change_page(client, transfer: Transfer) -> str:
    url = reverse("admin:inventory_transfer_change", args=[transfer.pk])
    return client.get(url).content.decode()


def test_admin_close_asks_for_a_reason_then_writes_off(admin_client, admin_user, mug):
    transfer = partly_received(mug)
    assert close_url(transfer) in change_page(admin_client, transfer)
    page = admin_client.get(close_url(transfer))
    assert page.status_code == 200
    assert page.context["table"]["rows"] == [["MUG", 6, 2, 4], ["JUG", 2, 0, 2]]

    refused = admin_client.post(close_url(transfer), {"reason": ""})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"reason": ["This field is required."]}
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT

    before = ledger()
    response = admin_client.post(close_url(transfer), {"reason": "Stolen on the way"}, follow=True)
    assert "closed short: 6 unit(s) written off as lost in transit" in response.content.decode()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.close_reason, transfer.closed_by) == (
        "closed", "Stolen on the way", f"user:{admin_user.username}"
    )
    assert lines(transfer) == [("JUG", 2, 0, 2), ("MUG", 6, 2, 4)]
    assert ledger() == before
    assert close_url(transfer) not in change_page(admin_client, transfer)


def test_admin_close_of_a_draft_is_refused_and_changes_nothing(admin_client, mug):
    transfer = draft(mug)
    assert close_url(transfer) not in change_page(admin_client, transfer)
    response = admin_client.post(close_url(transfer), {"reason": "lost"}, follow=True)
    assert "only an in transit transfer can be closed" in response.content.decode()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.close_reason) == ("draft", "")
