"""CSV import and export of suppliers and what they supply (django-import-export).

Suppliers are keyed by `code`; supplier products by (`supplier` code, `sku`), loaded in one
query keyed on both columns (the shipped cached loader keys on the first column only). Every
cell is read by a widget that refuses bad input with a sentence naming the value ("'abc' is
not a number.", "no supplier with code 'NOPE'.", "must be at least 1."), and the model's own
validators (e-mail lists, currency codes) run after; errors are reported per row under the
column they belong to. A key repeated in one file is refused. The admin shows a dry run first,
and an import with any bad row writes nothing. Making a supplier preferred for a SKU goes
through `supplier_product_save`, which takes that role from the SKU's previous preferred
supplier.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader
from import_export.results import Error, Result

from inventory.imports import neutralise_formula
from inventory.models import Product, Supplier, SupplierProduct
from inventory.purchasing.services import MAX_UNIT_COST, MAX_WHOLE_NUMBER, supplier_product_save
from inventory.purchasing.suppliers import supplier_currency_change_check
from oms_project.errors import OmsError, ValidationFailed
from oms_project.spreadsheets import formula_quote_removed

MAX_MINIMUM_ORDER_VALUE = Decimal("999999999999.99")  # Supplier.minimum_order_value: 14 digits
TRUE_TEXTS = frozenset({"1", "true", "yes", "y"})
FALSE_TEXTS = frozenset({"0", "false", "no", "n"})


def _cell_text(value) -> str:
    return "" if value is None else str(value).strip()


# --- Widgets: one cell in, a value or a ValueError naming the bad value out -----------------


def _parse_number(text: str) -> Decimal:
    if not text:
        raise ValueError("is empty.")
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"'{text}' is not a number.")
    return number


def _check_range(number, minimum, maximum) -> None:
    if number < minimum:
        raise ValueError(f"must be at least {minimum}.")
    if number > maximum:
        raise ValueError(f"must be at most {maximum}.")


class WholeNumberWidget(widgets.IntegerWidget):
    """A whole number from `minimum` to `maximum` ("7" or a spreadsheet's 7.0)."""

    def __init__(self, *, minimum: int, maximum: int, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def clean(self, value, row=None, **kwargs) -> int:
        text = _cell_text(value)
        number = _parse_number(text)
        if number != number.to_integral_value():
            raise ValueError(f"'{text}' is not a whole number.")
        _check_range(number, self.minimum, self.maximum)
        return int(number)


class AmountWidget(widgets.DecimalWidget):
    """A decimal from `minimum` to `maximum` with at most `decimal_places` places."""

    def __init__(self, *, minimum: Decimal, maximum: Decimal, decimal_places: int, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum, self.decimal_places = minimum, maximum, decimal_places

    def clean(self, value, row=None, **kwargs) -> Decimal:
        text = _cell_text(value)
        number = _parse_number(text)
        if number.normalize().as_tuple().exponent < -self.decimal_places:
            raise ValueError(f"'{text}' has more than {self.decimal_places} decimal places.")
        _check_range(number, self.minimum, self.maximum)
        return number


class YesNoWidget(widgets.BooleanWidget):
    """1 or 0 (also true/false, yes/no); anything else is refused instead of read as 0."""

    def clean(self, value, row=None, **kwargs) -> bool:
        text = _cell_text(value).lower()
        if not text:
            raise ValueError("is empty.")
        if text in TRUE_TEXTS:
            return True
        if text in FALSE_TEXTS:
            return False
        raise ValueError(f"'{_cell_text(value)}' is not 1 or 0.")


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A related row by its natural key (a supplier's code, a SKU), preloaded per file."""

    def __init__(self, model, field: str, *, described_as: str, **kwargs):
        super().__init__(model, field, **kwargs)
        self.described_as = described_as  # "supplier with code": "no supplier with code 'X'."
        self.known: dict[str, object] | None = None

    def preload(self, values) -> None:
        """Load every row the file names in one query."""
        keys = {_cell_text(value) for value in values} - {""}
        self.known = {
            getattr(instance, self.field): instance
            for instance in self.get_queryset(None, None).filter(**{f"{self.field}__in": keys})
        }

    def clean(self, value, row=None, **kwargs):
        text = _cell_text(value)
        if not text:
            raise ValueError("is empty.")
        if self.known is not None:
            instance = self.known.get(text)
        else:
            instance = self.get_queryset(value, row).filter(**{self.field: text}).first()
        if instance is None:
            raise ValueError(f"no {self.described_as} '{text}'.")
        return instance


# --- Resources --------------------------------------------------------------------------------


class FormulaSafeExportMixin:
    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))


class FileColumnsError(ValueError):
    """The file's columns are not the import's."""


class _MessageOnly(Error):
    """A base error shown as its message alone (the admin shows an error's traceback)."""

    traceback = ""


class FileRowsResult(Result):
    """An import's result with rows numbered as a spreadsheet shows the file: the header is
    row 1, the first data row is row 2 (as the stock import counts them); the library counts
    data rows from 1."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)

    def row_errors(self):
        return [(number + 1, errors) for number, errors in super().row_errors()]


class CheckedRowsMixin:
    """Per-row errors keyed by CSV column, a repeated key refused, and all or nothing.

    `validation_exclusions` names model fields the model's own validation must not judge
    because the service that saves the row takes care of them.
    """

    validation_exclusions: frozenset[str] = frozenset()

    @classmethod
    def get_result_class(cls):
        return FileRowsResult

    def import_data(self, dataset, *args, **kwargs):
        """Import `dataset`; a file with any invalid row writes nothing."""
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._check_columns(dataset.headers or [])
        self.rows_by_key: dict[tuple[str, ...], int] = {}
        for field in self.get_import_fields():
            if isinstance(field.widget, NaturalKeyWidget) and field.column_name in (
                dataset.headers or []
            ):
                field.widget.preload(dataset[field.column_name])

    def _check_columns(self, headers: list[str]) -> None:
        """Refuse a file whose columns are not this import's: an unknown column would be
        dropped without a word (a misspelt price column, and no price changes), a missing key
        column makes every row unreadable."""
        expected = [field.column_name for field in self.get_import_fields()]
        unknown = [header for header in headers if header not in expected]
        keys = [self.fields[name].column_name for name in self._meta.import_id_fields]
        missing = [column for column in keys if column not in headers]
        if unknown or missing:
            problems = []
            if unknown:
                problems.append(f"unknown column(s): {', '.join(map(str, unknown))}")
            if missing:
                problems.append(f"missing column(s): {', '.join(missing)}")
            raise FileColumnsError(
                f"Nothing was imported: {'; '.join(problems)}. The columns are: "
                f"{', '.join(expected)}."
            )

    def handle_import_error(self, result, error, raise_errors=False):
        if isinstance(error, FileColumnsError) and result is not None:
            result.append_base_error(_MessageOnly(error))  # a refusal, not a crash to trace
            if raise_errors:
                raise error
            return
        super().handle_import_error(result, error, raise_errors)

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        for column, value in row.items():
            row[column] = formula_quote_removed(value)

    def import_instance(self, instance, row, **kwargs):
        """Read every cell, collecting each bad one under its column."""
        self.current_row = row
        errors: dict[str, list[str]] = {}
        for field in self.get_import_fields():
            try:
                self.import_field(field, instance, row, **kwargs)
            except ValueError as error:
                errors[field.column_name] = [str(error)]
        self.check_row_in_file(instance, row, kwargs["row_number"] + 1, errors)  # file row
        if errors:
            raise ValidationError(errors)

    def check_row_in_file(self, instance, row, row_number, errors: dict) -> None:
        """Refuse a key that an earlier row of the file already used."""
        columns = [self.fields[name].column_name for name in self.get_import_id_fields()]
        key = tuple(_cell_text(row.get(column)) for column in columns)
        if "" in key:
            return
        first = self.rows_by_key.setdefault(key, row_number)
        if first != row_number:
            label = f"'{key[0]}'" if len(key) == 1 else " ".join(key)
            errors.setdefault(columns[-1], []).append(f"{label} already appears in row {first}.")

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Run the model's validation on the cells that were read, keyed by column."""
        errors = dict(import_validation_errors or {})
        columns = {field.attribute: field.column_name for field in self.get_import_fields()}
        attributes = {attribute for attribute, column in columns.items() if column in errors}
        try:
            instance.full_clean(
                exclude=attributes | self.validation_exclusions, validate_unique=validate_unique
            )
        except ValidationError as error:
            for attribute, messages in error.message_dict.items():
                column = columns.get(attribute, attribute)
                value = _cell_text((getattr(self, "current_row", None) or {}).get(column))
                errors.setdefault(column, []).extend(
                    _with_value(value, message) if attribute != NON_FIELD_ERRORS else message
                    for message in messages
                )
        if errors:
            raise ValidationError(errors)


def _with_value(value: str, message: str) -> str:
    if not value or f"'{value}'" in message:
        return message
    return f"'{value}': {message}"


def _row_text(error_dict: dict[str, list[str]]) -> str:
    return " ".join(
        " ".join(messages) if column == NON_FIELD_ERRORS else f"{column}: {' '.join(messages)}"
        for column, messages in error_dict.items()
    )


def import_errors_text(result, limit: int = 10) -> str:
    """The rows an import refused, as one line: "row 2: supplier: no supplier ...; ..."."""
    rows = [f"row {row.number}: {_row_text(row.error_dict)}" for row in result.invalid_rows]
    rows += [
        f"row {number}: {' '.join(str(error.error) for error in errors)}"
        for number, errors in result.row_errors()
    ]
    rows += [str(error.error) for error in result.base_errors]
    more = f"; and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(rows[:limit]) + more


class SupplierResource(CheckedRowsMixin, FormulaSafeExportMixin, resources.ModelResource):
    lead_time_days = fields.Field(
        attribute="lead_time_days", column_name="lead_time_days",
        widget=WholeNumberWidget(minimum=0, maximum=365),
    )
    minimum_order_value = fields.Field(
        attribute="minimum_order_value", column_name="minimum_order_value",
        widget=AmountWidget(minimum=Decimal("0"), maximum=MAX_MINIMUM_ORDER_VALUE,
                            decimal_places=2),
    )
    over_receipt_percent = fields.Field(
        attribute="over_receipt_percent", column_name="over_receipt_percent",
        widget=WholeNumberWidget(minimum=0, maximum=100),
    )
    is_active = fields.Field(attribute="is_active", column_name="is_active", widget=YesNoWidget())

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """As the API and the admin: no currency change while purchase orders are open."""
        errors = dict(import_validation_errors or {})
        if instance.pk and "currency" not in errors:
            stored = Supplier.objects.filter(pk=instance.pk).values_list("currency", flat=True)
            if stored and stored[0] != instance.currency:
                try:
                    supplier_currency_change_check(
                        Supplier(pk=instance.pk, code=instance.code, currency=stored[0])
                    )
                except OmsError as error:
                    errors["currency"] = list(error.errors["currency"])
        super().validate_instance(instance, errors, validate_unique)

    class Meta:
        model = Supplier
        fields = (
            "code", "name", "contact_emails", "lead_time_days", "currency",
            "minimum_order_value", "over_receipt_percent", "is_active",
        )
        export_order = fields
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True
        use_transactions = True


class SupplierProductKeyLoader(ModelInstanceLoader):
    """Preload the file's existing supplier products in one query, keyed on the raw
    (supplier code, SKU) columns, so an unknown code is a row error rather than a failed
    import."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instances = {}
        if self.dataset is None or not self.dataset.dict:
            return
        rows = self.dataset.dict
        existing = self.get_queryset().filter(
            supplier__code__in={_cell_text(row.get("supplier")) for row in rows},
            product__sku__in={_cell_text(row.get("sku")) for row in rows},
        )
        for instance in existing:
            self.instances[(instance.supplier.code, instance.product.sku)] = instance

    def get_instance(self, row):
        return self.instances.get((_cell_text(row.get("supplier")), _cell_text(row.get("sku"))))


class SupplierProductResource(CheckedRowsMixin, FormulaSafeExportMixin, resources.ModelResource):
    supplier = fields.Field(
        attribute="supplier", column_name="supplier",
        widget=NaturalKeyWidget(Supplier, "code", described_as="supplier with code"),
    )
    sku = fields.Field(
        attribute="product", column_name="sku",
        widget=NaturalKeyWidget(Product, "sku", described_as="product with SKU"),
    )
    unit_cost = fields.Field(
        attribute="unit_cost", column_name="unit_cost",
        widget=AmountWidget(minimum=Decimal("0"), maximum=MAX_UNIT_COST, decimal_places=4),
    )
    pack_size = fields.Field(
        attribute="pack_size", column_name="pack_size",
        widget=WholeNumberWidget(minimum=1, maximum=MAX_WHOLE_NUMBER),
    )
    minimum_quantity = fields.Field(
        attribute="minimum_quantity", column_name="minimum_quantity",
        widget=WholeNumberWidget(minimum=1, maximum=MAX_WHOLE_NUMBER),
    )
    is_preferred = fields.Field(
        attribute="is_preferred", column_name="is_preferred", widget=YesNoWidget()
    )
    # `supplier_product_save` takes the preferred role from the SKU's other supplier, so the
    # one-preferred-supplier constraint must not refuse the row before it runs.
    validation_exclusions = frozenset({"is_preferred"})

    class Meta:
        model = SupplierProduct
        fields = (
            "supplier", "sku", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity",
            "is_preferred",
        )
        export_order = fields
        import_id_fields = ("supplier", "sku")
        instance_loader_class = SupplierProductKeyLoader
        clean_model_instances = True
        skip_unchanged = True
        use_transactions = True

    def get_queryset(self):
        return SupplierProduct.objects.select_related("supplier", "product").order_by("pk")

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.preferred_rows: dict[str, tuple[str, int]] = {}

    def check_row_in_file(self, instance, row, row_number, errors: dict) -> None:
        """Also refuse a second preferred supplier for one SKU in the same file."""
        super().check_row_in_file(instance, row, row_number, errors)
        supplier, sku = _cell_text(row.get("supplier")), _cell_text(row.get("sku"))
        if "is_preferred" in errors or not (instance.is_preferred and supplier and sku):
            return
        first_supplier, first_row = self.preferred_rows.setdefault(sku, (supplier, row_number))
        if first_row != row_number and first_supplier != supplier:
            errors.setdefault("is_preferred", []).append(
                f"{sku} is already made preferred for {first_supplier} in row {first_row}."
            )

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = supplier_product_save(
                supplier=instance.supplier,
                product=instance.product,
                unit_cost=instance.unit_cost,
                supplier_sku=instance.supplier_sku,
                pack_size=instance.pack_size,
                minimum_quantity=instance.minimum_quantity,
                is_preferred=instance.is_preferred,
            )
        except ValidationFailed as error:
            raise ValidationError(error.errors or {NON_FIELD_ERRORS: [error.detail]}) from error
        instance.pk = saved.pk
