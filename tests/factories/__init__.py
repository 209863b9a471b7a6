"""factory_boy factories for every model the tests build."""

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import Address, Customer
from inventory.models import Product, StockLevel
from orders.models import Order, OrderLine, SalesChannel
from warehouses.models import Carrier, ServiceLevel, Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    country = "US"
    city = "Reno"
    latitude = Decimal("39.529600")
    longitude = Decimal("-119.813800")


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"carrier{n}")
    name = factory.LazyAttribute(lambda o: o.code.upper())
    tracking_url_template = "https://track.example/{tracking_number}"


class ServiceLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceLevel
        django_get_or_create = ("code",)

    carrier = factory.SubFactory(CarrierFactory)
    code = factory.Sequence(lambda n: f"ground{n}")
    name = "Ground"
    transit_days_min = 2
    transit_days_max = 5


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    external_id = factory.Sequence(lambda n: f"P{n:06d}")
    barcode = factory.Sequence(lambda n: f"0{n:012d}")


class StockLevelFactory(factory.django.DjangoModelFactory):
    """A stock level with no stock; put stock in through `inventory.services`."""

    class Meta:
        model = StockLevel
        django_get_or_create = ("product", "warehouse")

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)


class SalesChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesChannel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postal_code = "89501"
    country = "US"
    fingerprint = factory.Sequence(lambda n: f"{n:064d}")


class OrderFactory(factory.django.DjangoModelFactory):
    """A bare order row for read-side tests; write paths go through `orders.services`."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T{n:07d}")
    channel = factory.SubFactory(SalesChannelFactory)
    channel_order_id = factory.Sequence(lambda n: f"EXT-{n}")
    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda o: o.customer.email)
    placed_at = factory.LazyFunction(timezone.now)
    shipping_address = factory.LazyFunction(
        lambda: {"line1": "1 Main St", "city": "Reno", "postal_code": "89501", "country": "US"}
    )


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda o: o.product.sku)
    name = factory.LazyAttribute(lambda o: o.product.name)
    quantity = 1
    unit_price = Decimal("10.00")
    discount = Decimal("0.00")
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity - o.discount)
