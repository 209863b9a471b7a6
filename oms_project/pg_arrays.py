"""Array parameters in text format without a regular-expression substitution per character.

Django binds parameters client-side and bulk-inserts several rows on PostgreSQL as one array
per column (`INSERT ... SELECT * FROM UNNEST(...)`), so every value of a batch goes through
psycopg's text array dumper. That dumper escapes quotes and backslashes with a regular
expression whose replacement template is expanded per match: an HTML e-mail body has hundreds,
and this escaping alone was a fifth of bulk order creation's time. `ListTextDumper` builds the
same array literal with `bytes.replace`; `tests/oms_project/test_pg_arrays.py` checks it
against psycopg's own dumper. It is registered on every new PostgreSQL connection.
"""

from typing import Any

from psycopg.types.array import ListDumper


class ListTextDumper(ListDumper):
    """psycopg's text-format list dumper with plain byte replacements for the escaping."""

    def _dump_list(self, obj: list[Any], tokens: list, needs_quotes) -> None:
        if not obj:
            tokens.append(b"{}")
            return
        dump = self.sub_dumper.dump if self.sub_dumper else self._dump_item
        delimiter = self.delimiter
        tokens.append(b"{")
        for item in obj:
            if item is None:
                tokens.append(b"NULL")
            elif isinstance(item, list):
                self._dump_list(item, tokens, needs_quotes)
            else:
                value = dump(item)
                if value is None:
                    tokens.append(b"NULL")
                elif needs_quotes(value):
                    value = bytes(value).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                    tokens.append(b'"' + value + b'"')
                else:
                    tokens.append(value)
            tokens.append(delimiter)
        tokens[-1] = b"}"


def register_on_connection(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: use `ListTextDumper` on a new PostgreSQL connection."""
    if connection.vendor == "postgresql":
        connection.connection.adapters.register_dumper(list, ListTextDumper)
