"""Writes to customer profiles: create, update, upsert from an order, remember addresses."""

import hashlib
from decimal import Decimal

from django.db import IntegrityError, router, transaction
from django.db.models import F, ProtectedError, Value
from django.db.models.deletion import Collector
from django.db.models.functions import Greatest
from django.utils import timezone

from customers.errors import CustomerHasOrders, CustomerHasSubscriptions, DuplicateCustomer
from customers.models import Address, Customer, CustomerChannel

PROFILE_FIELDS = ("first_name", "last_name", "phone")
ADDRESS_FIELDS = (
    "first_name", "last_name", "company", "line1", "line2", "city", "region", "postal_code",
    "country", "phone",
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def customer_create(*, email: str, channel_code: str | None = None,
                    external_id: str | None = None, **profile) -> Customer:
    """Create a profile, linked to the channel that created it.

    Raises `DuplicateCustomer` (with field errors) if the e-mail is taken, case-insensitively,
    or the channel already uses `external_id` for another customer.
    """
    email = normalize_email(email)
    try:
        with transaction.atomic():
            customer = Customer.objects.create(email=email, **profile)
            if channel_code:
                CustomerChannel.objects.create(
                    customer=customer, channel_code=channel_code, external_id=external_id
                )
    except IntegrityError:
        raise duplicate_customer_error(
            email=email, channel_code=channel_code, external_id=external_id
        )
    return customer


def customer_link(*, channel_code: str, email: str, external_id: str | None = None,
                  **profile) -> tuple[Customer, bool]:
    """Give a channel the merchant's profile for this e-mail, creating the profile if new.

    There is one profile per merchant: an e-mail already known (to another channel, or to
    none) links that profile to the channel. Its known fields, and the channel's customer id
    when it has one, are kept; blank ones are filled in from `profile` and `external_id`.
    Return the customer and whether the channel is new to it.

    Raises `DuplicateCustomer` (with field errors) if the channel already uses `external_id`
    for another customer.
    """
    email = normalize_email(email)
    try:
        with transaction.atomic():
            customer, _ = Customer.objects.get_or_create(
                email__iexact=email, defaults={"email": email, **profile}
            )
            _fill_blank_fields(customer, profile)
            link, is_new = CustomerChannel.objects.get_or_create(
                customer=customer, channel_code=channel_code,
                defaults={"external_id": external_id},
            )
            if not is_new and external_id and not link.external_id:  # a known id is kept
                link.external_id = external_id
                link.save(update_fields=["external_id"])
    except IntegrityError:
        raise duplicate_customer_error(
            email=None, channel_code=channel_code, external_id=external_id
        )
    return customer, is_new


def _fill_blank_fields(customer: Customer, profile: dict) -> None:
    blank = [
        field for field, value in profile.items()
        if isinstance(value, str) and value and not getattr(customer, field)
    ]
    for field in blank:
        setattr(customer, field, profile[field])
    if blank:
        customer.save(update_fields=[*blank, "updated_at"])


def customer_update(*, customer: Customer, external_id: str | None = None,
                    channel_code: str | None = None, **changes) -> Customer:
    """Change profile fields (e-mail included) and the channel's customer id.

    Raises `DuplicateCustomer` (with field errors) on a clash with another customer.
    """
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(customer, field, value)
            customer.save()
            if channel_code and external_id is not None:
                CustomerChannel.objects.update_or_create(
                    customer=customer, channel_code=channel_code,
                    defaults={"external_id": external_id or None},
                )
    except IntegrityError:
        customer.refresh_from_db()
        raise duplicate_customer_error(
            email=changes.get("email"), channel_code=channel_code, external_id=external_id,
            customer_id=customer.pk,
        )
    return customer


def duplicate_customer_error(*, email: str | None, channel_code: str | None,
                             external_id: str | None,
                             customer_id: int | None = None) -> DuplicateCustomer:
    """Build the error for a lost uniqueness race, naming the fields that clash."""
    errors = {}
    if email and Customer.objects.filter(email__iexact=email).exclude(pk=customer_id).exists():
        errors["email"] = ["A customer with this e-mail already exists."]
    if channel_code and external_id and CustomerChannel.objects.filter(
        channel_code=channel_code, external_id=external_id
    ).exclude(customer_id=customer_id).exists():
        errors["external_id"] = ["This channel already uses this customer id."]
    return DuplicateCustomer(
        "Another customer already has this e-mail or channel customer id.", errors=errors or None
    )


# Subscription statuses (`orders.subscription_models.SubscriptionStatus`, a layer above) in
# which a subscription has ended and places no more orders.
ENDED_SUBSCRIPTION_STATUSES = ("cancelled", "completed")


def customer_delete(*, customer: Customer, channel_code: str | None = None) -> bool:
    """Delete a profile; return True if it was deleted.

    A channel deleting a customer only removes its own link (and returns False) when other
    channels also know the customer or other channels' orders or subscriptions refer to it,
    so one channel cannot erase another's customer, nor be kept from letting go of a
    customer by orders it does not own. Subscriptions that have ended, of a customer who
    never ordered, are deleted with the profile.

    Raises `CustomerHasOrders` if orders refer to the customer (for a channel: orders of its
    own) and `CustomerHasSubscriptions` if subscriptions that have not ended do.
    """
    with transaction.atomic():
        if channel_code:
            _check_nothing_to_keep(customer, channel_code=channel_code)
            if (
                customer.channels.exclude(channel_code=channel_code).exists()
                or customer.orders.exists()
                or _running_subscriptions(customer)
            ):
                CustomerChannel.objects.filter(
                    customer=customer, channel_code=channel_code
                ).delete()
                return False
        _check_nothing_to_keep(customer)
        customer.subscriptions.all().delete()  # all ended: checked above
        collector = Collector(using=router.db_for_write(Customer))
        try:
            collector.collect([customer])
        except ProtectedError:  # something new that must be kept refers to the customer
            raise CustomerHasOrders("This customer has orders and cannot be deleted.")
        collector.delete()
    return True


def _check_nothing_to_keep(customer: Customer, *, channel_code: str | None = None) -> None:
    """Refuse when orders or running subscriptions (of the channel, if given) refer to the
    customer: the merchant must keep those, and the profile with them."""
    orders = customer.orders.all()
    if channel_code:
        orders = orders.filter(channel__code=channel_code)
    if orders.exists():
        where = " on this channel" if channel_code else ""
        raise CustomerHasOrders(
            f"This customer has orders{where} and cannot be deleted; their personal data "
            "can be erased instead (back office)."
        )
    running = _running_subscriptions(customer, channel_code=channel_code)
    if running:
        raise CustomerHasSubscriptions(
            f"This customer has active subscriptions ({', '.join(map(str, running))}); "
            "cancel them before deleting the customer.",
            extra={"subscriptions": running},
        )


def _running_subscriptions(customer: Customer, *, channel_code: str | None = None) -> list[int]:
    """Ids of the customer's subscriptions that have not ended (active or paused)."""
    subscriptions = customer.subscriptions.exclude(status__in=ENDED_SUBSCRIPTION_STATUSES)
    if channel_code:
        subscriptions = subscriptions.filter(channel__code=channel_code)
    return list(subscriptions.order_by("pk").values_list("pk", flat=True))


def customer_upsert(*, channel_code: str, email: str, external_id: str | None = None,
                    profile: dict | None = None) -> Customer:
    """Find the customer by the channel's customer id, else by e-mail; create if neither.

    Blank profile fields are filled in; known ones are not overwritten by blanks.
    """
    email = normalize_email(email)
    profile = {key: value for key, value in (profile or {}).items() if value}
    with transaction.atomic():
        customer = None
        if external_id:
            customer = Customer.objects.filter(
                channels__channel_code=channel_code, channels__external_id=external_id
            ).first()
        if customer is None:
            customer, _ = Customer.objects.get_or_create(
                email__iexact=email, defaults={"email": email, **profile}
            )
        changed = [field for field in PROFILE_FIELDS
                   if profile.get(field) and getattr(customer, field) != profile[field]]
        for field in changed:
            setattr(customer, field, profile[field])
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])
        link, created = CustomerChannel.objects.get_or_create(
            customer=customer, channel_code=channel_code,
            defaults={"external_id": external_id or None},
        )
        if not created and external_id and link.external_id != external_id:
            link.external_id = external_id
            link.save(update_fields=["external_id"])
    return customer


