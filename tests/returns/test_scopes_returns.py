"""Who may do what with returns over the API.

A channel key opens, reads and withdraws returns of its own orders (a customer asks to send
something back). Deciding on a return, taking the units back into stock and paying out is the
merchant's back office: it needs `returns:write` granted on the key (integration keys) or a
staff session. A channel key granted `returns:write` restocks only at its channel's locations.
"""

import pytest

from inventory.models import StockLevel, StockMovement
from returns.models import Refund, ReturnRequest
from tests.factories import SalesChannelFactory, WarehouseFactory
from tests.returns.conftest import lines_by_sku, post_json

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"


@pytest.fixture
def web_client(make_client, shop):
    return make_client(channel=shop["channel"])


@pytest.fixture
def back_office(make_client):
    return make_client(scopes=["returns:write"], name="returns desk")


@pytest.fixture
def store_sfo(shop, stock):
    """A retail-only store that is not one of the web channel's locations, holding 9 of A."""
    WarehouseFactory(code="STORE-SFO", kind="store", name="San Francisco store")
    stock("A", "STORE-SFO", 9)
    return "STORE-SFO"


def on_hand(sku: str, code: str) -> int:
    return StockLevel.objects.get(product__sku=sku, warehouse__code=code).on_hand


def open_return(client, order, sku="A", quantity=1) -> str:
    line = lines_by_sku(order)[sku]
    response = post_json(client, RETURNS, {
        "order": order.number,
        "lines": [{"line_id": line.pk, "quantity": quantity, "reason": "defective"}],
    })
    assert response.status_code == 201, response.json()
    return response.json()["number"]


def receipt(order, location: str, sku="A", quantity=1) -> dict:
    line = lines_by_sku(order)[sku]
    return {"lines": [{"line_id": line.pk, "condition": "resellable", "quantity": quantity,
                       "location": location}]}


def assert_forbidden(response, scope: str = "returns:write") -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "permission_denied"
    assert scope in response.json()["detail"]


def status_of(number: str) -> str:
    return ReturnRequest.objects.get(number=number).status


# --- channel keys: open, read, withdraw ----------------------------------------------------


def test_channel_key_opens_reads_and_withdraws_its_own_return(web_client, delivered):
    number = open_return(web_client, delivered)

    assert web_client.get(f"{RETURNS}{number}/").json()["status"] == "requested"
    assert [row["number"] for row in web_client.get(RETURNS).json()["results"]] == [number]
    assert web_client.get(f"{RETURNS}{number}/refund-quote/").status_code == 200
    assert web_client.get(f"/api/v1/orders/{delivered.number}/returns/").status_code == 200
    assert web_client.get(f"/api/v1/refunds/?order={delivered.number}").status_code == 200
    response = post_json(web_client, f"{RETURNS}{number}/cancel/", {"note": "Kept it"})
    assert response.status_code == 200, response.json()
    assert status_of(number) == "cancelled"


@pytest.mark.parametrize(
    ("action", "body"),
    [("approve", {}), ("reject", {"reason": "Worn"})],
)
def test_channel_key_cannot_decide_on_a_return(web_client, delivered, action, body):
    number = open_return(web_client, delivered)

    assert_forbidden(post_json(web_client, f"{RETURNS}{number}/{action}/", body))

    assert status_of(number) == "requested"


def test_channel_key_with_default_scopes_cannot_receive_restock_or_refund(
    web_client, back_office, delivered, store_sfo
):
    """The reviewer's case: approve, restock into a store the channel does not sell from,
    and refund more than the unit is worth through an adjustment."""
    number = open_return(web_client, delivered)
    assert_forbidden(post_json(web_client, f"{RETURNS}{number}/approve/", {}))
    assert post_json(back_office, f"{RETURNS}{number}/approve/", {}).status_code == 200
    movements = StockMovement.objects.count()

    receive = post_json(web_client, f"{RETURNS}{number}/receive/", receipt(delivered, store_sfo))
    assert_forbidden(receive)
    assert on_hand("A", store_sfo) == 9
    assert StockMovement.objects.count() == movements
    assert status_of(number) == "approved"

    assert post_json(
        back_office, f"{RETURNS}{number}/receive/", receipt(delivered, "EAST")
    ).status_code == 200
    refund = post_json(web_client, f"{RETURNS}{number}/refund/",
                       {"adjustment": "24.99", "adjustment_reason": "Because"})
    assert_forbidden(refund)
    assert_forbidden(post_json(web_client, f"{RETURNS}{number}/close/", {}))
    assert not Refund.objects.exists()
    assert status_of(number) == "received"


