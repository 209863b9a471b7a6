"""Staff order entry in the admin (phone, e-mail and showroom orders).

The form gathers what a channel would send, turns it into the API's order body and passes it
through the same validation (`OrderCreateSerializer`) and the same service (`order_create`) as
an order arriving over the API: customer profile, payment, stock allocation, e-mails and
events all happen exactly as they would for a channel. Errors land on the field they concern;
nothing is written unless the whole order is accepted.
"""

import secrets
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from oms_project.admin import form_page
from oms_project.currencies import MAX_AMOUNT
from oms_project.errors import OmsError
from orders import services
from orders.entry_forms import EntryForm, add_errors, add_service_error, present
from orders.errors import DuplicateOrder
from orders.input_serializers import OrderCreateSerializer
from orders.models import FulfillmentMethod, Order
from orders.pricing import line_total, order_total
from orders.services.creation import order_lookups_load, order_resolve
from warehouses.models import Warehouse

ATTRIBUTE_FIELDS = ("gift_message", "shipping_instructions")
NO_PAYMENT = ""


def new_channel_order_id() -> str:
    """A reference for an order keyed in by staff; shown on the form, so a second submit of
    the same form is recognised as the same order."""
    return f"STAFF-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(2).upper()}"


class OrderEntryForm(EntryForm):
    LINE_HELP = (
        "One line per product: SKU, quantity, unit price[, discount]; e.g. “TSHIRT-M, 2, 19.90”. "
        "Commas separate the cells: write decimals with a dot (19.90, not 19,90)."
    )
    LINE_PARTS = ("unit_price", "discount")

    channel_order_id = forms.CharField(
        max_length=100,
        label="Reference",
        help_text="The order's reference in the channel; proposed for you, keep it unless the "
        "customer has one. Submitting the same reference twice never makes two orders.",
    )
    fulfillment_method = forms.ChoiceField(choices=FulfillmentMethod.choices, initial="ship")
    pickup_location = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True, pickup_enabled=True),
        required=False,
        to_field_name="code",
        help_text="For pickup orders: the store the customer collects from.",
    )
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
    notify_customer = forms.BooleanField(
        required=False,
        initial=True,
        label="E-mail the customer",
        help_text="Untick for an order the customer must not hear about from us (e.g. one "
        "recorded after the fact); the channel's own setting can also turn e-mails off.",
    )
    gift_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False, max_length=2000
    )
    shipping_instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False, max_length=2000
    )

    GROUPS = [
        ("Order", ["channel", "channel_order_id", "currency"]),
        EntryForm.CUSTOMER_GROUP,
        ("Delivery", ["fulfillment_method", "pickup_location", "shipping_method"]),
        EntryForm.ADDRESS_GROUP,
        ("Lines and totals", ["lines", "shipping_total", "tax_total", "discount_total"]),
        ("Payment", ["payment_status", "payment_method", "payment_amount", "payment_reference"]),
        ("Notes", [*ATTRIBUTE_FIELDS, "notify_customer"]),
    ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("payment_status") and not cleaned.get("payment_method"):
            self.add_error("payment_method", "Say how the customer paid.")
        return cleaned

    def body(self) -> dict:
        """The API's order body for what the form holds."""
        data = self.cleaned_data
        body = {
            **self.common_body(),
            "channel_order_id": data["channel_order_id"],
            "fulfillment_method": data["fulfillment_method"],
            "discount_total": str(data["discount_total"]),
            "attributes": present({name: data[name] for name in ATTRIBUTE_FIELDS}),
            "notify_customer": data["notify_customer"],
        }
        if data["pickup_location"]:
            body["pickup_location"] = data["pickup_location"].code
        if data["payment_status"]:
            amount = data["payment_amount"]
            if amount is None:
                amount = self.computed_total()
            body["payment"] = present({
                "method": data["payment_method"],
                "amount": str(amount) if amount is not None else None,
                "status": data["payment_status"],
                "reference": data["payment_reference"],
            })
        return body

    def pays_the_total(self) -> bool:
        """Whether the payment's amount is left empty, so it is the order's total."""
        data = self.cleaned_data
        return bool(data["payment_status"]) and data["payment_amount"] is None

    def computed_total(self) -> Decimal | None:
        """The order's total for what the form holds (None when it cannot be worked out)."""
        data = self.cleaned_data
        try:
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
        except ArithmeticError:  # a quantity so large the amounts leave Decimal's precision
            return None


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
    return form_page(
        model_admin,
        request,
        form=form,
        title="Enter an order",
        submit_label="Enter order",
        intro="An order entered here is treated exactly like one a channel sends: the customer "
        "profile is updated, a captured payment allocates stock at once, and the customer gets "
        "the same e-mails (unless you untick them). Nothing is saved unless the whole order is "
        "accepted.",
    )


def _create(request, form: OrderEntryForm) -> Order | None:
    channel = form.cleaned_data["channel"]
    body = form.body()
    if form.pays_the_total() and not _is_payable(form.computed_total()):
        _explain_unpayable_total(form, channel=channel, body=body)
        return None
    payload = OrderCreateSerializer(data=body)
    if not payload.is_valid():
        add_errors(form, payload.errors)
        return None
    try:
        return services.order_create(
            channel=channel,
            data=dict(payload.validated_data),
            actor=f"user:{request.user.get_username()}",
        )
    except DuplicateOrder as error:
        form.add_error("channel_order_id", error.detail)
    except OmsError as error:
        add_service_error(form, error)
    return None


def _is_payable(amount: Decimal | None) -> bool:
    return amount is not None and Decimal("0.01") <= amount <= MAX_AMOUNT


def _explain_unpayable_total(form: OrderEntryForm, *, channel, body: dict) -> None:
    """The payment is to be the order's total, and that total cannot be paid: the lines,
    discounts or charges are wrong, not the (empty) amount. Check the order without its
    payment, with the API's serializer and the order service's own checks (writing
    nothing), and put their errors where they belong."""
    payload = OrderCreateSerializer(data={key: body[key] for key in body if key != "payment"})
    if not payload.is_valid():
        add_errors(form, payload.errors)
        return
    data = dict(payload.validated_data)
    try:
        order_resolve(
            channel=channel, data=data, lookups=order_lookups_load(entries=[(channel, data)])
        )
    except OmsError as error:
        add_service_error(form, error)
        return
    form.add_error(
        "payment_status",
        f"The order comes to {form.computed_total()}: there is nothing to pay. Choose "
        "“Not paid yet”.",
    )
