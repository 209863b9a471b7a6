"""The demo catalogue: products with believable attributes, and their opening stock.

Stock enters only through `inventory.services` (receipts write the ledger), so the demo data
passes the same reconciliation as real data.
"""

import random
from dataclasses import dataclass, field
from decimal import Decimal

from inventory.models import Product
from inventory.services import stock_level_ensure, stock_level_settings_update, stock_receive
from orders.demo.network import (
    DROPSHIP,
    EAST,
    STORE_NEW_YORK,
    STORE_SAN_FRANCISCO,
    THIRD_PARTY,
    WEST,
)
from warehouses.models import FreightClass, Warehouse

OPENING_STOCK_REFERENCE = "demo:opening-stock"
ACTOR = "system:seed_demo"

COLORS = ("Navy", "Charcoal", "Olive", "Sand", "Rust", "Forest", "Slate", "Ivory", "Black",
          "Heather Grey", "Indigo", "Clay")
FINISHES = ("Stoneware", "Oak", "Linen", "Brass", "Matte", "Speckled", "Walnut", "Recycled",
            "Hand-thrown", "Organic")
SERIES = ("Ultralight", "Trail", "Summit", "Alpine", "Basecamp", "Ridge", "Canyon", "Tundra")


@dataclass(frozen=True)
class Category:
    """A family of products sharing a SKU prefix, freight class and physical ranges."""

    prefix: str
    nouns: tuple[str, ...]
    modifiers: tuple[str, ...]
    freight_class: str
    grams: tuple[int, int]
    millimetres: tuple[int, int]
    price: tuple[int, int]


APPAREL = Category("APP", ("T-Shirt", "Hoodie", "Crewneck Sweater", "Rain Jacket", "Chino Pants",
                           "Denim Jacket", "Wool Beanie", "Flannel Shirt", "Puffer Vest",
                           "Running Shorts", "Merino Socks", "Fleece Pullover"),
                   COLORS, FreightClass.STANDARD, (120, 1200), (150, 450), (18, 140))
HOME = Category("HOM", ("Mug", "Throw Blanket", "Scented Candle", "Desk Lamp", "Wall Clock",
                        "Towel Set", "Carafe", "Cutting Board", "Planter", "Serving Bowl"),
                FINISHES, FreightClass.STANDARD, (200, 2500), (100, 500), (12, 120))
OUTDOOR = Category("OUT", ("Trekking Poles", "Headlamp", "Water Bottle", "Daypack", "Camp Mug",
                           "Sleeping Pad", "Hammock", "Rain Shell", "Dry Bag", "Trail Gaiters"),
                   SERIES, FreightClass.STANDARD, (90, 1600), (120, 600), (15, 180))
OVERSIZE = Category("BIG", ("2-Person Tent", "Inflatable Kayak", "Camp Table", "Folding Wagon",
                            "Cargo Roof Box", "Standing Desk Frame", "Camp Chair Set"),
                    SERIES, FreightClass.OVERSIZE, (6000, 24000), (900, 2200), (150, 700))
HAZMAT = Category("HAZ", ("Camp Stove Fuel", "Lithium Power Bank", "Bear Spray",
                          "Lantern Fuel", "Waterproofing Spray"),
                  SERIES, FreightClass.HAZMAT, (200, 900), (80, 250), (9, 60))
COLD = Category("FRS", ("Aged Cheddar Wheel", "Chocolate Truffle Box", "Smoked Salmon Pack",
                        "Gelato Sampler", "Cold Brew Concentrate"),
                ("Artisan", "Small-batch", "Reserve", "Classic"), FreightClass.COLD,
                (300, 2500), (150, 350), (16, 85))
STANDARD_CATEGORIES = (APPAREL, HOME, OUTDOOR)


@dataclass
class CatalogItem:
    """A demo product with its price and the units free to sell per location."""

    product: Product
    category: Category
    price: Decimal
    free: dict[str, int] = field(default_factory=dict)

    @property
    def is_standard(self) -> bool:
        return self.category.freight_class == FreightClass.STANDARD


