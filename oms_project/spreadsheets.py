"""CSV that is safe to open in a spreadsheet, streamed so big exports never sit in memory."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value) -> str:
    """Quote a cell that a spreadsheet would run as a formula (= + - @ tab CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def formula_quote_removed(value):
    """Undo `neutralise_formula` on a cell read back: a leading quote before a formula
    character goes, so a file this OMS exported imports back unchanged."""
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream_response(*, filename: str, header: Iterable[str],
                        rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """Stream `rows` as a CSV download, every cell formula-safe, the header first."""
    writer = csv.writer(_Echo())

    def generate():
        yield "\ufeff" + writer.writerow(list(header))
        for row in rows:
            yield writer.writerow([neutralise_formula(cell) for cell in row])

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
