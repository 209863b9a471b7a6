"""Customer profiles for a batch of orders: upsert, address book and lifetime totals.

The batch counterpart of `customer_upsert`, `address_remember` and `customer_record_order`:
the entries are applied in the order given, with the same rules (a channel's customer id wins
over the e-mail; blank profile fields never overwrite; the last address used becomes the
default; counts and lifetime value grow with `F()` so concurrent orders add up), but every
kind of row is read and written in a constant number of statements for the whole batch.
Call inside the business transaction; a clash with a concurrent writer raises
`IntegrityError` and the caller retries order by order.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from customers.models import Address, Customer, CustomerChannel
from customers.services import (
    ADDRESS_FIELDS,
    PROFILE_FIELDS,
    address_fingerprint,
    normalize_email,
)
from oms_project.bulk_insert import rows_insert
from oms_project.sql import placeholders
from orders.pricing import money_expression


@dataclass
class OrderCustomer:
    """Who placed one order of the batch, and what the order adds to their profile."""

    channel_code: str
    email: str
    external_id: str | None = None
    profile: dict = field(default_factory=dict)
    shipping_address: dict | None = None
    billing_address: dict | None = None


@dataclass
class OrderTotals:
    """What one order adds to its customer's lifetime totals and preferences."""

    customer: Customer
    total: Decimal
    placed_at: datetime
    shipping_method: str = ""
    payment_method: str = ""


def customers_upsert_for_orders(*, entries: list[OrderCustomer]) -> list[tuple[Customer, Customer]]:
    """Find or create the customer of every entry (in order) and remember their addresses.

    Returns per entry the saved customer (the same object for entries of the same person) and
    an unsaved copy of the profile as it stood after that entry, for what the order shows the
    customer (a later order of the batch may still change the name).
    """
    known = _CustomerIndex.load(entries)
    customers, as_of = [], []
    for entry in entries:
        customer = known.resolve(entry)
        customers.append(customer)
        as_of.append(Customer(**{f.attname: getattr(customer, f.attname) for f in _FIELDS}))
    known.save()
    for customer, copy in zip(customers, as_of, strict=True):
        copy.pk = customer.pk
    _addresses_remember(entries, customers, {customer.pk for customer in known.new_customers})
    return list(zip(customers, as_of, strict=True))


_FIELDS = Customer._meta.concrete_fields


class _CustomerIndex:
    """The batch's customers and channel links, loaded once and changed in memory."""

    def __init__(self, customers: list[Customer], links: list[CustomerChannel]):
        self.by_email = {customer.email.lower(): customer for customer in customers}
        self.by_pk = {customer.pk: customer for customer in customers}
        self.link_by_external = {}
        self.link_by_customer = {}
        for link in links:
            self._index_link(link, self.by_pk[link.customer_id])
        self.new_customers: list[Customer] = []
        self.changed_customers: dict[int, set[str]] = defaultdict(set)
        self.new_links: list[CustomerChannel] = []
        self.changed_links: dict[int, CustomerChannel] = {}

    @classmethod
    def load(cls, entries: list[OrderCustomer]) -> "_CustomerIndex":
        """Read the entries' customers (by e-mail, or linked by a channel's customer id) and
        their links to the entries' channels: one query, two if any customer is known.

        Raw SQL: this runs for every order, and building the same statements with the ORM
        cost several times what running them does."""
        emails = sorted({normalize_email(entry.email) for entry in entries})
        conditions, params = [f"lower(email) IN ({placeholders(emails)})"], [*emails]
        links_table = CustomerChannel._meta.db_table
        for code in sorted({entry.channel_code for entry in entries}):
            externals = sorted(
                {e.external_id for e in entries if e.external_id and e.channel_code == code}
            )
            if externals:
                conditions.append(
                    f"id IN (SELECT customer_id FROM {links_table} WHERE channel_code = %s "
                    f"AND external_id IN ({placeholders(externals)}))"
                )
                params += [code, *externals]
        customers = list(
            Customer.objects.raw(
                f"SELECT * FROM {Customer._meta.db_table} WHERE {' OR '.join(conditions)}",
                params,
            )
        )
        links = []
        if customers:
            ids = [customer.pk for customer in customers]
            codes = sorted({entry.channel_code for entry in entries})
            links = list(
                CustomerChannel.objects.raw(
                    f"SELECT * FROM {links_table} WHERE customer_id IN ({placeholders(ids)}) "
                    f"AND channel_code IN ({placeholders(codes)})",
                    [*ids, *codes],
                )
            )
        return cls(customers, links)

    def _index_link(self, link: CustomerChannel, customer: Customer) -> None:
        link.customer = customer
        if link.external_id:
            self.link_by_external[(link.channel_code, link.external_id)] = link
        self.link_by_customer[(id(customer), link.channel_code)] = link

    def resolve(self, entry: OrderCustomer) -> Customer:
        email = normalize_email(entry.email)
        profile = {key: value for key, value in entry.profile.items() if value}
        customer = None
        if entry.external_id:
            link = self.link_by_external.get((entry.channel_code, entry.external_id))
            customer = link.customer if link else None
        if customer is None:
            customer = self.by_email.get(email)
        if customer is None:
            customer = Customer(email=email, **profile)
            self.by_email[email] = customer
            self.new_customers.append(customer)
        for name in PROFILE_FIELDS:
            if profile.get(name) and getattr(customer, name) != profile[name]:
                setattr(customer, name, profile[name])
                if customer.pk is not None:
                    self.changed_customers[customer.pk].add(name)
        self._link(customer, entry.channel_code, entry.external_id)
        return customer

    def _link(self, customer: Customer, channel_code: str, external_id: str | None) -> None:
        link = self.link_by_customer.get((id(customer), channel_code))
        if link is None:
            link = CustomerChannel(channel_code=channel_code, external_id=external_id or None)
            self.new_links.append(link)
            self._index_link(link, customer)
        elif external_id and link.external_id != external_id:
            self.link_by_external.pop((channel_code, link.external_id), None)
            link.external_id = external_id
            self.link_by_external[(channel_code, external_id)] = link
            if link.pk is not None:
                self.changed_links[link.pk] = link

    def save(self) -> None:
        rows_insert(self.new_customers)
        now = timezone.now()
        changed = [self.by_pk[pk] for pk in self.changed_customers]
        for customer in changed:
            customer.updated_at = now
        if changed:
            names = sorted(set().union(*self.changed_customers.values()))
            Customer.objects.bulk_update(changed, [*names, "updated_at"])
        for link in self.new_links:
            link.customer_id = link.customer.pk
        rows_insert(self.new_links)
        if self.changed_links:
            CustomerChannel.objects.bulk_update(list(self.changed_links.values()), ["external_id"])


