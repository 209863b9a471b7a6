"""Writes to customer profiles: create, update, upsert from an order, remember addresses."""

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from customers.errors import DuplicateCustomer
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
    """Create a profile; raises `DuplicateCustomer` if the e-mail is taken."""
    try:
        with transaction.atomic():
            customer = Customer.objects.create(email=normalize_email(email), **profile)
            if channel_code:
                CustomerChannel.objects.create(
                    customer=customer, channel_code=channel_code, external_id=external_id
                )
    except IntegrityError:
        raise DuplicateCustomer(f"A customer with e-mail {email} or that channel id exists.")
    return customer


def customer_update(*, customer: Customer, external_id: str | None = None,
                    channel_code: str | None = None, **changes) -> Customer:
    """Change profile fields (e-mail included); raises `DuplicateCustomer` on a clash."""
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
        raise DuplicateCustomer("Another customer already has this e-mail or channel id.")
    return customer


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
                email=email, defaults={**profile}
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
    """Count an order in the customer's lifetime totals and remember their preferences."""
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
