"""JSON text made fast: encoders built once, not once per call.

``json.dumps`` and ``JSONEncoder.encode`` build a new C encoder (and a dict to detect cycles)
on every call; an import of 100,000 people encodes about a million small values, so that
set-up was a third of their cost. ``encoder(**options)`` builds the C encoder once and writes
exactly what ``json.dumps(value, **options)`` writes (a cyclic value, which JSON cannot
hold anyway, fails with RecursionError instead of ValueError).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any


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