def test_channel_key_cannot_record_a_refund_without_a_return(web_client, delivered):
    response = post_json(web_client, "/api/v1/refunds/", {
        "order": delivered.number, "kind": "goodwill", "amount": "5.00", "reason": "Late",
    })
    assert_forbidden(response)
    assert not Refund.objects.exists()


# --- the back office -----------------------------------------------------------------------


def test_integration_key_with_returns_write_walks_the_return_and_restocks_anywhere(
    web_client, back_office, delivered, store_sfo
):
    number = open_return(web_client, delivered)
    assert post_json(back_office, f"{RETURNS}{number}/approve/", {}).status_code == 200
    response = post_json(back_office, f"{RETURNS}{number}/receive/",
                         receipt(delivered, store_sfo))
    assert response.status_code == 200, response.json()
    assert on_hand("A", store_sfo) == 10
    response = post_json(back_office, f"{RETURNS}{number}/refund/", {})
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "9.80"
    assert post_json(back_office, f"{RETURNS}{number}/close/", {}).status_code == 200
    assert status_of(number) == "closed"


def test_staff_session_moves_a_return_on(web_client, staff_client, delivered):
    number = open_return(web_client, delivered)
    assert post_json(staff_client, f"{RETURNS}{number}/approve/", {}).status_code == 200
    assert post_json(staff_client, f"{RETURNS}{number}/receive/",
                     receipt(delivered, "EAST")).status_code == 200
    assert post_json(staff_client, f"{RETURNS}{number}/refund/", {}).status_code == 201


def test_read_only_integration_key_cannot_move_a_return_on(make_client, web_client, delivered):
    reader = make_client(scopes=["returns:read"])
    number = open_return(web_client, delivered)
    assert reader.get(f"{RETURNS}{number}/").status_code == 200
    assert_forbidden(post_json(reader, f"{RETURNS}{number}/approve/", {}))
    assert_forbidden(post_json(reader, f"{RETURNS}{number}/cancel/", {}))
    assert status_of(number) == "requested"


# --- a channel key granted the back-office scope -------------------------------------------


def test_channel_key_granted_returns_write_restocks_only_at_its_channel_locations(
    make_client, shop, delivered, store_sfo
):
    desk = make_client(channel=shop["channel"], scopes=["returns:write"])
    number = open_return(desk, delivered)
    assert post_json(desk, f"{RETURNS}{number}/approve/", {}).status_code == 200

    refused = post_json(desk, f"{RETURNS}{number}/receive/", receipt(delivered, store_sfo))

    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "validation_error"
    line_id = delivered.lines.get(sku="A").pk
    assert refused.json()["errors"] == {
        "lines": {str(line_id): ["'STORE-SFO' is not one of this channel's locations."]}
    }
    assert on_hand("A", store_sfo) == 9
    assert status_of(number) == "approved"
    accepted = post_json(desk, f"{RETURNS}{number}/receive/", receipt(delivered, "WEST"))
    assert accepted.status_code == 200, accepted.json()
    assert on_hand("A", "WEST") == 1


def test_channel_key_granted_returns_write_still_sees_only_its_channel(
    make_client, shop, delivered
):
    web = make_client(channel=shop["channel"])
    market_desk = make_client(channel=SalesChannelFactory(code="market"),
                              scopes=["returns:write"])
    number = open_return(web, delivered)
    response = post_json(market_desk, f"{RETURNS}{number}/approve/", {})
    assert response.status_code == 404
    assert status_of(number) == "requested"
