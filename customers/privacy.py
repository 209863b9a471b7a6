"""The customers app's part of a privacy erasure (`oms_project.erasure.customer_erase`).

An erased person is known by a placeholder e-mail address under the `.invalid` top-level
domain (RFC 2606), which no mail server delivers to: `erased-<customer id>@erased.invalid`.
It is unique per customer, so the profile keeps its case-insensitive unique e-mail, and it
is what every record that named the person's e-mail names instead.
"""

from customers.models import Address, Customer, CustomerChannel

ERASED_DOMAIN = "erased.invalid"
ERASED_TEXT = ""

# What an anonymised postal address keeps: the tax jurisdiction of the sale (VAT and sales
# tax are due by country and, in the US, Canada or India, by state or province), which the
# merchant must be able to show for the order's tax. Street, postal code, city, names,
# company, phone and coordinates are erased: together with the order they identify the
# person, and no tax return needs them.
ADDRESS_KEPT_FIELDS = frozenset({"country", "region", "state"})


def erased_email(customer_id: int) -> str:
    return f"erased-{customer_id}@{ERASED_DOMAIN}"


def is_erased_email(address: str) -> bool:
    return (address or "").strip().lower().endswith(f"@{ERASED_DOMAIN}")


def address_anonymised(address):
    """Return the address (a dict, as orders and subscriptions snapshot it) with every field
    but the tax jurisdiction blanked; keys are kept, so readers find the shape they expect.
    Anything but a dict is returned as it is."""
    if not isinstance(address, dict):
        return address
    return {
        key: value if key in ADDRESS_KEPT_FIELDS or value is None else ERASED_TEXT
        for key, value in address.items()
    }


def customer_profile_erase(*, customer: Customer) -> dict[str, int]:
    """Anonymise the profile, forget the channels' customer ids and delete the address book.

    Call inside the erasure's transaction with the customer's row locked. The channel links
    (which channels know the customer) and the lifetime totals stay; returns how many rows
    of each kind changed.
    """
    Customer.objects.filter(pk=customer.pk).update(
        email=erased_email(customer.pk),
        first_name=ERASED_TEXT,
        last_name=ERASED_TEXT,
        phone=ERASED_TEXT,
        note=ERASED_TEXT,
        accepts_marketing=False,
    )
    customer.refresh_from_db()
    channel_ids = CustomerChannel.objects.filter(
        customer=customer, external_id__isnull=False
    ).update(external_id=None)
    addresses, _ = Address.objects.filter(customer=customer).delete()
    return {"profile": 1, "channel_ids": channel_ids, "addresses": addresses}


def erased_emails_withheld(messages) -> dict[int, str]:
    """Send check (`oms_project.notifications.email_register_send_check`): nothing goes to
    an erased person's placeholder address, not even a resend from the e-mail log."""
    return {
        message.pk: "The recipient's personal data was erased."
        for message in messages
        if is_erased_email(message.to)
    }
