"""The demo merchant's locations, carriers and sales channels (fixed, believable data)."""

from datetime import time
from decimal import Decimal

from orders.models import SalesChannel
from warehouses.models import Carrier, FreightClass, ServiceLevel, Warehouse

EAST, WEST, THIRD_PARTY, DROPSHIP = "NJ-EAST", "NV-WEST", "TX-3PL", "DS-TRAILHEAD"
STORE_NEW_YORK, STORE_SAN_FRANCISCO = "STORE-NYC", "STORE-SFO"
STORES = (STORE_NEW_YORK, STORE_SAN_FRANCISCO)

LOCATIONS = [
    {
        "code": EAST, "name": "East coast distribution center", "kind": Warehouse.Kind.WAREHOUSE,
        "line1": "300 Raritan Center Pkwy", "city": "Edison", "region": "NJ",
        "postal_code": "08837", "latitude": "40.513400", "longitude": "-74.337600",
        "priority": 10, "timezone": "America/New_York", "order_cutoff_time": time(15, 0),
        "daily_order_capacity": 2500,
        "accepted_freight_classes": [FreightClass.OVERSIZE, FreightClass.HAZMAT],
        "contact_emails": ["east-dc@example.com", "east-dc-lead@example.com"],
    },
    {
        "code": WEST, "name": "West coast distribution center", "kind": Warehouse.Kind.WAREHOUSE,
        "line1": "1850 E Greg St", "city": "Sparks", "region": "NV", "postal_code": "89431",
        "latitude": "39.522800", "longitude": "-119.735200", "priority": 20,
        "timezone": "America/Los_Angeles", "order_cutoff_time": time(14, 0),
        "daily_order_capacity": 1800,
        "accepted_freight_classes": [FreightClass.OVERSIZE, FreightClass.COLD],
        "contact_emails": ["west-dc@example.com"],
    },
    {
        "code": THIRD_PARTY, "name": "Lone Star Fulfillment (3PL)",
        "kind": Warehouse.Kind.THIRD_PARTY, "line1": "4200 Diplomacy Row", "city": "Dallas",
        "region": "TX", "postal_code": "75247", "latitude": "32.817100",
        "longitude": "-96.878900", "priority": 30, "timezone": "America/Chicago",
        "order_cutoff_time": time(16, 0), "daily_order_capacity": 600, "handling_days": 1,
        "accepted_freight_classes": [FreightClass.COLD, FreightClass.HAZMAT],
        "contact_emails": ["ops@lonestar-fulfillment.example.com"],
    },
    {
        "code": DROPSHIP, "name": "Trailhead Outfitters (drop-ship vendor)",
        "kind": Warehouse.Kind.DROPSHIP, "line1": "5601 Brighton Blvd", "city": "Denver",
        "region": "CO", "postal_code": "80216", "latitude": "39.796400",
        "longitude": "-104.962500", "priority": 60, "timezone": "America/Denver",
        "order_cutoff_time": time(12, 0), "daily_order_capacity": 150, "handling_days": 2,
        "accepted_freight_classes": [FreightClass.OVERSIZE],
        "contact_emails": ["orders@trailhead-outfitters.example.com"],
    },
    {
        "code": STORE_NEW_YORK, "name": "SoHo store, New York", "kind": Warehouse.Kind.STORE,
        "line1": "120 Spring St", "city": "New York", "region": "NY", "postal_code": "10012",
        "latitude": "40.723300", "longitude": "-73.998500", "priority": 40,
        "timezone": "America/New_York", "order_cutoff_time": time(17, 0),
        "daily_order_capacity": 60, "pickup_enabled": True, "can_ship": True,
        "contact_emails": ["soho-store@example.com"],
    },
    {
        "code": STORE_SAN_FRANCISCO, "name": "Union Square store, San Francisco",
        "kind": Warehouse.Kind.STORE, "line1": "250 Post St", "city": "San Francisco",
        "region": "CA", "postal_code": "94108", "latitude": "37.788700",
        "longitude": "-122.407500", "priority": 45, "timezone": "America/Los_Angeles",
        "order_cutoff_time": time(18, 0), "daily_order_capacity": 40, "pickup_enabled": True,
        "can_ship": False, "contact_emails": ["union-square-store@example.com"],
    },
]

