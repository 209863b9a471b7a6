"""Staff order entry in the admin (phone, e-mail and showroom orders).

The form gathers what a channel would send, turns it into the API's order body and passes it
through the same validation (`OrderCreateSerializer`) and the same service (`order_create`) as
an order arriving over the API: customer profile, payment, stock allocation, e-mails and
events all happen exactly as they would for a channel. Errors land on the field they concern;
nothing is written unless the whole order is accepted.
"""

import secrets
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from oms_project.errors import OmsError
from orders import services
from orders.errors import DuplicateOrder
from orders.input_serializers import OrderCreateSerializer
from orders.models import FulfillmentMethod, Order, SalesChannel
from orders.pricing import line_total, order_total
from warehouses.models import ServiceLevel, Warehouse

ADDRESS_PARTS = (
    "first_name", "last_name", "company", "line1", "line2", "postal_code", "city", "region",
    "country", "phone",
)
CUSTOMER_PARTS = ("email", "first_name", "last_name", "phone", "channel_customer_id")
PAYMENT_PARTS = ("method", "amount", "status", "reference")
ATTRIBUTE_FIELDS = ("gift_message", "shipping_instructions")
NO_PAYMENT = ""


def new_channel_order_id() -> str:
    """A reference for an order keyed in by staff; shown on the form, so a second submit of
    the same form is recognised as the same order."""
    return f"STAFF-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(2).upper()}"


class OrderEntryForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=SalesChannel.objects.filter(is_active=True))
    channel_order_id = forms.CharField(
        max_length=100,
        label="Reference",
        help_text="The order's reference in the channel; proposed for you, keep it unless the "
        "customer has one. Submitting the same reference twice never makes two orders.",
    )
    customer_email = forms.EmailField(label="E-mail")
    customer_first_name = forms.CharField(max_length=100, required=False, label="First name")
    customer_last_name = forms.CharField(max_length=100, required=False, label="Last name")
    customer_phone = forms.CharField(max_length=40, required=False, label="Phone")
    customer_channel_customer_id = forms.CharField(
        max_length=100, required=False, label="Customer id in the channel"
    )
    fulfillment_method = forms.ChoiceField(choices=FulfillmentMethod.choices, initial="ship")
    pickup_location = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True, pickup_enabled=True),
        required=False,
        to_field_name="code",
        help_text="For pickup orders: the store the customer collects from.",
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
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text="One line per product: SKU, quantity, unit price[, discount]; "
        "e.g. “TSHIRT-M, 2, 19.90”.",
    )
    shipping_total = forms.DecimalField(max_digits=12, decimal_places=2, initial=Decimal("0.00"))
    tax_total = forms.DecimalField(max_digits=12, decimal_places=2, initial=Decimal("0.00"))
    discount_total = forms.DecimalField(
        max_digits=12, decimal_places=2, initial=Decimal("0.00"), label="Order discount"
    )
    payment_status = forms.ChoiceField(
        choices=[
            (NO_PAYMENT, "Not paid yet"),
            ("authorized", "Authorized"),
            ("captured", "Captured (paid)"),
        ],
        required=False,
        label="Payment",
        help_text="A captured payment allocates stock at once.",
    )
    payment_method = forms.CharField(
        max_length=50, required=False, label="Payment method", help_text="e.g. card, invoice."
    )
    payment_amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        label="Amount",
        help_text="Empty: the order total.",
    )
    payment_reference = forms.CharField(max_length=100, required=False, label="Reference")
    gift_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False, max_length=2000
    )
    shipping_instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False, max_length=2000
    )

    GROUPS = [
        ("Order", ["channel", "channel_order_id", "currency"]),
        ("Customer", [
            "customer_email", "customer_first_name", "customer_last_name", "customer_phone",
            "customer_channel_customer_id",
        ]),
        ("Delivery", ["fulfillment_method", "pickup_location", "shipping_method"]),
        ("Shipping address", [f"ship_{part}" for part in ADDRESS_PARTS]),
        ("Lines and totals", ["lines", "shipping_total", "tax_total", "discount_total"]),
        ("Payment", ["payment_status", "payment_method", "payment_amount", "payment_reference"]),
        ("Notes", list(ATTRIBUTE_FIELDS)),
    ]

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def clean_lines(self) -> list[dict]:
        parsed, problems = [], []
        rows = [row.strip() for row in self.cleaned_data["lines"].splitlines()]
        for number, row in enumerate((row for row in rows if row), start=1):
            cells = [cell.strip() for cell in row.split(",")]
            if len(cells) not in (3, 4):
                problems.append(
                    f"Line {number}: give SKU, quantity, unit price and optionally a discount."
                )
                continue
            try:
                quantity = int(cells[1])
            except ValueError:
                problems.append(f"Line {number}: quantity '{cells[1]}' is not a whole number.")
                continue
            line = {"sku": cells[0], "quantity": quantity}
            for key, text in zip(("unit_price", "discount"), cells[2:], strict=False):
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

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("payment_status") and not cleaned.get("payment_method"):
            self.add_error("payment_method", "Say how the customer paid.")
        return cleaned

    def order_body(self) -> dict:
        """The API's order body for what the form holds."""
        data = self.cleaned_data
        lines = [
            {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}
            for row in data["lines"]
        ]
        body = {
            "channel_order_id": data["channel_order_id"],
            "customer": _present({part: data[f"customer_{part}"] for part in CUSTOMER_PARTS}),
            "fulfillment_method": data["fulfillment_method"],
            "currency": data["currency"].upper(),
            "lines": lines,
            "shipping_total": str(data["shipping_total"]),
            "tax_total": str(data["tax_total"]),
            "discount_total": str(data["discount_total"]),
            "attributes": _present({name: data[name] for name in ATTRIBUTE_FIELDS}),
        }
        if data["pickup_location"]:
            body["pickup_location"] = data["pickup_location"].code
        if data["shipping_method"]:
            body["shipping_method"] = data["shipping_method"].code
        address = _present({part: data[f"ship_{part}"] for part in ADDRESS_PARTS})
        if address:
            body["shipping_address"] = address
            body["billing_address"] = address
        if data["payment_status"]:
            amount = data["payment_amount"]
            if amount is None:
                amount = _total_of(data)
            body["payment"] = _present({
                "method": data["payment_method"],
                "amount": str(amount),
                "status": data["payment_status"],
                "reference": data["payment_reference"],
            })
        return body


