"""List filters refuse values the database cannot take with a 400 on the parameter (found by
fuzzing the API: these were 500s)."""

import pytest

pytestmark = pytest.mark.django_db

# Valid where written, but outside years 1-9999 once in UTC.
BEFORE_FIRST_YEAR = "0001-01-01T00:00:00+05:00"
AFTER_LAST_YEAR = "9999-12-31T23:59:59-05:00"
SCOPES = ["orders:read", "customers:read", "returns:read", "shipments:read", "inventory:read"]


def problem(response, parameter: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    assert parameter in response.json()["errors"]


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/orders/", "placed_after"),
        ("/api/v1/orders/", "placed_before"),
        ("/api/v1/orders/", "updated_after"),
        ("/api/v1/customers/", "created_after"),
        ("/api/v1/returns/", "created_before"),
        ("/api/v1/refunds/", "created_after"),
        ("/api/v1/subscriptions/", "next_run_before"),
    ],
)
@pytest.mark.parametrize("moment", [BEFORE_FIRST_YEAR, AFTER_LAST_YEAR])
def test_a_time_out_of_range_in_utc_is_a_400_on_the_parameter(make_client, path, name, moment):
    client = make_client(scopes=SCOPES)
    problem(client.get(path, {name: moment}), name)
    assert client.get(path, {name: "2026-03-01T08:00:00+05:00"}).status_code == 200


@pytest.mark.parametrize("value", ["99999999999999999999", "1e40", "1.5", "0"])
def test_a_customer_id_that_is_no_key_is_a_400(make_client, value):
    client = make_client(scopes=SCOPES)
    problem(client.get("/api/v1/subscriptions/", {"customer_id": value}), "customer_id")
