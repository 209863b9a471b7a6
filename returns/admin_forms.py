"""Forms of the returns admin pages: open a return, reject, receive and refund it.

Each form only parses what staff type into the shapes the services take; the services judge.
"""

from decimal import Decimal

from django import forms

from returns.models import ReturnReason
from warehouses.models import Warehouse


class ReturnOrderForm(forms.Form):
    """Step one of opening a return: which order."""

    order = forms.CharField(max_length=32, label="Order number")


class ReturnCreateForm(forms.Form):
    """Step two: units and reason per shipped line, replacement items, window override."""

    customer_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    exchange_items = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One replacement per row: `SKU x quantity` or `SKU x quantity @ unit price`.",
    )
    window_override_reason = forms.CharField(
        max_length=255,
        required=False,
        help_text="Only needed outside the channel's return window: why it is accepted.",
    )

    def __init__(self, *args, order_lines=(), returnable=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_lines = list(order_lines)
        for line in self.order_lines:
            limit = (returnable or {}).get(line.pk, 0)
            self.fields[f"quantity_{line.pk}"] = forms.IntegerField(
                min_value=0,
                required=False,
                initial=0,
                label=f"{line.sku} ({line.name}) — units",
                help_text=f"Line {line.pk}: {limit} of {line.quantity_shipped} shipped unit(s) "
                f"can be returned.",
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                choices=ReturnReason.choices, label=f"{line.sku} — reason"
            )

    def return_lines(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "line_id": line.pk,
                "quantity": data[f"quantity_{line.pk}"],
                "reason": data[f"reason_{line.pk}"],
            }
            for line in self.order_lines
            if data.get(f"quantity_{line.pk}")
        ]

    def clean_exchange_items(self) -> list[dict]:
        items = []
        for number, row in enumerate(self.cleaned_data["exchange_items"].splitlines(), 1):
            if not row.strip():
                continue
            text, _, price = row.partition("@")
            sku, separator, quantity = text.partition("x")
            try:
                item = {"sku": sku.strip(), "quantity": int(quantity)}
                if price.strip():
                    item["unit_price"] = Decimal(price.strip())
            except (ValueError, ArithmeticError):
                raise forms.ValidationError(
                    f"Row {number}: write `SKU x quantity` or `SKU x quantity @ price`."
                )
            if not separator or not item["sku"]:
                raise forms.ValidationError(f"Row {number}: write `SKU x quantity`.")
            items.append(item)
        return items


class ReturnRejectForm(forms.Form):
    reason = forms.CharField(max_length=255, help_text="The customer is e-mailed this reason.")


class ReturnReceiveForm(forms.Form):
    """Per return line: units resellable (and where to restock), damaged and missing."""

    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, return_lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.return_lines = list(return_lines)
        locations = Warehouse.objects.filter(is_active=True).order_by("code")
        for line in self.return_lines:
            sku = line.order_line.sku
            self.fields[f"resellable_{line.pk}"] = forms.IntegerField(
                min_value=0, initial=line.quantity, label=f"{sku} — resellable",
                help_text=f"The return has {line.quantity} unit(s) of {sku}.",
            )
            self.fields[f"location_{line.pk}"] = forms.ModelChoiceField(
                queryset=locations, required=False, to_field_name="code",
                label=f"{sku} — restock at",
            )
            self.fields[f"damaged_{line.pk}"] = forms.IntegerField(
                min_value=0, initial=0, label=f"{sku} — damaged"
            )
            self.fields[f"missing_{line.pk}"] = forms.IntegerField(
                min_value=0, initial=0, label=f"{sku} — missing"
            )

    def receipt_lines(self) -> list[dict]:
        data = self.cleaned_data
        entries = []
        for line in self.return_lines:
            line_id = line.order_line_id
            location = data.get(f"location_{line.pk}")
            entries.append({
                "line_id": line_id,
                "condition": "resellable",
                "quantity": data[f"resellable_{line.pk}"],
                **({"location": location.code} if location else {}),
            })
            for condition in ("damaged", "missing"):
                entries.append({
                    "line_id": line_id,
                    "condition": condition,
                    "quantity": data[f"{condition}_{line.pk}"],
                })
        return entries


class ReturnRefundForm(forms.Form):
    refund_shipping = forms.BooleanField(required=False, label="Refund the shipping charge")
    restocking_fee = forms.DecimalField(
        min_value=Decimal("0"), decimal_places=2, max_digits=12, initial=Decimal("0.00")
    )
    adjustment = forms.DecimalField(
        decimal_places=2, max_digits=12, initial=Decimal("0.00"),
        help_text="Added to the computed amount (negative to take off); needs a reason.",
    )
    adjustment_reason = forms.CharField(max_length=255, required=False)
    method = forms.CharField(
        max_length=50, required=False, help_text="Defaults to the order's payment method."
    )
    processor_reference = forms.CharField(max_length=100, required=False)
    note = forms.CharField(max_length=255, required=False)
