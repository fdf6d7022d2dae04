"""Bytes of an HR export -> text, without ever guessing.

Real exports come as UTF-8 (Excel on Windows adds a BOM), UTF-16 with a BOM (Excel's
"Unicode text"), or a legacy encoding the source's configuration names. A BOM decides;
otherwise the configured encoding (UTF-8 by default). Bytes that do not decode are not
replaced silently: the line they are on is reported, so the row is rejected with its number
instead of importing mojibake.
"""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass, field

from sync.sources.errors import SourceConfigError

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class DecodedText:
    """The text, the encoding used, and the 1-based lines holding bytes that did not decode."""

    text: str
    encoding: str
    bad_lines: dict[int, str] = field(default_factory=dict)


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise SourceConfigError(
            f"unknown encoding {name!r}: use a Python codec name such as utf-8, cp1252 or latin-1"
        ) from exc


def decode_feed(data: bytes, encoding: str = "utf-8") -> DecodedText:
    """Decode ``data``: a BOM wins over ``encoding``; the fast path decodes in one go."""
    codec = check_encoding(encoding)
    for bom, name in _BOMS:
        if data.startswith(bom):
            codec, data = name, data[len(bom):]
            break
    try:
        return DecodedText(data.decode(codec), codec)
    except UnicodeDecodeError:
        return _decode_with_errors(data, codec)


def _decode_with_errors(data: bytes, codec: str) -> DecodedText:
    """One pass: each undecodable byte run becomes U+FFFD and its line is noted, so every
    row touching such a line is rejected by the reader (never imported as mojibake)."""
    _runs.found = runs = []
    text = data.decode(codec, _HANDLER)
    return DecodedText(text, codec, _bad_lines(data, codec, runs))


def _bad_lines(data: bytes, codec: str, runs: list[tuple[int, int]]) -> dict[int, str]:
    newline = "\n".encode(codec)
    bad: dict[int, str] = {}
    line, counted = 1, 0
    for start, end in runs:
        line += data.count(newline, counted, start)
        counted = start
        bad.setdefault(line, f"bytes {data[start:end].hex(' ')} are not valid {codec}")
    return bad


def _mark(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    _runs.found.append((exc.start, exc.end))
    return "\ufffd", exc.end


# Codec error handlers are registered by name, process-wide; the runs they note are kept
# per thread so two imports decoding at once do not mix them up.
_runs = threading.local()
_HANDLER = "hr2bi-feed-decoding"
codecs.register_error(_HANDLER, _mark)
