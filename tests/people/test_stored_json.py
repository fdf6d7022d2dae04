"""``sync.jsontext.stored``: the text of a value only stored, never hashed, reads back as
exactly the value ``json.dumps`` would have stored, in the same key order, whatever it holds."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sync.jsontext import dumps, stored

TEXT = st.text()  # lone surrogates included: orjson refuses them, dumps writes them
SCALARS = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | TEXT
FLOATS = st.floats(allow_nan=True, allow_infinity=True)


def read_back(text: str) -> object:
    return json.loads(text, object_pairs_hook=list)  # keeps key order in the comparison


@given(st.dictionaries(TEXT, SCALARS | FLOATS | st.lists(TEXT) | st.dictionaries(TEXT, SCALARS), max_size=25))
def test_a_dict_reads_back_as_dumps_stores_it(value):
    assert read_back(stored(value)) == read_back(dumps(value))


@given(st.dictionaries(TEXT.filter(lambda s: s.isascii()), st.none() | st.booleans() | TEXT
                       | st.integers(min_value=-2**53, max_value=2**53) | st.lists(TEXT), max_size=25))
def test_a_plain_document_reads_back_as_dumps_stores_it(value):
    assert read_back(stored(value, plain=True)) == read_back(dumps(value))


def test_values_orjson_would_change_or_refuse_take_the_standard_path():
    for value in [{"x": float("nan")}, {"x": float("inf")}, {1: "a"}, {"x": 2**64}, {"x": "\ud800"},
                  ["a", 1.5], "text", None]:
        assert stored(value) == dumps(value)
