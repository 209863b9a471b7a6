"""The text array dumper writes exactly what psycopg's writes, and PostgreSQL reads back every
value bulk-inserted through it."""

import psycopg
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.adapt import AdaptersMap, PyFormat, Transformer
from psycopg.types.array import ListDumper

from oms_project.models import EmailMessage
from oms_project.pg_arrays import ListTextDumper

TRICKY = ["", " ", "NULL", "null", "a,b", "{x}", 'say "hi"', "back\\slash", '\\"']
TRICKY += ["é\u3000", "\t\n"]


def dumped(dumper_class, value) -> bytes:
    adapters = AdaptersMap(psycopg.adapters)
    adapters.register_dumper(list, dumper_class)
    return bytes(Transformer(adapters).get_dumper(value, PyFormat.TEXT).dump(value))


# Text PostgreSQL can hold: no NUL, no lone surrogates (both dumpers refuse them alike).
texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"])),
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(st.none(), texts)),
        st.lists(st.lists(texts, min_size=2, max_size=2), min_size=1),
        st.lists(st.one_of(st.none(), st.integers())),
    )
)
def test_the_array_literal_is_psycopgs(value):
    assert dumped(ListTextDumper, value) == dumped(ListDumper, value)


def test_tricky_strings_are_quoted_and_escaped():
    assert dumped(ListTextDumper, ['say "hi"', "back\\slash", "NULL", None, "plain"]) == (
        b'{"say \\"hi\\"","back\\\\slash","NULL",NULL,plain}'
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_bulk_inserted_values_read_back_unchanged():
    connection.ensure_connection()
    assert connection.connection.adapters.get_dumper(list, PyFormat.TEXT) is ListTextDumper
    bodies = [*TRICKY, "<p class=\"a\">x</p>\\n" * 50]
    EmailMessage.objects.bulk_create(
        EmailMessage(to="a@example.com", template="t", subject=f"s{index}", body_text=body)
        for index, body in enumerate(bodies)
    )
    assert list(EmailMessage.objects.order_by("pk").values_list("body_text", flat=True)) == bodies
