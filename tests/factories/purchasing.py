"""Factories for suppliers and their products (purchase orders go through the services)."""

from decimal import Decimal

import factory

from inventory.models import Supplier, SupplierProduct
from tests.factories import ProductFactory


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SUP{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Supplier {o.code}")
    contact_emails = factory.LazyAttribute(lambda o: f"orders@{o.code.lower()}.test")
    lead_time_days = 10
    currency = "USD"


class SupplierProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProduct
        django_get_or_create = ("supplier", "product")

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    supplier_sku = factory.LazyAttribute(lambda o: f"V-{o.product.sku}")
    unit_cost = Decimal("4.5000")
    pack_size = 1
    minimum_quantity = 1
    is_preferred = True
