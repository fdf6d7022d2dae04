"""RFC 8785 canonical JSON: the RFC's own examples for key order and number formatting."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.audit.canonical import canonical_json
from sync.audit.errors import CanonicalJSONError


def test_keys_sort_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: the emoji (surrogates D83D DE00) sorts before U+FB33.
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    keys = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    order = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    expected = "{" + ",".join(f'"{k}":{order[k]}' for k in keys) + "}"
    assert canonical_json(value) == expected.replace("\r", "\\r").encode()


@pytest.mark.parametrize(("number", "text"), [
    (0.0, "0"), (-0.0, "0"), (1e21, "1e+21"), (1e-7, "1e-7"), (0.000001, "0.000001"),
    (333333333.3333333, "333333333.3333333"), (9007199254740991, "9007199254740991"),
    (4.5, "4.5"), (2e-3, "0.002"),
])
def test_numbers_are_written_as_ecmascript_does(number: float, text: str) -> None:
    # RFC 8785 section 3.2.2.3 and appendix B.
    assert canonical_json(number) == text.encode()


def test_no_whitespace_and_utf8_output() -> None:
    assert canonical_json({"b": [1, "é\n"], "a": None}) == '{"a":null,"b":[1,"é\\n"]}'.encode()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**60, {1, 2}, b"bytes"])
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json({"x": bad})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(value=json_values)
def test_fast_path_equals_the_reference_implementation(value: object) -> None:
    try:
        reference = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises(CanonicalJSONError):
            canonical_json(value)
        return
    assert canonical_json(value) == reference


@pytest.mark.parametrize("key", ["\U0001f600", "\ufb33", "\x7f", "\x1f", "\u2028"])
def test_keys_near_the_utf16_boundary_match_the_reference(key: str) -> None:
    value = {key: 1, "\ufb33x": 2, "\U0001f600x": 3, "\ue000": 4, "\x00": "\x00\x1f\x7f\u2028"}
    assert canonical_json(value) == rfc8785.dumps(value)
