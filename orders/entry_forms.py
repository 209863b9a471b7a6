"""Admin forms that stand in for an API body: staff enter orders and subscriptions.

A form gathers what a channel would send, `body()` turns it into the API's request body, and
the view passes that through the API's own serializer and service, so the admin can never
accept what the API would refuse.

`add_errors` and `add_service_error` turn a serializer's or a service's nested errors into
sentences on the form field they concern ("Line 1 (BIG-1001): 500 requested, 23
available."); every admin form page that calls a service shows its refusals through them,
with a `place` function that knows the page's fields.
"""

import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

from django import forms
from django.forms.forms import NON_FIELD_ERRORS

from inventory.errors import InsufficientStock
from oms_project.currencies import MAX_AMOUNT
from oms_project.errors import OmsError
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

    LINE_HELP = (
        "One line per product: SKU, quantity, unit price; e.g. “TSHIRT-M, 2, 19.90”. Commas "
        "separate the cells: write decimals with a dot (19.90, not 19,90)."
    )
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
        queryset=ServiceLevel.objects.offered(), required=False, to_field_name="code"
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
            if not 3 <= len(cells) <= len(parts) or _has_decimal_comma(row):
                optional = "".join(f"[, {part.replace('_', ' ')}]" for part in parts[3:])
                problems.append(
                    f"Line {number}: give SKU, quantity, unit price{optional}, separated by "
                    "commas; write decimals with a dot (19.90, not 19,90)."
                )
                continue
            try:
                quantity = int(cells[1])
            except ValueError:
                problems.append(f"Line {number}: quantity '{cells[1]}' is not a whole number.")
                continue
            line = {"sku": cells[0], "quantity": quantity}
            for key, text in zip(self.LINE_PARTS, cells[2:], strict=False):
                problem = _amount_problem(text)
                if problem:
                    label = key.replace("_", " ")
                    problems.append(f"Line {number}: {label} '{text}' {problem}.")
                else:
                    line[key] = Decimal(text)
            parsed.append(line)
        if not parsed and not problems:
            problems.append("Enter at least one line.")
        self.parsed_lines = parsed
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


def _has_decimal_comma(row: str) -> bool:
    """Whether a row whose cells are separated by ", " also has a comma between two digits
    ("SKU, 2, 19,5"): a decimal comma, which would silently shift the amounts a cell."""
    return ", " in row and re.search(r"\d,\d", row) is not None


def _amount_problem(text: str) -> str:
    """What is wrong with `text` as an amount of money ("" when nothing)."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return "is not an amount"
    if not amount.is_finite():
        return "is not an amount"
    if amount < 0:
        return "cannot be negative"
    if amount > MAX_AMOUNT:
        return f"is over the limit of {MAX_AMOUNT:,}"
    return ""


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

# Where an error at a path goes on a form: (field name, or None for the form; a label such as
# "Line 2 (TSHIRT-M)" to put before the message, or "").
Place = Callable[[forms.Form, tuple[str, ...]], tuple[str | None, str]]


def error_messages(errors, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Flatten a serializer's or a service's nested `errors` into (path, sentence) pairs.

    The path names what the sentence is about, e.g. `("lines", "0", "quantity")`. A stock
    shortage (a dict with `sku`, `requested` and `available`, as `InsufficientStock` lists
    them) becomes one sentence, about `("lines", <position>)` when it names its line's
    position in the order.
    """
    if isinstance(errors, dict):
        if _is_shortage(errors):
            yield _shortage_message(errors, path)
            return
        for key, value in errors.items():
            yield from error_messages(value, (*path, str(key)))
    elif isinstance(errors, list | tuple):
        for index, value in enumerate(errors):
            if isinstance(value, str):
                yield path, str(value)
            elif isinstance(value, dict) and _is_shortage(value):
                yield _shortage_message(value, path)
            else:
                yield from error_messages(value, (*path, str(index)))
    elif errors:
        yield path, str(errors)


def _is_shortage(item: dict) -> bool:
    return {"sku", "requested", "available"} <= item.keys()


def _shortage_message(item: dict, path: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    where = f" at {item['warehouse']}" if item.get("warehouse") else ""
    counts = f"{item['requested']} requested, {item['available']} available{where}."
    if isinstance(item.get("line"), int):
        return ("lines", str(item["line"])), counts
    return path, f"{item['sku']}: {counts}"


def in_words(path: tuple[str, ...]) -> str:
    """A path as a label: `("exchange_items",)` is "Exchange items"."""
    text = " ".join(part.replace("_", " ") for part in path)
    return text[:1].upper() + text[1:]


def field_place(form: forms.Form, path: tuple[str, ...]) -> tuple[str | None, str]:
    """Any form: the field the path starts with, else the form, labelled with the path."""
    if path and path[0] in form.fields:
        return path[0], in_words(path[1:])
    return None, in_words(path)


def entry_place(form: forms.Form, path: tuple[str, ...]) -> tuple[str | None, str]:
    """An entry form: a line's errors on "lines" named by its number (and SKU), customer,
    address and payment parts on their fields, the rest as `field_place`."""
    if len(path) >= 2 and path[0] == "lines" and path[1].isdigit():
        return "lines", line_label(form, int(path[1]), path[2:])
    if path[:2] in FIELD_OF_PATH:
        return FIELD_OF_PATH[path[:2]], ""
    if len(path) == 2 and path[0] == "attributes" and path[1] in form.fields:
        return path[1], ""
    return field_place(form, path)


def line_label(form: forms.Form, index: int, part: tuple[str, ...] = ()) -> str:
    """ "Line 2 (TSHIRT-M)" for the form's second line, or "Line 2 (quantity)" for a part."""
    if part:
        return f"Line {index + 1} ({in_words(part).lower()})"
    lines = getattr(form, "parsed_lines", [])
    sku = lines[index].get("sku") if index < len(lines) else ""
    return f"Line {index + 1} ({sku})" if sku else f"Line {index + 1}"


def add_errors(form: forms.Form, errors, *, place: Place = entry_place, skip=()) -> None:
    """Put a serializer's or a service's nested `errors` on `form` as sentences: each where
    `place` says (its field, or the form), once, and none of the texts in `skip`."""
    for path, message in error_messages(errors):
        if path[:1] == ("non_field_errors",):
            path = path[1:]
        field, label = place(form, path)
        text = f"{label}: {message}" if label else message
        if text in skip or text in form.errors.get(field or NON_FIELD_ERRORS, ()):
            continue
        form.add_error(field, text)


def add_service_error(form: forms.Form, error: OmsError, *, place: Place = entry_place) -> None:
    """Show a service's refusal on `form`: what went wrong, then its details as sentences."""
    headline = error.detail
    if isinstance(error, InsufficientStock):
        skus = ", ".join(dict.fromkeys(str(item.get("sku")) for item in error.short))
        headline = f"Not enough stock for {skus}; nothing was saved."
    form.add_error(None, headline)
    add_errors(form, error.errors, place=place, skip={headline, error.detail})
