"""Reading a stock CSV: encoding, delimiter, header and the per-row format checks.

The file is streamed: `inspect_file` reads it once to refuse what cannot be imported (too
large, empty, not text, not UTF-8, a header without the required columns) before anything is
written, and `iter_row_chunks` yields parsed rows in chunks so memory stays flat whatever the
file size. Checks that need the database (unknown SKUs, allocated units) belong to the writers.
"""

import codecs
import csv
import functools
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from inventory.imports.errors import MAX_QUANTITY, ImportFileInvalid, RowError

REQUIRED_COLUMNS = ("sku", "warehouse")
QUANTITY_COLUMNS = ("on_hand", "delta")
SETTING_COLUMNS = ("safety_stock", "reorder_point", "reorder_quantity")
KNOWN_COLUMNS = REQUIRED_COLUMNS + QUANTITY_COLUMNS + SETTING_COLUMNS
DELIMITERS = (",", ";")
CHUNK_ROWS = 5000
_READ_BYTES = 64 * 1024
_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
_SPREADSHEET_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


@dataclass(frozen=True)
class CsvLayout:
    """What the header told us: the delimiter and the canonical column names in file order."""

    delimiter: str
    columns: tuple[str, ...]
    data_rows: int = 0


@dataclass(slots=True)
class ParsedRow:
    """One data row after the format checks; `error_code` is set when the row is bad."""

    row_number: int
    sku: str
    warehouse: str
    on_hand: int | None = None
    delta: int | None = None
    safety_stock: int | None = None
    reorder_point: int | None = None
    reorder_quantity: int | None = None
    error_code: str | None = None
    error_column: str = ""
    error_value: str = ""
    error_number: int | None = None

    def fail(self, code: str, *, column: str = "", value: str = "", number=None) -> None:
        self.error_code, self.error_column, self.error_value = code, column, value
        self.error_number = number


def _text_stream(file: BinaryIO) -> io.TextIOWrapper:
    file.seek(0)
    return io.TextIOWrapper(file, encoding="utf-8-sig", errors="strict", newline="")


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _choose_layout(header_line: str) -> CsvLayout:
    # The delimiter naming more known columns wins; on a tie, the one splitting more fields.
    best: tuple[tuple[int, int], str, list[str]] | None = None
    for delimiter in DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter))
        names = [_normalise_header(name) for name in fields]
        score = (sum(name in KNOWN_COLUMNS for name in names), len(names))
        if best is None or score > best[0]:
            best = (score, delimiter, names)
    _, delimiter, names = best
    _check_header(names)
    return CsvLayout(delimiter=delimiter, columns=tuple(names))


