"""Canonical JSON per RFC 8785 (JCS): the exact bytes an audit event is hashed as.

The serialisation itself is the ``rfc8785`` package (Trail of Bits): ECMAScript number
formatting (RFC 8785 section 3.2.2.3) and UTF-16 code-unit key order (section 3.2.3) are easy to
get subtly wrong, and that package is tested against the RFC's own vectors.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from sync.audit.errors import CanonicalJSONError


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value`` (dicts, lists, str, int, float, bool, None only)."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        # Integers beyond 2**53 and NaN/Infinity have no I-JSON form (RFC 8785 section 3.2.2.3).
        raise CanonicalJSONError(f"not canonical JSON: {exc}") from exc
    except TypeError as exc:
        raise CanonicalJSONError(f"not a JSON value: {exc}") from exc
