"""JSON text made fast: encoders built once, not once per call.

``json.dumps`` and ``JSONEncoder.encode`` build a new C encoder (and a dict to detect cycles)
on every call; an import of 100,000 people encodes about a million small values, so that
set-up was a third of their cost. ``encoder(**options)`` builds the C encoder once and writes
exactly what ``json.dumps(value, **options)`` writes (a cyclic value, which JSON cannot
hold anyway, fails with RecursionError instead of ValueError).

``stored(value)`` is JSON text only ever stored and read back as a value, never hashed:
orjson writes it (several times faster) where its text reads back as exactly the value
``dumps`` would have stored, in the same key order; hashed text never comes from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import orjson


def encoder(**options: Any) -> Callable[[Any], str]:
    """``json.dumps(value, **options)`` as a function of the value (no ``indent``)."""
    base = json.JSONEncoder(check_circular=False, **options)
    if c_make_encoder is None or base.indent is not None:  # no C accelerator: the plain path
        return base.encode
    escape = encode_basestring_ascii if base.ensure_ascii else encode_basestring
    make = c_make_encoder(None, base.default, escape, base.indent, base.key_separator,
                          base.item_separator, base.sort_keys, base.skipkeys, base.allow_nan)
    join = "".join

    def encode(value: Any) -> str:
        return join(make(value, 0))

    return encode


# The text SQLAlchemy's JSON type stores on SQLite (json.dumps with its defaults).
dumps = encoder()


# Exact types whose orjson text reads back as json.dumps's does: no float (orjson writes NaN
# and Infinity as null), no subclass (passed through to the fallback), no nesting to check.
_FLAT = frozenset({str, int, bool, type(None)})
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def stored(value: Any, plain: bool = False) -> str:
    """JSON text of ``value`` for a column that stores it as a value (never hashed): what
    ``json.loads(dumps(value))`` gives, read back in the same key order.

    orjson writes a flat dict (text keys; text, integer, boolean or null values), or any
    value when ``plain`` says the caller has checked it holds only text keys, text, integers
    within 2**63, booleans, null and lists of text. Anything else, or anything orjson refuses
    (a lone surrogate, an integer beyond 64 bits, a non-text key), is ``dumps``'s.
    """
    if plain or type(value) is dict and _FLAT.issuperset(map(type, value.values())):
        try:
            return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            pass
    return dumps(value)
