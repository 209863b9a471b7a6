"""Privacy erasure (GDPR art. 17): anonymise a customer everywhere the OMS stores them.

The merchant must keep its order and accounting records, so nothing is deleted that books
or proves a sale: orders, lines, payments, refunds, shipments and the stock ledger keep their
money, quantities, SKUs, dates and references. What identifies the person goes: the profile
(name, e-mail, phone, note, the channels' customer ids), the address book, and on their
orders, checkouts, subscriptions, returns, audit trails, e-mail log and outbox events the
e-mail (replaced by the profile's placeholder, `customers.privacy.erased_email`), the names,
phones and address lines (only the country and region stay: the sale's tax jurisdiction),
free-text notes and gift messages. E-mails not yet sent are withheld, and the send check
`customers.privacy.erased_emails_withheld` keeps anything from going to the placeholder.

This module is cross-cutting and sits below the apps, so their models are imported inside
functions (as in `oms_project.idempotency`).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oms_project.errors import Conflict, ValidationFailed
from oms_project.models import EmailMessage, OutboxEvent
from oms_project.outbox import outbox_emit

ERASED_TOPIC = "customer.erased"
BATCH_SIZE = 500

# Orders whose goods have left (or never will): nothing needs the address any more. Orders
# still to be shipped or collected need it, so an erasure waits for them.
SETTLED_ORDER_STATUSES = ("shipped", "complete", "cancelled")
# Channel-defined order attributes that say nothing about the person (`promo_code`); the
# others (gift messages, delivery instructions, whatever a channel sends) are erased.
KEPT_ORDER_ATTRIBUTES = frozenset({"promo_code"})
ADDRESS_KEYS = frozenset(
    {"shipping_address", "billing_address", "previous_shipping_address", "address",
     "destination", "from", "to", "previous"}
)
WITHHELD_REASON = "Withheld: the customer's personal data was erased."
UNSENT_STATUSES = (
    EmailMessage.Status.QUEUED, EmailMessage.Status.SENDING, EmailMessage.Status.FAILED
)


class CustomerHasOpenOrders(Conflict):
    code = "customer_has_open_orders"
    title = "This customer has orders still to be shipped"


@dataclass
class Erasure:
    """What `customer_erase` did: the audit row, and whether this call erased (False when
    the customer had been erased already and nothing changed)."""

    record: object
    is_new: bool


@dataclass
class Person:
    """Everything that leads to the person, gathered before anything is anonymised."""

    customer_id: int
    placeholder: str
    emails: frozenset[str]
    order_ids: list[int]
    order_numbers: list[str]
    return_numbers: list[str]
    subscription_ids: list[int]
    channel_codes: list[str]


def customer_erase(*, customer, actor: str, reason: str) -> Erasure:
    """Anonymise the customer's personal data across the OMS and record who did it and why.

    Emits `customer.erased` (ids and numbers only) so other systems erase the person too.
    Erasing a customer erased before changes nothing and emits nothing. Active and paused
    subscriptions are cancelled first, with the reason.

    Raises `ValidationFailed` for a blank reason and `CustomerHasOpenOrders` (409) while an
    order of the customer is still to be shipped or collected.
    """
    from customers.models import Customer, CustomerErasure
    from customers.privacy import customer_profile_erase

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Say why the customer is erased.", errors={"reason": ["This field is required."]}
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        done = CustomerErasure.objects.filter(customer=customer).first()
        if done is not None:
            return Erasure(record=done, is_new=False)
        _check_orders_settled(customer)
        cancelled = _subscriptions_cancel(customer, actor=actor, reason=reason)
        person = _person(customer)
        counts = {
            **customer_profile_erase(customer=customer),
            **_orders_erase(person),
            **_subscriptions_erase(person),
            **_returns_erase(person),
            **_messages_erase(person),
            **_replays_forget(person),
            "subscriptions_cancelled": cancelled,
        }
        record = CustomerErasure.objects.create(
            customer=customer, customer_number=customer.pk, actor=actor[:150], reason=reason,
            counts=counts,
        )
        outbox_emit(
            topic=ERASED_TOPIC,
            payload=_erased_payload(person, record),
            reference=f"customer:{customer.pk}",
        )
    return Erasure(record=record, is_new=True)


def _check_orders_settled(customer) -> None:
    open_numbers = list(
        customer.orders.exclude(status__in=SETTLED_ORDER_STATUSES)
        .order_by("pk").values_list("number", flat=True)[:20]
    )
    if open_numbers:
        raise CustomerHasOpenOrders(
            "The customer's orders " + ", ".join(open_numbers) + " are still to be shipped "
            "or collected and need the address: erase once they are shipped or cancelled.",
            extra={"orders": open_numbers},
        )


def _subscriptions_cancel(customer, *, actor: str, reason: str) -> int:
    from orders.subscription_models import Subscription, SubscriptionStatus
    from orders.subscriptions.services import subscription_cancel

    running = Subscription.objects.filter(
        customer=customer, status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)
    ).order_by("pk")
    for subscription in running:
        subscription_cancel(
            subscription=subscription, actor=actor,
            reason=f"The customer's personal data is erased: {reason}",
        )
    return len(running)


def _person(customer) -> Person:
    from customers.privacy import erased_email
    from orders.models import Order
    from orders.subscription_models import Subscription
    from returns.models import ReturnRequest

    orders = list(Order.objects.filter(customer=customer).values_list("pk", "number", "email"))
    subscriptions = list(
        Subscription.objects.filter(customer=customer).values_list("pk", "email")
    )
    emails = {customer.email, *(row[2] for row in orders), *(row[1] for row in subscriptions)}
    return Person(
        customer_id=customer.pk,
        placeholder=erased_email(customer.pk),
        emails=frozenset(email.strip().lower() for email in emails if email),
        order_ids=[row[0] for row in orders],
        order_numbers=[row[1] for row in orders],
        return_numbers=list(
            ReturnRequest.objects.filter(order__customer=customer).values_list("number", flat=True)
        ),
        subscription_ids=[row[0] for row in subscriptions],
        channel_codes=sorted(customer.channels.values_list("channel_code", flat=True)),
    )


def _orders_erase(person: Person) -> dict[str, int]:
    """Orders keep money, lines and dates; their e-mail, addresses and notes go, and so do
    the addresses on their timeline and on the checkouts that became them."""
    from customers.privacy import address_anonymised
    from orders.models import Checkout, Order, OrderEvent

    now = timezone.now()
    orders = Order.objects.filter(pk__in=person.order_ids).only(
        "pk", "shipping_address", "billing_address", "attributes"
    )
    for order in orders:
        order.email = person.placeholder
        order.shipping_address = address_anonymised(order.shipping_address)
        order.billing_address = address_anonymised(order.billing_address)
        order.attributes = _attributes_kept(order.attributes)
        order.updated_at = now  # pollers of `updated_after` pick up the anonymised order
    fields = ["email", "shipping_address", "billing_address", "attributes", "updated_at"]
    Order.objects.bulk_update(orders, fields, batch_size=BATCH_SIZE)
    checkouts = list(Checkout.objects.filter(order_id__in=person.order_ids).only("destination"))
    for checkout in checkouts:
        checkout.destination = address_anonymised(checkout.destination)
    Checkout.objects.bulk_update(checkouts, ["destination"], batch_size=BATCH_SIZE)
    events = _rows_scrubbed(
        OrderEvent.objects.filter(order_id__in=person.order_ids).exclude(data={}), person
    )
    return {"orders": len(orders), "checkouts": len(checkouts), "order_events": events}


def _attributes_kept(attributes):
    if not isinstance(attributes, dict):
        return {}
    return {key: value for key, value in attributes.items() if key in KEPT_ORDER_ATTRIBUTES}


def _subscriptions_erase(person: Person) -> dict[str, int]:
    from customers.privacy import address_anonymised
    from orders.subscription_models import Subscription, SubscriptionEvent

    subscriptions = Subscription.objects.filter(pk__in=person.subscription_ids).only(
        "pk", "shipping_address", "billing_address"
    )
    for subscription in subscriptions:
        subscription.email = person.placeholder
        subscription.shipping_address = address_anonymised(subscription.shipping_address)
        subscription.billing_address = address_anonymised(subscription.billing_address)
        subscription.payment_reference = ""  # the stored payment token: no run will charge it
        subscription.attributes = {}
    Subscription.objects.bulk_update(
        subscriptions,
        ["email", "shipping_address", "billing_address", "payment_reference", "attributes"],
        batch_size=BATCH_SIZE,
    )
    events = _rows_scrubbed(
        SubscriptionEvent.objects.filter(subscription_id__in=person.subscription_ids).exclude(
            data={}
        ),
        person,
    )
    return {"subscriptions": len(subscriptions), "subscription_events": events}


def _returns_erase(person: Person) -> dict[str, int]:
    """Returns keep their lines, quantities and refunds; the customer's notes go, and the
    return label (it carries the sender's address)."""
    from returns.models import ReturnLine, ReturnRequest

    returns = ReturnRequest.objects.filter(order_id__in=person.order_ids).update(
        customer_note="", return_label_url=""
    )
    ReturnLine.objects.filter(return_request__order_id__in=person.order_ids).exclude(
        note=""
    ).update(note="")
    return {"returns": returns}


def _messages_erase(person: Person) -> dict[str, int]:
    """E-mails about the person's orders, subscriptions and returns (every customer e-mail
    carries one of those references) lose their text; those to the person name the
    placeholder instead, and those not yet sent are withheld. Outbox events about them keep
    their figures but name the placeholder and anonymised addresses."""
    about = EmailMessage.objects.filter(reference__in=_email_references(person))
    to_person = Q()
    for email in person.emails:
        to_person |= Q(to__iexact=email)
    withheld = about.filter(status__in=UNSENT_STATUSES).update(
        status=EmailMessage.Status.WITHHELD, error=WITHHELD_REASON, claimed_at=None
    )
    if person.emails:
        about.filter(to_person).update(to=person.placeholder)
    emails = about.update(body_text="", body_html="", attachments=[])
    events = _rows_scrubbed(
        OutboxEvent.objects.filter(reference__in=[*person.order_numbers, *person.return_numbers]),
        person,
        field="payload",
    )
    return {"emails": emails, "emails_withheld": withheld, "outbox_events": events}


def _email_references(person: Person) -> list[str]:
    return [
        *(f"order:{number}" for number in person.order_numbers),
        *(f"return:{number}" for number in person.return_numbers),
        *(f"subscription:{pk}" for pk in person.subscription_ids),
    ]


def _replays_forget(person: Person) -> dict[str, int]:
    """Delete the stored answers kept for `Idempotency-Key` retries that name the person (a
    retry then runs again: a repeated order is refused as a duplicate rather than replayed).
    They are kept a day or so; a scan of them by e-mail is cheap."""
    from django.db.models import Q

    from orders.models import IdempotencyRecord

    if not person.emails:
        return {"replays_forgotten": 0}
    naming = Q()
    for email in person.emails:
        naming |= Q(response_body__icontains=email)
    deleted, _ = IdempotencyRecord.objects.filter(naming).delete()
    return {"replays_forgotten": deleted}


def _rows_scrubbed(queryset, person: Person, *, field: str = "data") -> int:
    """Scrub the JSON `field` of every row (`_scrubbed`); return how many rows changed."""
    changed = []
    for row in queryset.only("pk", field).iterator(chunk_size=BATCH_SIZE):
        value = getattr(row, field)
        scrubbed = _scrubbed(value, person)
        if scrubbed != value:
            setattr(row, field, scrubbed)
            changed.append(row)
    queryset.model.objects.bulk_update(changed, [field], batch_size=BATCH_SIZE)
    return len(changed)


def _scrubbed(value, person: Person):
    """The JSON value with the person's e-mail replaced by the placeholder and every address
    (under a key such as `shipping_address`, `from` or `to`) anonymised."""
    from customers.privacy import address_anonymised

    if isinstance(value, dict):
        return {
            key: address_anonymised(item)
            if key in ADDRESS_KEYS and isinstance(item, dict)
            else _scrubbed(item, person)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item, person) for item in value]
    if isinstance(value, str) and value.strip().lower() in person.emails:
        return person.placeholder
    return value