def address_fingerprint(data: dict) -> str:
    parts = [str(data.get(field, "") or "").strip().lower() for field in ADDRESS_FIELDS]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def address_remember(*, customer: Customer, data: dict, shipping: bool = False,
                     billing: bool = False) -> Address:
    """Add the address to the customer's book unless it is already there; mark it used."""
    values = {field: data.get(field) or "" for field in ADDRESS_FIELDS}
    for coordinate in ("latitude", "longitude"):
        if data.get(coordinate) is not None:
            values[coordinate] = data[coordinate]
    with transaction.atomic():
        address, _ = Address.objects.get_or_create(
            customer=customer, fingerprint=address_fingerprint(data), defaults=values
        )
        updates = {"last_used_at": timezone.now()}
        if shipping:
            Address.objects.filter(customer=customer, is_default_shipping=True).exclude(
                pk=address.pk).update(is_default_shipping=False)
            updates["is_default_shipping"] = True
        if billing:
            Address.objects.filter(customer=customer, is_default_billing=True).exclude(
                pk=address.pk).update(is_default_billing=False)
            updates["is_default_billing"] = True
        Address.objects.filter(pk=address.pk).update(**updates)
    return address


def customer_record_order(*, customer: Customer, total: Decimal, placed_at,
                          shipping_method: str = "", payment_method: str = "") -> None:
    """Count an order in the customer's lifetime totals and remember their preferences.

    What the customer later cancels or is refunded comes off again
    (`customer_lifetime_totals_reduce`).
    """
    updates = {
        "orders_count": F("orders_count") + 1,
        "lifetime_value": F("lifetime_value") + total,
    }
    if shipping_method:
        updates["preferred_shipping_method"] = shipping_method
    if payment_method:
        updates["preferred_payment_method"] = payment_method
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(**updates)
        Customer.objects.filter(pk=customer.pk, first_order_at__isnull=True).update(
            first_order_at=placed_at)
        Customer.objects.filter(pk=customer.pk).exclude(last_order_at__gt=placed_at).update(
            last_order_at=placed_at)


def customer_lifetime_value_add(*, customer_id: int, value: Decimal) -> None:
    """Give back to the lifetime value what the customer holds again (exchange credit a
    cancelled replacement order returned to its return). One UPDATE with `F()`."""
    if value > 0:
        Customer.objects.filter(pk=customer_id).update(lifetime_value=F("lifetime_value") + value)


def customer_lifetime_totals_reduce(*, customer_id: int, value: Decimal, orders: int = 0) -> None:
    """Take what the customer did not keep off their lifetime totals.

    `value` is money cancelled or refunded; `orders` counts orders cancelled in full, which
    stay in the order history but are no purchase. One UPDATE with `F()`, so concurrent
    cancellations and refunds all count; the totals never drop below zero (a figure that
    lags behind an order's history must not make its cancellation fail).
    """
    if value <= 0 and orders <= 0:
        return
    updates = {"lifetime_value": Greatest(F("lifetime_value") - value, Value(Decimal("0")))}
    if orders > 0:
        updates["orders_count"] = Greatest(F("orders_count") - orders, Value(0))
    Customer.objects.filter(pk=customer_id).update(**updates)