def _addresses_remember(
    entries: list[OrderCustomer], customers: list[Customer], new_customer_ids: set[int]
) -> None:
    """Add each address to its customer's book unless there; the last one used is default.

    A customer created by this batch has no address yet: theirs are inserted already marked
    default and used, and only customers known before are looked up and updated.
    """
    uses = []  # (customer pk, address key, data, kind) in the order the orders gave them
    for entry, customer in zip(entries, customers, strict=True):
        if entry.shipping_address:
            uses.append((customer.pk, entry.shipping_address, "shipping"))
        if entry.billing_address:
            uses.append((customer.pk, entry.billing_address, "billing"))
    if not uses:
        return
    uses = [(pk, (pk, address_fingerprint(data)), data, kind) for pk, data, kind in uses]
    known_ids = {pk for pk, _key, _data, _kind in uses if pk not in new_customer_ids}
    existing = {}
    if known_ids:
        ids = sorted(known_ids)
        fingerprints = sorted({key[1] for pk, key, _data, _kind in uses if pk in known_ids})
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, customer_id, fingerprint FROM {Address._meta.db_table} "
                f"WHERE customer_id IN ({placeholders(ids)}) "
                f"AND fingerprint IN ({placeholders(fingerprints)})",
                [*ids, *fingerprints],
            )
            existing = {(customer_id, print_): pk for pk, customer_id, print_ in cursor.fetchall()}
    now = timezone.now()
    default = {"shipping": {}, "billing": {}}  # kind -> customer pk -> address key
    new = {}
    for pk, key, data, kind in uses:
        default[kind][pk] = key
        if key not in existing and key not in new:
            new[key] = Address(
                customer_id=pk, fingerprint=key[1], last_used_at=now, **_address_values(data)
            )
    for kind, chosen in default.items():
        for key in chosen.values():
            if key in new:
                setattr(new[key], f"is_default_{kind}", True)
    rows_insert(list(new.values()))
    _addresses_update_known(
        {
            kind: {
                pk: existing[key] if key in existing else new[key].pk
                for pk, key in chosen.items()
                if pk in known_ids
            }
            for kind, chosen in default.items()
        },
        used_before={existing[key] for _pk, key, _data, _kind in uses if key in existing},
        now=now,
    )


