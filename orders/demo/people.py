"""Demo customers: names from a seeded Faker, addresses in real US cities, e-mails at
example domains (reserved, so no real mailbox ever receives a demo e-mail)."""

import random
import re
from dataclasses import dataclass

from faker import Faker

CITIES = (
    ("Brooklyn", "NY", "11201"), ("Jersey City", "NJ", "07302"), ("Boston", "MA", "02116"),
    ("Philadelphia", "PA", "19103"), ("Baltimore", "MD", "21201"), ("Atlanta", "GA", "30303"),
    ("Miami", "FL", "33130"), ("Chicago", "IL", "60607"), ("Minneapolis", "MN", "55401"),
    ("Austin", "TX", "78701"), ("Houston", "TX", "77002"), ("Denver", "CO", "80202"),
    ("Phoenix", "AZ", "85004"), ("Salt Lake City", "UT", "84101"), ("Las Vegas", "NV", "89101"),
    ("Los Angeles", "CA", "90012"), ("San Diego", "CA", "92101"),
    ("San Francisco", "CA", "94103"), ("Portland", "OR", "97205"), ("Seattle", "WA", "98101"),
)
AREA_CODES = ("201", "212", "303", "312", "415", "503", "512", "602", "617", "702", "713", "206")
DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class DemoCustomer:
    """A shopper as channels describe them in order payloads."""

    number: int
    first_name: str
    last_name: str
    email: str
    phone: str
    address: dict

    def payload(self, *, channel_customer_id: str | None) -> dict:
        return {"email": self.email, "first_name": self.first_name,
                "last_name": self.last_name, "phone": self.phone,
                "channel_customer_id": channel_customer_id}


def customers_generate(*, rng: random.Random, count: int) -> list[DemoCustomer]:
    """Build `count` distinct shoppers; the same seed always gives the same people."""
    faker = Faker("en_US")
    faker.seed_instance(rng.randint(0, 2**31))
    customers, emails = [], set()
    for number in range(1, count + 1):
        first_name, last_name = faker.first_name(), faker.last_name()
        local_part = re.sub(r"[^a-z0-9.]", "", f"{first_name}.{last_name}".lower())
        email = f"{local_part}@{rng.choice(DOMAINS)}"
        if email in emails:
            email = f"{local_part}{number}@{rng.choice(DOMAINS)}"
        emails.add(email)
        city, region, postal_code = rng.choice(CITIES)
        phone = f"+1 {rng.choice(AREA_CODES)}-555-{rng.randint(100, 199):04d}"
        address = {
            "first_name": first_name, "last_name": last_name,
            "line1": faker.street_address(), "city": city, "region": region,
            "postal_code": postal_code, "country": "US", "phone": phone,
        }
        customers.append(DemoCustomer(number=number, first_name=first_name,
                                      last_name=last_name, email=email, phone=phone,
                                      address=address))
    return customers
