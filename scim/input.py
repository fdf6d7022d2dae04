"""The input boundary: every byte a SCIM client sends is checked here before any parser,
store or database sees it, so hostile or sloppy input is a SCIM 400, never a 5xx.

* JSON bodies are strict UTF-8 (RFC 8259 8.1), at most ``MAX_JSON_DEPTH`` deep; ``NaN``,
  ``Infinity`` and numbers that overflow (``1e999``) are refused, as are integers longer
  than ``MAX_NUMBER_DIGITS`` (RFC 7643 2.3.4/2.3.5 allow neither non-finite nor unbounded).
* Every string (values and keys, in bodies, query parameters and the path) is a sequence
  of Unicode scalar values (no lone surrogates: "\\ud800" is legal JSON but no text) and
  holds no NUL, which PostgreSQL text cannot store.

The limits are advertised in ``/ServiceProviderConfig`` (``scim.discovery``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from scim.errors import InvalidSyntax, InvalidValue

# The deepest real SCIM body is a Bulk PATCH of a complex value: Bulk > Operations > op >
# data > Operations > op > value > attribute > element, about 10 levels.
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 64

NUL_MESSAGE = "text must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = "text must be Unicode scalar values: a lone surrogate (U+D800 to U+DFFF) is not text"
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def load_json(raw: bytes) -> Any:
    """A request body parsed and checked; ``InvalidSyntax`` or ``InvalidValue`` otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Includes surrogates encoded as bytes (ED A0 80): UTF-8 forbids them (RFC 3629 3).
        raise InvalidValue(f"the request body is not valid UTF-8 at byte {exc.start} (surrogates "
                           "encoded as bytes, such as ED A0 80, are not UTF-8 either)") from exc
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except RecursionError as exc:
        raise InvalidSyntax(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep") from exc
    except ValueError as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from exc
    check_json(body)
    return body


def _refuse_constant(name: str) -> Any:
    raise InvalidValue(f"{name} is not a JSON number (RFC 8259 6); SCIM values must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidValue(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidValue(f"a number may have at most {MAX_NUMBER_DIGITS} digits")
    return int(text)


def check_json(value: Any) -> None:
    """Refuse a parsed JSON value nested too deep or holding text that is not text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidSyntax(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def check_text(text: str) -> None:
    """Refuse a string with a NUL or a lone surrogate (``InvalidValue``)."""
    match = _BAD_TEXT.search(text)
    if match is not None:
        raise InvalidValue(NUL_MESSAGE if match.group() == "\x00" else SURROGATE_MESSAGE)