def _addresses_update_known(chosen: dict[str, dict[int, int]], used_before: set[int], now):
    """One UPDATE for customers known before the batch: per kind, the chosen address (by
    customer) becomes the default and the customer's other default loses the flag; addresses
    used again get `last_used_at` (a chosen address known before is always one of them).

    Raw SQL (portable): built with the ORM's `Case`/`When`, this statement cost more to
    compile than a returning customer's whole address book update."""
    conditions, params, changes = [], [], []
    used = sorted(used_before)
    if used:
        conditions.append(f"id IN ({placeholders(used)})")
        params += used
    for kind, by_customer in chosen.items():
        if not by_customer:
            continue
        flag = connection.ops.quote_name(f"is_default_{kind}")
        owners, addresses = sorted(by_customer), sorted(by_customer.values())
        conditions.append(f"(customer_id IN ({placeholders(owners)}) AND {flag})")
        params += owners
        changes.append(
            (
                f"{flag} = CASE WHEN id IN ({placeholders(addresses)}) THEN %s "
                f"WHEN customer_id IN ({placeholders(owners)}) THEN %s ELSE {flag} END",
                [*addresses, True, *owners, False],
            )
        )
    if not changes and not used:
        return
    if used:
        changes.append(
            (
                f"last_used_at = CASE WHEN id IN ({placeholders(used)}) THEN %s "
                "ELSE last_used_at END",
                [*used, connection.ops.adapt_datetimefield_value(now)],
            )
        )
    sql = (
        f"UPDATE {Address._meta.db_table} SET {', '.join(text for text, _ in changes)} "
        f"WHERE {' OR '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _, values in changes for value in values] + params)


def _address_values(data: dict) -> dict:
    values = {name: data.get(name) or "" for name in ADDRESS_FIELDS}
    for coordinate in ("latitude", "longitude"):
        if data.get(coordinate) is not None:
            values[coordinate] = data[coordinate]
    return values


def customers_record_orders(*, orders: list[OrderTotals]) -> None:
    """Count the orders in their customers' lifetime totals and remember their preferences.

    One UPDATE for the batch: counts and value grow with `F()`, the first order date is set
    only where none is known, the last order date never moves backwards, and the preferred
    methods are those of each customer's last order that named one.
    """
    if not orders:
        return
    per_customer: dict[int, dict] = {}
    for item in orders:
        totals = per_customer.setdefault(
            item.customer.pk,
            {
                "count": 0,
                "value": Decimal("0"),
                "first": item.placed_at,
                "last": item.placed_at,
                "shipping": "",
                "payment": "",
            },
        )
        totals["count"] += 1
        totals["value"] += item.total
        totals["last"] = max(totals["last"], item.placed_at)
        totals["shipping"] = item.shipping_method or totals["shipping"]
        totals["payment"] = item.payment_method or totals["payment"]

    if connection.vendor == "postgresql":
        _record_with_values(per_customer)
    else:
        _record_with_cases(per_customer)


# One row of VALUES per customer: PostgreSQL joins them in one UPDATE; GREATEST skips NULLs.
_RECORD_SQL = (
    "UPDATE {table} AS c SET orders_count = c.orders_count + v.count,"
    " lifetime_value = c.lifetime_value + v.value,"
    " first_order_at = COALESCE(c.first_order_at, v.first),"
    " last_order_at = GREATEST(c.last_order_at, v.last),"
    " preferred_shipping_method = COALESCE(NULLIF(v.shipping, ''), c.preferred_shipping_method),"
    " preferred_payment_method = COALESCE(NULLIF(v.payment, ''), c.preferred_payment_method)"
    " FROM (VALUES {rows}) AS v (id, count, value, first, last, shipping, payment)"
    " WHERE c.id = v.id"
)
_RECORD_ROW = (
    "(%s::bigint, %s::integer, %s::numeric, %s::timestamptz, %s::timestamptz, %s::text, %s::text)"
)


def _record_with_values(per_customer: dict[int, dict]) -> None:
    params = []
    for pk, totals in sorted(per_customer.items()):
        params += [
            pk,
            totals["count"],
            totals["value"],
            totals["first"],
            totals["last"],
            totals["shipping"],
            totals["payment"],
        ]
    sql = _RECORD_SQL.format(
        table=Customer._meta.db_table, rows=", ".join([_RECORD_ROW] * len(per_customer))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _record_with_cases(per_customer: dict[int, dict]) -> None:
    def case(key: str, default, name: str):
        return Case(
            *[When(pk=pk, then=Value(totals[key])) for pk, totals in per_customer.items()],
            default=Value(default),
            output_field=Customer._meta.get_field(name),
        )

    def preference(key: str, name: str):
        chosen = {pk: totals[key] for pk, totals in per_customer.items() if totals[key]}
        if not chosen:
            return F(name)
        return Case(
            *[When(pk=pk, then=Value(value)) for pk, value in chosen.items()], default=F(name)
        )

    last = case("last", None, "last_order_at")
    Customer.objects.filter(pk__in=per_customer).update(
        orders_count=F("orders_count") + case("count", 0, "orders_count"),
        lifetime_value=money_expression(
            F("lifetime_value") + case("value", Decimal("0"), "lifetime_value")
        ),
        first_order_at=Coalesce(F("first_order_at"), case("first", None, "first_order_at")),
        last_order_at=Coalesce(Greatest(F("last_order_at"), last), last),
        preferred_shipping_method=preference("shipping", "preferred_shipping_method"),
        preferred_payment_method=preference("payment", "preferred_payment_method"),
    )
