"""Views derived from the verified events: CSV, OCSF and CEF. Pure functions of the events,
so ``verify`` can rebuild each view and require it byte-for-byte."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sync.audit.events import REQUIRED_FIELDS, event_millis, outcome_status
from sync.audit.ocsf import OCSF_VERSION, ocsf_records

__all__ = ["OCSF_VERSION", "ocsf_event", "ocsf_records", "render_views"]

def _encoder(item_separator: str, key_separator: str) -> Callable[[Any], str]:
    """A JSON encoder (non-ASCII kept, keys sorted) built once and reused.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which is most of its cost
    on small values; verify renders about seven values an event, a million events at a
    time. The C encoder is reusable when it keeps no circular-reference markers (values
    here come from JSON, so they have no cycles); without the C module, the plain path."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(item_separator, key_separator),
                             sort_keys=True).encode
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return plain
    encode = c_make_encoder(None, None, encode_basestring, None, key_separator,
                            item_separator, True, False, True)

    def text(value: Any) -> str:
        if value is None:  # run, before and reason are often null; seq always an int
            return "null"
        if type(value) is int:  # not bool, whose JSON is true/false
            return str(value)
        if isinstance(value, str):  # the C encoder returns a bare string unwrapped
            return plain(value)
        return "".join(encode(value, 0))

    return text


# Non-text values in CSV and CEF cells: compact JSON with sorted keys. Deterministic, which
# is all a rebuilt view needs (the hashed form of an event is RFC 8785, see canonical.py).
_json_text = _encoder(",", ":")
# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ocsf_text = _encoder(", ", ": ")  # json.dumps(record, ensure_ascii=False, sort_keys=True)


EventTexts = dict[str, str | None]


def event_texts(event: Mapping[str, Any]) -> EventTexts:
    """Every required field as text (None stays None), encoded once for all the views."""
    return {
        name: value if value is None or isinstance(value, str) else _json_text(value)
        for name, value in ((name, event[name]) for name in REQUIRED_FIELDS)
    }


def csv_cell(value: Any) -> str:
    """One cell: text as is, other values as compact JSON; formulas neutralised."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else _json_text(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def render_csv(
    events: Sequence[Mapping[str, Any]],
    texts: Sequence[EventTexts] | None = None,
    *,
    header: bool = True,
) -> bytes:
    """The CSV rows of ``events``; ``header=False`` for a batch after the first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends
    if header:
        writer.writerow(REQUIRED_FIELDS)
    for fields in texts if texts is not None else map(event_texts, events):
        writer.writerow([csv_cell(fields[name]) for name in REQUIRED_FIELDS])
    return out.getvalue().encode()


def ocsf_event(
    event: Mapping[str, Any], product_version: str, millis: int | None = None
) -> dict[str, Any] | None:
    """The first OCSF record of ``event`` (see ``sync.audit.ocsf``), or None when the event
    is left out of the OCSF view."""
    records = ocsf_records(event, product_version, millis)
    return records[0] if records else None


def render_ocsf(
    events: Sequence[Mapping[str, Any]], product_version: str, millis: Sequence[int] | None = None
) -> bytes:
    times = millis if millis is not None else [event_millis(event) for event in events]
    lines = [_ocsf_text(record) for e, t in zip(events, times, strict=True)
             for record in ocsf_records(e, product_version, t)]
    return "".join(line + "\n" for line in lines).encode()


def cef_header(value: Any) -> str:
    """ArcSight CEF header field: escape backslash and pipe; line breaks become spaces."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def cef_value(value: Any) -> str:
    """CEF extension value: escape backslash and equals sign; line breaks as \\n / \\r."""
    text = value if isinstance(value, str) else _json_text(value)
    text = text.replace("\\", "\\\\").replace("=", "\\=")
    if "\n" not in text and "\r" not in text:  # the common case: skip three scans
        return text
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


# Field lengths of the ArcSight CEF specification ("Implementing ArcSight CEF", the
# extension dictionary): a longer value is cut by the receiver, or the line refused.
CEF_LIMITS = {"act": 63, "externalId": 40, "suser": 1023, "outcome": 63, "cs1": 4000,
              "cs2": 4000, "cs3": 4000, "cs4": 4000, "cs5": 4000}
CEF_NAME_LIMIT, CEF_SIGNATURE_LIMIT = 512, 1023  # header: Name, Signature ID
TRUNCATED = "...[truncated]"
_CEF_FIELDS = (("externalId", "seq"), ("suser", "actor"), ("act", "action"), ("outcome", "outcome"),
               ("cs1", "target"), ("cs2", "run"), ("cs3", "reason"), ("cs4", "before"),
               ("cs5", "after"))
_CS_LABELS = {"cs1": "target", "cs2": "run", "cs3": "reason", "cs4": "before", "cs5": "after"}


def cef_fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with ``TRUNCATED``. The limit is
    on the value, before CEF escaping (which a receiver undoes before it counts)."""
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def cef_event(
    event: Mapping[str, Any],
    product_version: str,
    texts: EventTexts | None = None,
    millis: int | None = None,
) -> str:
    """One CEF line: the seven header fields, then the extension (labels are constants,
    so only the values are escaped). A value longer than its CEF field is cut, and
    ``cs6`` (label ``truncated``) names the fields cut; the whole value is in events.jsonl."""
    text = texts if texts is not None else event_texts(event)
    status_id, _ = outcome_status(event["outcome"])
    action = str(event["action"])
    header = (f"CEF:0|hr2bi|hr2bi|{cef_header(cef_fit(product_version, 63))}|"
              f"{cef_header(cef_fit(action, CEF_SIGNATURE_LIMIT))}|"
              f"{cef_header(cef_fit(action, CEF_NAME_LIMIT))}|{7 if status_id == 2 else 3}")
    rt = event_millis(event) if millis is None else millis
    parts, cut = [f"rt={rt}"], []
    for key, name in _CEF_FIELDS:
        if key in _CS_LABELS:
            parts.append(f"{key}Label={_CS_LABELS[key]}")
        value = text[name]
        if value is None:  # JSON null, as in the other views
            value = "null"
        if len(value) > CEF_LIMITS[key]:
            value = cef_fit(value, CEF_LIMITS[key])
            cut.append(key)
        parts.append(f"{key}={cef_value(value)}")
    if cut:
        parts.append(f"cs6Label=truncated cs6={','.join(cut)}")
    return f"{header}|{' '.join(parts)}"


def render_cef(
    events: Sequence[Mapping[str, Any]],
    product_version: str,
    texts: Sequence[EventTexts] | None = None,
    millis: Sequence[int] | None = None,
) -> bytes:
    texts = texts if texts is not None else [event_texts(event) for event in events]
    times = millis if millis is not None else [event_millis(event) for event in events]
    lines = (cef_event(e, product_version, t, m)
             for e, t, m in zip(events, texts, times, strict=True))
    return "".join(line + "\n" for line in lines).encode()


VIEW_FILES = ("events.csv", "events.ocsf.jsonl", "events.cef")


def render_views(
    events: Sequence[Mapping[str, Any]], product_version: str, *, header: bool = True
) -> dict[str, bytes]:
    """Every view of ``events``. Views are line-wise, so a long log is rendered batch by
    batch and the batches concatenated (``header=False`` after the first)."""
    texts = [event_texts(event) for event in events]
    millis = [event_millis(event) for event in events]
    return {
        "events.csv": render_csv(events, texts, header=header),
        "events.ocsf.jsonl": render_ocsf(events, product_version, millis),
        "events.cef": render_cef(events, product_version, texts, millis),
    }
