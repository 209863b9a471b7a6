"""Admin forms that stand in for an API body: staff enter orders and subscriptions.

A form gathers what a channel would send, `body()` turns it into the API's request body, and
the view passes that through the API's own serializer and service, so the admin can never
accept what the API would refuse. `add_errors` puts the API's (nested) field errors back on
the form field they concern.
"""

from decimal import Decimal, InvalidOperation

from django import forms

from orders.models import SalesChannel
from warehouses.models import ServiceLevel

ADDRESS_PARTS = (
    "first_name", "last_name", "company", "line1", "line2", "postal_code", "city", "region",
    "country", "phone",
)
CUSTOMER_PARTS = ("email", "first_name", "last_name", "phone", "channel_customer_id")
PAYMENT_PARTS = ("method", "amount", "status", "reference")


class EntryForm(forms.Form):
    """The channel, customer, shipping address, currency and lines every entry needs."""

    LINE_HELP = "One line per product: SKU, quantity, unit price; e.g. “TSHIRT-M, 2, 19.90”."
    LINE_PARTS = ("unit_price",)

    channel = forms.ModelChoiceField(queryset=SalesChannel.objects.filter(is_active=True))
    customer_email = forms.EmailField(label="E-mail")
    customer_first_name = forms.CharField(max_length=100, required=False, label="First name")
    customer_last_name = forms.CharField(max_length=100, required=False, label="Last name")
    customer_phone = forms.CharField(max_length=40, required=False, label="Phone")
    customer_channel_customer_id = forms.CharField(
        max_length=100, required=False, label="Customer id in the channel"
    )
    shipping_method = forms.ModelChoiceField(
        queryset=ServiceLevel.objects.filter(is_active=True), required=False, to_field_name="code"
    )
    ship_first_name = forms.CharField(max_length=100, required=False, label="First name")
    ship_last_name = forms.CharField(max_length=100, required=False, label="Last name")
    ship_company = forms.CharField(max_length=100, required=False, label="Company")
    ship_line1 = forms.CharField(max_length=200, required=False, label="Address line 1")
    ship_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    ship_postal_code = forms.CharField(max_length=20, required=False, label="Postal code")
    ship_city = forms.CharField(max_length=100, required=False, label="City")
    ship_region = forms.CharField(max_length=100, required=False, label="Region")
    ship_country = forms.CharField(
        max_length=2, required=False, label="Country", help_text="Two-letter ISO code, e.g. US."
    )
    ship_phone = forms.CharField(max_length=40, required=False, label="Phone")
    currency = forms.CharField(max_length=3, initial="USD")
    lines = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "cols": 60}))
    shipping_total = forms.DecimalField(max_digits=12, decimal_places=2, initial=Decimal("0.00"))
    tax_total = forms.DecimalField(max_digits=12, decimal_places=2, initial=Decimal("0.00"))

    CUSTOMER_GROUP = ("Customer", [f"customer_{part}" for part in CUSTOMER_PARTS])
    ADDRESS_GROUP = ("Shipping address", [f"ship_{part}" for part in ADDRESS_PARTS])
    GROUPS: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].help_text = self.LINE_HELP

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def clean_lines(self) -> list[dict]:
        parsed, problems = [], []
        parts = ("sku", "quantity", *self.LINE_PARTS)
        rows = [row.strip() for row in self.cleaned_data["lines"].splitlines()]
        for number, row in enumerate((row for row in rows if row), start=1):
            cells = [cell.strip() for cell in row.split(",")]
            if not 3 <= len(cells) <= len(parts):
                optional = "".join(f"[, {part.replace('_', ' ')}]" for part in parts[3:])
                problems.append(f"Line {number}: give SKU, quantity, unit price{optional}.")
                continue
            try:
                quantity = int(cells[1])
            except ValueError:
                problems.append(f"Line {number}: quantity '{cells[1]}' is not a whole number.")
                continue
            line = {"sku": cells[0], "quantity": quantity}
            for key, text in zip(self.LINE_PARTS, cells[2:], strict=False):
                try:
                    line[key] = Decimal(text)
                except InvalidOperation:
                    label = key.replace("_", " ")
                    problems.append(f"Line {number}: {label} '{text}' is not an amount.")
            parsed.append(line)
        if not parsed and not problems:
            problems.append("Enter at least one line.")
        if problems:
            raise forms.ValidationError(problems)
        return parsed

    def common_body(self) -> dict:
        """The parts of the API body every entry shares."""
        data = self.cleaned_data
        body = {
            "customer": present({part: data[f"customer_{part}"] for part in CUSTOMER_PARTS}),
            "currency": data["currency"].upper(),
            "lines": [
                {key: str(value) if isinstance(value, Decimal) else value
                 for key, value in row.items()}
                for row in data["lines"]
            ],
            "shipping_total": str(data["shipping_total"]),
            "tax_total": str(data["tax_total"]),
        }
        if data["shipping_method"]:
            body["shipping_method"] = data["shipping_method"].code
        address = present({part: data[f"ship_{part}"] for part in ADDRESS_PARTS})
        if address:
            body["shipping_address"] = address
            body["billing_address"] = address
        return body


def present(values: dict) -> dict:
    """`values` without its empty entries."""
    return {key: value for key, value in values.items() if value not in ("", None)}


# Where an error about a part of an API body belongs on an entry form.
FIELD_OF_PATH = {
    **{("customer", part): f"customer_{part}" for part in CUSTOMER_PARTS},
    **{("shipping_address", part): f"ship_{part}" for part in ADDRESS_PARTS},
    **{("billing_address", part): f"ship_{part}" for part in ADDRESS_PARTS},
    **{("payment", part): f"payment_{part}" for part in PAYMENT_PARTS},
}


def _errors_by_path(errors, path=()):
    """Flatten nested API errors into (path, message) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _errors_by_path(value, (*path, str(key)))
    elif isinstance(errors, list) and not all(isinstance(item, str) for item in errors):
        for index, value in enumerate(errors):
            yield from _errors_by_path(value, (*path, str(index)))
    elif isinstance(errors, list):
        for message in errors:
            yield path, str(message)
    elif errors:
        yield path, str(errors)


def add_errors(form: forms.Form, errors) -> None:
    """Put API-shaped errors on the form field they concern (or on the form)."""
    for path, message in _errors_by_path(errors):
        if path and path[0] == "non_field_errors":
            path = path[1:]
        if len(path) >= 2 and path[0] == "lines" and path[1].isdigit():
            detail = f" ({path[2].replace('_', ' ')})" if len(path) > 2 else ""
            form.add_error("lines", f"Line {int(path[1]) + 1}{detail}: {message}")
        elif path[:2] in FIELD_OF_PATH:
            form.add_error(FIELD_OF_PATH[path[:2]], message)
        elif len(path) == 2 and path[0] == "attributes" and path[1] in form.fields:
            form.add_error(path[1], message)
        elif path and path[0] in form.fields:
            form.add_error(path[0], message)
        else:
            where = " ".join(path)
            form.add_error(None, f"{where}: {message}" if where else message)
