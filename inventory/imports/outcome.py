"""What an import run produced: counters, and the sink that collects per-row errors.

Errors are streamed to a temporary CSV file (so a file of bad rows does not fill memory);
the first `INLINE_ERRORS` are also kept for the job's `errors` field and the API.
"""

import csv
import tempfile
from dataclasses import dataclass, field

from inventory.imports.errors import row_error_message
from inventory.imports.reader import ParsedRow
from oms_project.spreadsheets import neutralise_formula  # noqa: F401  (re-exported)

INLINE_ERRORS = 1000
ERROR_CSV_HEADER = ("row", "sku", "warehouse", "code", "message")


@dataclass
class ImportCounts:
    """A run's row counts, and the products whose free stock (on hand less allocated and
    safety stock) its rows raise: waiting orders hear of those once the rows are committed."""

    total_rows: int = 0
    error_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    freed_product_ids: set[int] = field(default_factory=set)


class ErrorSink:
    """Collect row errors in row order: the first ones inline, all of them in a CSV file."""

    def __init__(self):
        self.inline: list[dict] = []
        self.count = 0
        # Owned by the sink for the whole run and closed by `close()`.
        self.file = tempfile.TemporaryFile(  # noqa: SIM115
            mode="w+", encoding="utf-8", newline=""
        )
        self.writer = csv.writer(self.file)
        self.writer.writerow(ERROR_CSV_HEADER)

    def add(
        self, *, row_number: int, sku: str, warehouse: str, code: str, column: str = "",
        value: str = "", number: int | None = None, result: int | None = None,
    ) -> None:
        message = row_error_message(
            code, column=column, value=value, number=number, result=result, sku=sku,
            warehouse=warehouse,
        )
        entry = {"row": row_number, "sku": sku, "warehouse": warehouse, "code": code,
                 "message": message}
        self.count += 1
        if len(self.inline) < INLINE_ERRORS:
            self.inline.append(entry)
        self.writer.writerow([neutralise_formula(entry[name]) for name in ERROR_CSV_HEADER])

    def add_parsed(self, row: ParsedRow, *, code: str | None = None, number=None, result=None):
        self.add(
            row_number=row.row_number, sku=row.sku, warehouse=row.warehouse,
            code=code or row.error_code, column=row.error_column, value=row.error_value,
            number=row.error_number if number is None else number, result=result,
        )

    def close(self) -> None:
        self.file.close()
