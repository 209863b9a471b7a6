"""Errors of a stock CSV import: whole-file errors (nothing is written) and per-row reasons.

A file error stops the import before anything is written. A row error names the row (the
header is row 1, as a spreadsheet shows it), a stable code and a sentence for the user; both
write paths produce the same codes and the same sentences from `row_error_message`.
"""

from oms_project.errors import ValidationFailed

MAX_QUANTITY = 10**9


class ImportFileInvalid(ValidationFailed):
    """The uploaded file cannot be imported at all; nothing was written."""

    title = "The file cannot be imported"

    def __init__(self, detail: str, *, code: str, status: int = 400):
        super().__init__(detail)
        self.code = code
        self.status = status


class RowError:
    """Stable codes of the per-row reasons."""

    MISSING_VALUE = "missing_value"
    TOO_MANY_FIELDS = "too_many_fields"
    MISSING_QUANTITY = "missing_quantity"
    QUANTITY_CONFLICT = "quantity_conflict"
    NOT_INTEGER = "not_integer"
    NEGATIVE = "negative_quantity"
    TOO_LARGE = "quantity_too_large"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_WAREHOUSE = "unknown_warehouse"
    DUPLICATE = "duplicate_row"
    BELOW_ALLOCATED = "below_allocated"
    NEGATIVE_RESULT = "negative_result"
    RESULT_TOO_LARGE = "result_too_large"
    CONCURRENT_CHANGE = "concurrent_change"


def row_error_message(
    code: str, *, column: str = "", value: str = "", number: int | None = None,
    result: int | None = None, sku: str = "", warehouse: str = "",
) -> str:
    """Return the sentence shown to the user for a row error.

    `column` and `value` name the offending cell; `number` is the allocated units, the first
    row of a duplicate or the field count, depending on the code; `result` is the on hand the
    row would have produced.
    """
    messages = {
        RowError.MISSING_VALUE: lambda: f"{column} is empty.",
        RowError.TOO_MANY_FIELDS: lambda: f"The row has {number} fields, more than the header.",
        RowError.MISSING_QUANTITY: lambda: "Give on_hand or delta.",
        RowError.QUANTITY_CONFLICT: lambda: "Give on_hand or delta, not both.",
        RowError.NOT_INTEGER: lambda: f"{column} '{value}' is not a whole number.",
        RowError.NEGATIVE: lambda: f"{column} {value} is negative.",
        RowError.TOO_LARGE: lambda: f"{column} {value} exceeds {MAX_QUANTITY:,}.",
        RowError.UNKNOWN_SKU: lambda: f"Unknown SKU '{sku}'.",
        RowError.UNKNOWN_WAREHOUSE: lambda: f"Unknown warehouse '{warehouse}'.",
        RowError.DUPLICATE: lambda: f"{sku} at {warehouse} already appears in row {number}.",
        RowError.BELOW_ALLOCATED: lambda: (
            f"on_hand would be {result}, below the {number} allocated units."
        ),
        RowError.NEGATIVE_RESULT: lambda: f"on_hand would become {result}, below zero.",
        RowError.RESULT_TOO_LARGE: lambda: f"on_hand would become {result}, over {MAX_QUANTITY:,}.",
        RowError.CONCURRENT_CHANGE: lambda: (
            "The stock level was created by someone else during the import; import this row again."
        ),
    }
    return messages[code]()