def _erased_payload(person: Person, record) -> dict:
    """`customer.erased`: ids and numbers other systems know the person by, no personal
    data."""
    return {
        "customer": {"id": person.customer_id},
        "channels": person.channel_codes,
        "orders": person.order_numbers,
        "returns": person.return_numbers,
        "subscriptions": person.subscription_ids,
        "erased_at": record.erased_at.isoformat(),
    }


def customer_erasure_preview(*, customer) -> dict:
    """What erasing the customer would anonymise, cancel and withhold, for a confirmation
    page; `refusal` says why it cannot be erased now (or that it was erased already)."""
    from customers.models import CustomerErasure
    from orders.models import Checkout
    from orders.subscription_models import SubscriptionStatus
    from returns.models import ReturnRequest

    erased = CustomerErasure.objects.filter(customer=customer).first()
    refusal = f"Erased already on {erased.erased_at:%Y-%m-%d %H:%M}." if erased else ""
    if not refusal:
        try:
            _check_orders_settled(customer)
        except CustomerHasOpenOrders as error:
            refusal = error.detail
    person = _person(customer)
    emails = EmailMessage.objects.filter(reference__in=_email_references(person))
    return {
        "customer": customer,
        "refusal": refusal,
        "addresses": customer.addresses.count(),
        "channel_ids": customer.channels.filter(external_id__isnull=False).count(),
        "orders": len(person.order_ids),
        "checkouts": Checkout.objects.filter(order_id__in=person.order_ids).count(),
        "subscriptions": len(person.subscription_ids),
        "subscriptions_to_cancel": customer.subscriptions.filter(
            status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)
        ).count(),
        "returns": ReturnRequest.objects.filter(order_id__in=person.order_ids).count(),
        "emails": emails.count(),
        "emails_to_withhold": emails.filter(status__in=UNSENT_STATUSES).count(),
    }
