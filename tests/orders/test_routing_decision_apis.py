"""The routing decisions list: its filters, with bad values refused as a 400 on the parameter."""

from datetime import timedelta

import pytest

from orders.models import RoutingDecision
from orders.services import order_create
from tests.orders.conftest import order_data

pytestmark = pytest.mark.django_db

URL = "/api/v1/routing-decisions/"


@pytest.fixture
def decisions(shop, stock):
    """Two orders' decisions, the first made two days ago, the second now."""
    stock("A", "EAST", 10)
    first, second = (
        order_create(channel=shop["channel"], data=order_data(channel_order_id=f"WEB-{number}"),
                     actor="test")
        for number in (1, 2)
    )
    earlier = RoutingDecision.objects.get(order=first)
    RoutingDecision.objects.filter(pk=earlier.pk).update(
        created_at=earlier.created_at - timedelta(days=2)
    )
    return first, second, RoutingDecision.objects.get(order=second).created_at


def ordered(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [decision["order"] for decision in response.json()["results"]]


def test_created_after_and_before_filter_by_the_decision_time(api, decisions):
    first, second, now = decisions
    a_day_ago = (now - timedelta(days=1)).isoformat()

    assert ordered(api.get(URL, {"created_after": a_day_ago})) == [second.number]
    assert ordered(api.get(URL, {"created_before": a_day_ago})) == [first.number]
    assert ordered(api.get(URL)) == [second.number, first.number]


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["garbage", "2026-13-01", "0001-01-01T00:00:00+05:00"])
def test_a_bad_time_is_a_400_on_the_parameter(api, decisions, name, value):
    response = api.get(URL, {name: value})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [name]


def test_the_filtered_list_runs_the_same_queries_however_many_decisions(
    api, shop, decisions, django_assert_num_queries
):
    _first, _second, now = decisions
    query = {"created_after": (now - timedelta(days=3)).isoformat(), "trigger": "allocation"}
    api.get(URL)  # the key's first use is recorded once
    with django_assert_num_queries(2):
        assert len(ordered(api.get(URL, query))) == 2
    order_create(channel=shop["channel"], data=order_data(channel_order_id="WEB-3"), actor="test")

    with django_assert_num_queries(2):
        assert len(ordered(api.get(URL, query))) == 3