def _check_header(names: list[str]) -> None:
    expected = "sku, warehouse and on_hand or delta (optional: " + ", ".join(SETTING_COLUMNS) + ")"
    if any(not name for name in names):
        raise ImportFileInvalid(
            f"The header has an empty column name; expected {expected}.", code="invalid_header"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportFileInvalid(
            f"The header repeats the column(s): {', '.join(repeated)}.", code="invalid_header"
        )
    unknown = [name for name in names if name not in KNOWN_COLUMNS]
    if unknown:
        raise ImportFileInvalid(
            f"Unknown column(s): {', '.join(unknown[:10])}; expected {expected}.",
            code="unknown_columns",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if not any(name in names for name in QUANTITY_COLUMNS):
        missing.append("on_hand or delta")
    if missing:
        raise ImportFileInvalid(
            f"Missing column(s): {', '.join(missing)}; expected {expected}.",
            code="missing_columns",
        )


def inspect_file(file: BinaryIO, *, size: int, max_bytes: int) -> CsvLayout:
    """Check a whole upload without writing anything and return its layout and row count.

    Raises `ImportFileInvalid` (codes `file_too_large`, `empty_file`, `not_csv`,
    `invalid_encoding`, `missing_columns`, `unknown_columns`, `invalid_header`,
    `no_data_rows`).
    """
    if size > max_bytes:
        raise ImportFileInvalid(
            f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes. Split it into "
            "smaller files.",
            code="file_too_large",
            status=413,
        )
    file.seek(0)
    head = file.read(_READ_BYTES)
    if not head.strip(codecs.BOM_UTF8 + b" \t\r\n"):
        raise ImportFileInvalid("The file is empty.", code="empty_file")
    if head.startswith(_SPREADSHEET_SIGNATURES):
        raise ImportFileInvalid(
            "This is a spreadsheet, not a CSV file; save it as 'CSV UTF-8' and upload that.",
            code="not_csv",
        )
    if b"\x00" in head:
        raise ImportFileInvalid("This is not a CSV text file.", code="not_csv")
    layout, data_rows = None, 0
    for _, fields in _records(file, delimiter=None):
        if layout is None:
            layout = _choose_layout(fields)
            continue
        data_rows += 1
    if layout is None:
        raise ImportFileInvalid("The file is empty.", code="empty_file")
    if not data_rows:
        raise ImportFileInvalid("The file has a header but no data rows.", code="no_data_rows")
    return CsvLayout(delimiter=layout.delimiter, columns=layout.columns, data_rows=data_rows)


def _records(file: BinaryIO, *, delimiter: str | None):
    """Yield (row number, fields) for non-blank records; the header is row 1.

    With `delimiter=None` yield the header as its raw line (to sniff the delimiter) and the
    data records with the sniffed delimiter. Raises `ImportFileInvalid` on bad UTF-8 or NUL.
    """
    text = _text_stream(file)
    row_number = 0
    try:
        lines = iter(text)
        if delimiter is None:
            for line in lines:
                row_number += 1
                if line.strip():
                    if "\x00" in line:
                        raise ImportFileInvalid("This is not a CSV text file.", code="not_csv")
                    yield row_number, line
                    delimiter = _choose_layout(line).delimiter
                    break
            if delimiter is None:
                return
        for fields in csv.reader(lines, delimiter=delimiter, strict=False):
            row_number += 1
            if fields and "".join(fields).strip():
                yield row_number, fields
    except UnicodeDecodeError:
        raise ImportFileInvalid(
            f"The file is not valid UTF-8 text (near row {row_number + 1}); save it as "
            "'CSV UTF-8' and upload it again.",
            code="invalid_encoding",
        )
    except csv.Error as error:
        raise ImportFileInvalid(
            f"Row {row_number + 1} cannot be read as CSV: {error}.", code="not_csv"
        )
    finally:
        text.detach()


def iter_row_chunks(file: BinaryIO, layout: CsvLayout, *, size: int = CHUNK_ROWS):
    """Yield lists of at most `size` parsed rows, in file order."""
    chunk: list[ParsedRow] = []
    records = _records(file, delimiter=None)
    next(records, None)  # the header
    for row_number, fields in records:
        chunk.append(parse_row(row_number, fields, layout.columns))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parse_row(row_number: int, fields: list[str], columns: tuple[str, ...]) -> ParsedRow:
    """Read one record against the header and record the first format problem, if any."""
    width, count = len(columns), len(fields)
    if count == width:
        values = [field.strip() for field in fields]
    else:
        values = [fields[index].strip() if index < count else "" for index in range(width)]
    positions = _positions(columns)
    row = ParsedRow(
        row_number=row_number,
        sku=values[positions.sku],
        warehouse=values[positions.warehouse],
    )
    if count > width and "".join(fields[width:]).strip():
        row.fail(RowError.TOO_MANY_FIELDS, number=count)
        return row
    for name, position in zip(REQUIRED_COLUMNS, (positions.sku, positions.warehouse), strict=True):
        if not values[position]:
            row.fail(RowError.MISSING_VALUE, column=name)
            return row
    given = [name for name, position in positions.quantities if values[position]]
    if not given:
        row.fail(RowError.MISSING_QUANTITY)
        return row
    if len(given) > 1:
        row.fail(RowError.QUANTITY_CONFLICT)
        return row
    for name, position in positions.numbers:
        text = values[position]
        if not text:
            continue
        if text.isdigit() and len(text) <= _SAFE_DIGITS and text.isascii():
            number = int(text)  # a plain count, surely within the limits
        else:
            number = _read_integer(row, name, text)
            if row.error_code:
                return row
        setattr(row, name, number)
    return row


# Whole numbers of at most this many digits are below MAX_QUANTITY.
_SAFE_DIGITS = len(str(MAX_QUANTITY)) - 1


@dataclass(frozen=True)
class _Positions:
    """Where each known column sits in a header's records."""

    sku: int
    warehouse: int
    quantities: tuple[tuple[str, int], ...]
    numbers: tuple[tuple[str, int], ...]


@functools.lru_cache(maxsize=32)
def _positions(columns: tuple[str, ...]) -> _Positions:
    where = {name: index for index, name in enumerate(columns)}
    return _Positions(
        sku=where["sku"],
        warehouse=where["warehouse"],
        quantities=tuple((name, where[name]) for name in QUANTITY_COLUMNS if name in where),
        numbers=tuple(
            (name, where[name]) for name in QUANTITY_COLUMNS + SETTING_COLUMNS if name in where
        ),
    )


def _read_integer(row: ParsedRow, column: str, text: str) -> int | None:
    if not _INTEGER.match(text):
        if re.match(r"^[+-]?\d+$", text):
            row.fail(RowError.TOO_LARGE, column=column, value=text)
        else:
            row.fail(RowError.NOT_INTEGER, column=column, value=text)
        return None
    number = int(text)
    if number < 0 and column != "delta":
        row.fail(RowError.NEGATIVE, column=column, value=text)
        return None
    if abs(number) > MAX_QUANTITY:
        row.fail(RowError.TOO_LARGE, column=column, value=text)
        return None
    return number