def catalog_create(*, rng: random.Random, product_count: int,
                   locations: dict[str, Warehouse]) -> list[CatalogItem]:
    """Create the products, receive their opening stock and set reorder rules.

    About 10% of products are oversize, hazmat or cold; 3% are out of stock everywhere.
    """
    special = max(product_count // 30, 1)
    categories = [OVERSIZE] * special + [HAZMAT] * special + [COLD] * special
    categories += [STANDARD_CATEGORIES[index % 3]
                   for index in range(product_count - len(categories))]
    out_of_stock = {index for index in range(len(categories))
                    if categories[index] in (APPAREL, HOME)}
    out_of_stock = set(sorted(out_of_stock)[-max(product_count // 33, 1):])
    items, names = [], set()
    for index, category in enumerate(categories):
        item = CatalogItem(product=_product_ensure(rng, index, category, names),
                           category=category, price=_price(rng, category))
        if index in out_of_stock:
            _stock_out(item, locations)
        else:
            _stock_receive_all(rng, item, locations)
        items.append(item)
    return items


def _product_ensure(rng: random.Random, index: int, category: Category, names: set) -> Product:
    name = f"{rng.choice(category.modifiers)} {rng.choice(category.nouns)}"
    while name in names:
        name = f"{rng.choice(category.modifiers)} {rng.choice(category.nouns)}"
    names.add(name)
    low, high = category.millimetres
    dimensions = sorted((rng.randint(low, high) for _ in range(3)), reverse=True)
    product, _ = Product.objects.get_or_create(sku=f"{category.prefix}-{1001 + index}", defaults={
        "name": name, "external_id": f"P{480100 + index * 7}",
        "barcode": _upc(f"08421570{index:03d}"), "freight_class": category.freight_class,
        "weight_grams": rng.randint(*category.grams), "length_mm": dimensions[0],
        "width_mm": dimensions[1], "height_mm": dimensions[2],
        "low_stock_threshold": rng.choice((3, 5, 5, 10)),
    })
    return product


def _upc(eleven_digits: str) -> str:
    """Append the UPC-A check digit."""
    odd = sum(int(digit) for digit in eleven_digits[0::2])
    even = sum(int(digit) for digit in eleven_digits[1::2])
    return eleven_digits + str((10 - (odd * 3 + even) % 10) % 10)


def _price(rng: random.Random, category: Category) -> Decimal:
    cents = Decimal("0.99") if rng.random() < 0.7 else Decimal("0.00")
    return Decimal(rng.randint(*category.price)) + cents


def _opening_quantities(rng: random.Random, category: Category) -> dict[str, int]:
    """Units to receive per location, respecting what each location may hold."""
    if category is OVERSIZE:
        return {EAST: rng.randint(12, 40), WEST: rng.randint(10, 35),
                DROPSHIP: rng.randint(5, 30)}
    if category is HAZMAT:
        return {EAST: rng.randint(20, 80), THIRD_PARTY: rng.randint(20, 60)}
    if category is COLD:
        return {WEST: rng.randint(15, 60), THIRD_PARTY: rng.randint(15, 60)}
    quantities = {EAST: rng.randint(60, 220), WEST: rng.randint(40, 180)}
    if rng.random() < 0.4:
        quantities[THIRD_PARTY] = rng.randint(20, 80)
    if category is OUTDOOR:
        quantities[DROPSHIP] = rng.randint(20, 80)
    store_share = 0.3 if category is OUTDOOR else 0.6
    for store in (STORE_NEW_YORK, STORE_SAN_FRANCISCO):
        if rng.random() < store_share:
            quantities[store] = rng.randint(8, 24)
    return quantities


def _stock_receive_all(rng: random.Random, item: CatalogItem,
                       locations: dict[str, Warehouse]) -> None:
    for code, quantity in _opening_quantities(rng, item.category).items():
        location = locations[code]
        level = stock_receive(product=item.product, warehouse=location, quantity=quantity,
                              reference=OPENING_STOCK_REFERENCE, actor=ACTOR)
        safety_stock = 0
        if location.kind == Warehouse.Kind.STORE:
            if rng.random() < 0.5:
                stock_level_settings_update(level=level, reorder_point=3, reorder_quantity=12)
        elif rng.random() < 0.4:
            safety_stock = rng.randint(1, 4)
            stock_level_settings_update(
                level=level, safety_stock=safety_stock, reorder_point=max(quantity // 5, 5),
                reorder_quantity=-(-quantity // 20) * 10)
        item.free[code] = quantity - safety_stock


def _stock_out(item: CatalogItem, locations: dict[str, Warehouse]) -> None:
    """A sold-out product: empty stock levels that wait for a reorder."""
    for code in (EAST, WEST):
        level = stock_level_ensure(product=item.product, warehouse=locations[code])
        stock_level_settings_update(level=level, reorder_point=10, reorder_quantity=60)
        item.free[code] = 0
