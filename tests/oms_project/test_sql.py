"""Plain-SQL helpers for hot paths."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from inventory.models import Product
from oms_project.sql import instance_from_row, placeholders, row_fields, select_columns
from orders.models import ApiKey, SalesChannel
from orders.services import api_key_create
from tests.factories import CustomerFactory, SalesChannelFactory


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


def _read(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select_columns(model, 't')} FROM {model._meta.db_table} t WHERE t.id = %s",
            [pk],
        )
        return instance_from_row(model, cursor.fetchone())


@pytest.mark.django_db
def test_instance_from_row_is_what_a_queryset_builds():
    """Booleans, decimals, JSON, time zones and NULLs convert as in a queryset, on this
    database (SQLite keeps booleans as integers and decimals as text)."""
    channel = SalesChannelFactory(reserve_on_create=True)
    key, _secret = api_key_create(name="erp", channel=channel, scopes=["orders:read"])
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now(), is_active=False)
    customer = CustomerFactory(accepts_marketing=True, lifetime_value=Decimal("1234.50"))
    for model, pk in ((ApiKey, key.pk), (SalesChannel, channel.pk), (Customer, customer.pk)):
        built, loaded = _read(model, pk), model.objects.get(pk=pk)
        assert not built._state.adding and built._state.db == "default"
        for field in row_fields(model):
            ours, theirs = getattr(built, field.attname), getattr(loaded, field.attname)
            assert (ours, type(ours)) == (theirs, type(theirs)), field.name
    assert _read(ApiKey, key.pk).scopes == ["orders:read"]
    assert _read(Customer, customer.pk).lifetime_value == Decimal("1234.50")
