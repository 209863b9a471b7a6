"""Plain-SQL helpers for hot paths."""

import pytest
from django.db import connection

from inventory.models import Product
from oms_project.sql import placeholders


def test_placeholders_one_per_value():
    assert placeholders([7]) == "%s"
    assert placeholders({"a", "b", "c"}) == "%s, %s, %s"


def test_an_empty_in_list_is_refused_rather_than_written_as_invalid_sql():
    with pytest.raises(ValueError):
        placeholders([])


@pytest.mark.django_db
def test_placeholders_bind_on_this_database():
    Product.objects.create(sku="A-1", name="a")
    Product.objects.create(sku="B-2", name="b")
    skus = ["A-1", "B-2", "C-3"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sku FROM inventory_product WHERE sku IN ({placeholders(skus)}) ORDER BY sku",
            skus,
        )
        assert [row[0] for row in cursor.fetchall()] == ["A-1", "B-2"]