CARRIERS = [
    {
        "code": "ups", "name": "UPS",
        "tracking_url_template": "https://www.ups.com/track?tracknum={tracking_number}",
        "service_levels": [
            ("ups-ground", "UPS Ground", 1, 5, [FreightClass.HAZMAT, FreightClass.OVERSIZE]),
            ("ups-2day", "UPS 2nd Day Air", 2, 2, []),
            ("ups-next-day", "UPS Next Day Air", 1, 1, [FreightClass.COLD]),
        ],
    },
    {
        "code": "fedex", "name": "FedEx",
        "tracking_url_template": "https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
        "service_levels": [
            ("fedex-home", "FedEx Home Delivery", 1, 5, [FreightClass.OVERSIZE]),
            ("fedex-express", "FedEx Express Saver", 3, 3, [FreightClass.COLD]),
            ("fedex-overnight", "FedEx Standard Overnight", 1, 1, [FreightClass.COLD]),
        ],
    },
]

WEB, MARKETPLACE, RETAIL = "web", "marketplace", "retail"

CHANNELS = [
    {
        "code": WEB, "name": "Web shop", "allow_split": True, "max_shipments": 3,
        "shortage_policy": SalesChannel.ShortagePolicy.BACKORDER, "order_number_prefix": "W",
        "support_email": "help@example.com", "brand_color": "#1f4e79",
        "warehouses": [EAST, WEST, THIRD_PARTY, DROPSHIP, STORE_NEW_YORK],
    },
    {
        "code": MARKETPLACE, "name": "Marketplace", "allow_split": False, "max_shipments": 1,
        "shortage_policy": SalesChannel.ShortagePolicy.REJECT, "order_number_prefix": "M",
        "support_email": "marketplace@example.com", "brand_color": "#b35900",
        "warehouses": [EAST, WEST, THIRD_PARTY],
    },
    {
        "code": RETAIL, "name": "Retail stores", "allow_split": False, "max_shipments": 1,
        "shortage_policy": SalesChannel.ShortagePolicy.REJECT, "order_number_prefix": "R",
        "support_email": "stores@example.com", "brand_color": "#2e7d32",
        "warehouses": list(STORES),
    },
]


def locations_ensure() -> dict[str, Warehouse]:
    """Create the six demo locations that do not exist yet; return them all by code."""
    locations = {}
    for spec in LOCATIONS:
        defaults = {key: value for key, value in spec.items() if key != "code"}
        defaults["latitude"] = Decimal(defaults["latitude"])
        defaults["longitude"] = Decimal(defaults["longitude"])
        defaults["country"] = "US"
        defaults["ships_to_countries"] = ["US"]
        locations[spec["code"]], _ = Warehouse.objects.get_or_create(
            code=spec["code"], defaults=defaults)
    return locations


def carriers_ensure() -> dict[str, ServiceLevel]:
    """Create the demo carriers and their service levels; return the levels by code."""
    service_levels = {}
    for spec in CARRIERS:
        carrier, _ = Carrier.objects.get_or_create(code=spec["code"], defaults={
            "name": spec["name"], "tracking_url_template": spec["tracking_url_template"]})
        for code, name, days_min, days_max, freight_classes in spec["service_levels"]:
            service_levels[code], _ = ServiceLevel.objects.get_or_create(code=code, defaults={
                "carrier": carrier, "name": name, "transit_days_min": days_min,
                "transit_days_max": days_max, "accepted_freight_classes": freight_classes})
    return service_levels


def channels_ensure(*, locations: dict[str, Warehouse]) -> dict[str, SalesChannel]:
    """Create the three demo channels with the locations that serve them."""
    channels = {}
    for spec in CHANNELS:
        defaults = {key: value for key, value in spec.items()
                    if key not in {"code", "warehouses"}}
        channel, _ = SalesChannel.objects.get_or_create(code=spec["code"], defaults=defaults)
        channel.warehouses.add(*(locations[code] for code in spec["warehouses"]))
        channels[spec["code"]] = channel
    return channels
