"""Forms of the returns admin pages: open a return, reject, receive and refund it.

Each form only parses what staff type into the shapes the services take; the services judge.
"""

from decimal import Decimal

from django import forms

from orders.entry_forms import field_place
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
        self.chosen_lines: list = []
        self.exchange_rows: list[tuple[int, str]] = []
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
        self.chosen_lines = [line for line in self.order_lines if data.get(f"quantity_{line.pk}")]
        return [
            {
                "line_id": line.pk,
                "quantity": data[f"quantity_{line.pk}"],
                "reason": data[f"reason_{line.pk}"],
            }
            for line in self.chosen_lines
        ]

    def error_place(self, path: tuple[str, ...]) -> tuple[str | None, str]:
        """Where the return service's error at `path` goes: a line's on its units field, an
        exchange item's on the replacements, named by its row and SKU."""
        if len(path) >= 2 and path[1].isdigit():
            index = int(path[1])
            if path[0] == "lines" and index < len(self.chosen_lines):
                return f"quantity_{self.chosen_lines[index].pk}", ""
            if path[0] == "exchange_items" and index < len(self.exchange_rows):
                number, sku = self.exchange_rows[index]
                return "exchange_items", f"Row {number} ({sku})"
        return field_place(self, path)

    def clean_exchange_items(self) -> list[dict]:
        items = []
        self.exchange_rows = []
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
            self.exchange_rows.append((number, item["sku"]))
        return items


class ReturnRejectForm(forms.Form):
    reason = forms.CharField(max_length=255, help_text="The customer is e-mailed this reason.")


class ReturnReceiveForm(forms.Form):
    """Per return line: units resellable (and where to restock), damaged and missing."""

    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, return_lines=(), locations=None, **kwargs):
        """`locations`: where resellable units may be restocked
        (`selectors.return_restock_locations`); every active location when not given."""
        super().__init__(*args, **kwargs)
        self.return_lines = list(return_lines)
        if locations is None:
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

    def clean(self):
        cleaned = super().clean()
        for line in self.return_lines:
            units = cleaned.get(f"resellable_{line.pk}")
            if units and not cleaned.get(f"location_{line.pk}"):
                self.add_error(
                    f"location_{line.pk}",
                    f"Choose where the {units} resellable unit(s) of {line.order_line.sku} "
                    "go back on sale.",
                )
        return cleaned

    def error_place(self, path: tuple[str, ...]) -> tuple[str | None, str]:
        """Where the receiving service's error at `path` goes, named "Line 2 (SKU)". The
        service names a line by its order line id (counts, locations) or by its position
        among `receipt_lines()` (one entry per line and condition). Order line ids are tried
        first: the one per-entry problem this page can cause, resellable units without a
        location, `clean` refuses before the service is called."""
        if len(path) < 2 or path[0] != "lines" or not path[1].isdigit():
            return field_place(self, path)
        key = int(path[1])
        by_order_line = {line.order_line_id: line for line in self.return_lines}
        entries = self.receipt_lines()
        if key in by_order_line:
            line, condition = by_order_line[key], ""
        elif key < len(entries):
            line, condition = by_order_line[entries[key]["line_id"]], entries[key]["condition"]
        else:
            return field_place(self, path)
        number = self.return_lines.index(line) + 1
        label = f"Line {number} ({line.order_line.sku})"
        return None, f"{label}, {condition}" if condition else label

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
