"""A person's document text is used as its audit event's hashed RFC 8785 bytes only when it
is exactly those bytes (the reference is sync.audit.canonical, itself held to rfc8785)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sync.audit.canonical import canonical_json
from sync.people.document import rfc8785_text

VALUES = (st.none() | st.booleans() | st.text() | st.integers(min_value=-2**60, max_value=2**60)
          | st.floats(allow_nan=False) | st.lists(st.text() | st.integers(), max_size=3))


def sorted_text(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(st.dictionaries(st.text(), VALUES, max_size=20))
def test_the_text_is_taken_only_when_it_is_the_rfc8785_bytes(document):
    text = sorted_text(document)
    found = rfc8785_text(document, text)
    assert found is None or found == canonical_json(document)


def test_what_sorted_json_writes_otherwise_is_refused():
    for document in [{"n": 2**53}, {"n": -2**53}, {"x": 1.5}, {"é": "a"}, {"l": ["a", 1]}, {"t": ("a",)}]:
        assert rfc8785_text(document, sorted_text(document)) is None
    plain = {"b": ["x", "y"], "a": 2**53 - 1, "c": None, "d": True, "e": "zoë"}
    assert rfc8785_text(plain, sorted_text(plain)) == canonical_json(plain)