def _present(values: dict) -> dict:
    return {key: value for key, value in values.items() if value not in ("", None)}


def _total_of(data: dict) -> Decimal:
    subtotal = sum(
        (
            line_total(
                unit_price=line.get("unit_price", Decimal("0")),
                quantity=line["quantity"],
                discount=line.get("discount", Decimal("0")),
            )
            for line in data["lines"]
        ),
        Decimal("0.00"),
    )
    return order_total(
        subtotal=subtotal,
        discount_total=data["discount_total"],
        shipping_total=data["shipping_total"],
        tax_total=data["tax_total"],
    )


# Where an error about a part of the order body belongs on the form.
FIELD_OF_PATH = {
    **{("customer", part): f"customer_{part}" for part in CUSTOMER_PARTS},
    **{("shipping_address", part): f"ship_{part}" for part in ADDRESS_PARTS},
    **{("billing_address", part): f"ship_{part}" for part in ADDRESS_PARTS},
    **{("payment", part): f"payment_{part}" for part in PAYMENT_PARTS},
    **{("attributes", name): name for name in ATTRIBUTE_FIELDS},
}


def _errors_by_path(errors, path=()):
    """Flatten nested API errors into (path, message) pairs."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _errors_by_path(value, (*path, str(key)))
    elif isinstance(errors, list) and errors and not all(isinstance(e, str) for e in errors):
        for index, value in enumerate(errors):
            yield from _errors_by_path(value, (*path, str(index)))
    elif isinstance(errors, list):
        for message in errors:
            yield path, str(message)
    elif errors:
        yield path, str(errors)


def add_errors(form: OrderEntryForm, errors) -> None:
    """Put API-shaped errors on the form field they concern (or on the form)."""
    for path, message in _errors_by_path(errors):
        if path and path[0] == "non_field_errors":
            path = path[1:]
        if len(path) >= 2 and path[0] == "lines" and path[1].isdigit():
            detail = f" ({path[2].replace('_', ' ')})" if len(path) > 2 else ""
            form.add_error("lines", f"Line {int(path[1]) + 1}{detail}: {message}")
        elif path[:2] in FIELD_OF_PATH:
            form.add_error(FIELD_OF_PATH[path[:2]], message)
        elif path and path[0] in form.fields:
            form.add_error(path[0], message)
        else:
            where = " ".join(path)
            form.add_error(None, f"{where}: {message}" if where else message)


def order_entry_view(model_admin, request):
    """The admin's "Add order" page: validate, create through the service, open the order."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = OrderEntryForm(
        request.POST or None, initial={"channel_order_id": new_channel_order_id()}
    )
    if request.method == "POST" and form.is_valid():
        order = _create(request, form)
        if order is not None:
            model_admin.log_addition(request, order, [{"added": {}}])
            model_admin.message_user(
                request,
                f"Order {order.number} entered; it is {order.get_status_display().lower()}.",
                messages.SUCCESS,
            )
            return redirect(reverse("admin:orders_order_change", args=[order.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Enter an order",
        "opts": model_admin.opts,
        "form": form,
        "changelist_url": reverse("admin:orders_order_changelist"),
    }
    return TemplateResponse(request, "admin/orders/order/enter_order.html", context)


def _create(request, form: OrderEntryForm) -> Order | None:
    payload = OrderCreateSerializer(data=form.order_body())
    if not payload.is_valid():
        add_errors(form, payload.errors)
        return None
    channel = form.cleaned_data["channel"]
    try:
        return services.order_create(
            channel=channel,
            data=dict(payload.validated_data),
            actor=f"user:{request.user.get_username()}",
        )
    except DuplicateOrder as error:
        form.add_error("channel_order_id", error.detail)
    except OmsError as error:
        form.add_error(None, error.detail)
        if error.errors:
            add_errors(form, error.errors)
    return None
