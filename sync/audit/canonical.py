"""Canonical JSON per RFC 8785 (JCS): the exact bytes an audit event is hashed as.

The reference serialisation is the ``rfc8785`` package (Trail of Bits): ECMAScript number
formatting (RFC 8785 section 3.2.2.3) and UTF-16 code-unit key order (section 3.2.3) are easy
to get subtly wrong, and that package is tested against the RFC's own vectors. It is pure
Python, though (about 30 us an event), and verifying a million events must take seconds, so
values JCS and Python's C JSON encoder write identically take the fast path (see ``_plain``);
a property test holds the two paths equal.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from sync.audit.errors import CanonicalJSONError

# I-JSON's exact integer range (RFC 7493 section 2.2), which RFC 8785 section 3.2.2.3 assumes.
_MAX_SAFE_INTEGER = 2**53 - 1
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value`` (dicts, lists, str, int, float, bool, None only)."""
    if _plain(value):
        try:
            return _ENCODE(value).encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
            raise CanonicalJSONError(f"not canonical JSON: {exc}") from exc
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        # Integers beyond 2**53 and NaN/Infinity have no I-JSON form (RFC 8785 section 3.2.2.3).
        raise CanonicalJSONError(f"not canonical JSON: {exc}") from exc
    except (TypeError, UnicodeEncodeError) as exc:
        raise CanonicalJSONError(f"not a JSON value: {exc}") from exc


def _plain(value: Any) -> bool:
    """True when Python's compact, key-sorted, non-ASCII JSON equals JCS for ``value``.

    They agree on strings (both escape only ``"``, ``\\`` and controls, with the short forms
    and lowercase ``\\u00xx``), on booleans, null and safe integers. They differ on floats
    (RFC 8785 section 3.2.2.3), and on key order only when a key holds a character beyond
    U+FFFF (UTF-16 surrogates sort below U+E000..U+FFFF, section 3.2.3).
    """
    kind = type(value)  # exact types: a str or int subclass takes the reference path
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain(item):
                return False
            if not key.isascii() and max(key) >= "\U00010000":
                return False
        return True
    if kind is list:
        return all(map(_plain, value))
    return False
