"""`/api/v1/stock-levels/`: every filter, search and the per-SKU summary."""

import pytest

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(make_client):
    return make_client(scopes=["inventory:read"])


@pytest.fixture
def levels(stock):
    ProductFactory(sku="BOLT-1", name="Steel bolt", external_id="P-77", barcode="400111")
    stock("BOLT-1", "MAIN", on_hand=20, reorder_point=5)
    stock("BOLT-1", "EAST", on_hand=3, reorder_point=5)
    ProductFactory(sku="NUT-1", name="Brass nut", external_id="P-78", barcode="400222")
    stock("NUT-1", "MAIN", on_hand=0)
    stock("NUT-1", "EAST", on_hand=8, safety_stock=8)


def rows(client, query):
    response = client.get(f"/api/v1/stock-levels/?{query}")
    assert response.status_code == 200, response.content
    return sorted(f"{row['sku']}@{row['warehouse']}" for row in response.json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sku=NUT-1", ["NUT-1@EAST", "NUT-1@MAIN"]),
        ("warehouse=EAST", ["BOLT-1@EAST", "NUT-1@EAST"]),
        ("low_stock=true", ["BOLT-1@EAST", "NUT-1@EAST", "NUT-1@MAIN"]),
        ("low_stock=false", ["BOLT-1@MAIN"]),
        ("out_of_stock=true", ["NUT-1@EAST", "NUT-1@MAIN"]),
        ("out_of_stock=false", ["BOLT-1@EAST", "BOLT-1@MAIN"]),
        ("search=bolt-1", ["BOLT-1@EAST", "BOLT-1@MAIN"]),
        ("search=P-78", ["NUT-1@EAST", "NUT-1@MAIN"]),
        ("search=400111", ["BOLT-1@EAST", "BOLT-1@MAIN"]),
        ("search=brass", ["NUT-1@EAST", "NUT-1@MAIN"]),
        ("search=nothing", []),
        ("warehouse=MAIN&out_of_stock=true", ["NUT-1@MAIN"]),
    ],
)
def test_list_filters(reader, levels, query, expected):
    assert rows(reader, query) == expected


def test_search_by_internal_product_id(reader, levels):
    from inventory.models import Product

    product_id = Product.objects.get(sku="NUT-1").pk
    assert rows(reader, f"search={product_id}") == ["NUT-1@EAST", "NUT-1@MAIN"]


def test_summary_totals_per_sku_with_warehouse_rows(reader, levels):
    response = reader.get("/api/v1/stock-levels/summary/?search=bolt")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "results": [
            {
                "sku": "BOLT-1", "product_id": "P-77", "name": "Steel bolt", "barcode": "400111",
                "on_hand": 23, "allocated": 0, "available": 23,
                "warehouses": [
                    {"warehouse": "EAST", "on_hand": 3, "allocated": 0, "safety_stock": 0,
                     "available": 3, "reorder_point": 5},
                    {"warehouse": "MAIN", "on_hand": 20, "allocated": 0, "safety_stock": 0,
                     "available": 20, "reorder_point": 5},
                ],
            }
        ],
        "next_after": None,
    }


def test_summary_filters_and_pages(reader, levels):
    low = reader.get("/api/v1/stock-levels/summary/?low_stock=true&warehouse=EAST").json()
    assert [(row["sku"], [w["warehouse"] for w in row["warehouses"]]) for row in low["results"]] \
        == [("BOLT-1", ["EAST"]), ("NUT-1", ["EAST"])]
    first = reader.get("/api/v1/stock-levels/summary/?limit=1").json()
    assert [row["sku"] for row in first["results"]] == ["BOLT-1"]
    assert first["next_after"] == "BOLT-1"
    second = reader.get("/api/v1/stock-levels/summary/?limit=1&after=BOLT-1").json()
    assert [row["sku"] for row in second["results"]] == ["NUT-1"]
    assert second["next_after"] is None


@pytest.mark.parametrize("limit", ["0", "501", "x"])
def test_summary_refuses_a_bad_limit(reader, levels, limit):
    response = reader.get(f"/api/v1/stock-levels/summary/?limit={limit}")
    assert response.status_code == 400
    assert response.json()["errors"] == {"limit": ["A whole number from 1 to 500."]}


def test_list_and_summary_query_counts_are_constant(reader, levels, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        reader.get("/api/v1/stock-levels/")
    with django_assert_max_num_queries(4):
        reader.get("/api/v1/stock-levels/summary/")


@pytest.mark.parametrize(
    "url",
    ["/api/v1/stock-levels/?low_stock=maybe", "/api/v1/stock-levels/?out_of_stock=yes",
     "/api/v1/stock-levels/summary/?low_stock=maybe"],
)
def test_a_boolean_filter_that_is_not_a_boolean_is_400(reader, levels, url):
    response = reader.get(url)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    name = url.split("?")[1].split("=")[0]
    assert response.json()["errors"] == {name: ["Use true, false, 1 or 0."]}


def test_the_strict_boolean_filter_takes_true_false_1_0_or_nothing(levels):
    import django_filters

    from inventory import selectors
    from inventory.models import StockLevel
    from oms_project.filters import StrictBooleanFilter

    class LowStockFilter(django_filters.FilterSet):
        low_stock = StrictBooleanFilter(method="filter_low_stock")

        class Meta:
            model = StockLevel
            fields = []

        def filter_low_stock(self, queryset, name, value):
            return selectors.stock_levels_low(queryset, value)

    def count(value):
        filterset = LowStockFilter(
            {"low_stock": value}, queryset=selectors.stock_levels_with_availability()
        )
        assert filterset.is_valid(), filterset.errors
        return filterset.qs.count()

    assert [count(value) for value in ("true", "TRUE", "1", "false", "0", "")] == [
        3, 3, 3, 1, 1, 4
    ]
    refused = LowStockFilter(
        {"low_stock": "maybe"}, queryset=selectors.stock_levels_with_availability()
    )
    assert not refused.is_valid()
    assert refused.errors == {"low_stock": ["Use true, false, 1 or 0."]}
