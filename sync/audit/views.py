"""Views derived from the verified events: CSV, OCSF and CEF. Pure functions of the events,
so ``verify`` can rebuild each view and require it byte-for-byte."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sync.audit.events import (
    REQUIRED_FIELDS,
    event_millis,
    outcome_status,
    target_kind,
    target_label,
)

OCSF_VERSION = "1.1.0"
PRODUCT = {"name": "hr2bi", "vendor_name": "hr2bi"}
IAM_CATEGORY = 3  # OCSF category "Identity & Access Management"
ACCOUNT_CHANGE, GROUP_MANAGEMENT = 3001, 3006
_USER_KINDS = {"user", "account", "person", "scim_user"}
_GROUP_KINDS = {"group", "scim_group", "role"}
# OCSF 1.1 activity ids, keyed by the last dotted part of our action ("user.disable").
_ACCOUNT_ACTIVITIES = {"create": (1, "Create"), "enable": (2, "Enable"),
                       "disable": (5, "Disable"), "delete": (6, "Delete")}
_GROUP_ACTIVITIES = {"add_member": (3, "Add User"), "remove_member": (4, "Remove User"),
                     "delete": (5, "Delete"), "create": (6, "Create")}


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
    """The OCSF Account Change (3001) or Group Management (3006) event, or None when the
    event is about neither an account nor a group (imports, tokens, configuration).
    ``millis`` is the event's time if the caller has it already (see ``event_millis``)."""
    kind, verb = target_kind(event), str(event["action"]).rsplit(".", 1)[-1]
    if kind in _USER_KINDS:
        class_uid, class_name, table = ACCOUNT_CHANGE, "Account Change", _ACCOUNT_ACTIVITIES
    elif kind in _GROUP_KINDS:
        class_uid, class_name, table = GROUP_MANAGEMENT, "Group Management", _GROUP_ACTIVITIES
    else:
        return None
    activity_id, activity_name = table.get(verb, (99, "Other"))
    status_id, status = outcome_status(event["outcome"])
    record: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": IAM_CATEGORY,
        "category_name": "Identity & Access Management",
        "class_uid": class_uid,
        "class_name": class_name,
        "type_uid": class_uid * 100 + activity_id,  # OCSF: class_uid * 100 + activity_id
        "time": event_millis(event) if millis is None else millis,
        "severity_id": 1 if status_id != 2 else 3,  # Informational; a failure is Medium
        "status_id": status_id,
        "status": status,
        "message": str(event["action"]),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {**PRODUCT, "version": product_version},
            "uid": str(event["seq"]),
            "sequence": event["seq"],
        },
        "actor": {"user": {"name": str(event["actor"])}},
        "unmapped": {k: event[k] for k in ("before", "after", "reason", "run", "target")},
    }
    _add_subjects(record, event, class_uid)
    return record


def _add_subjects(record: dict[str, Any], event: Mapping[str, Any], class_uid: int) -> None:
    # 3001 requires ``user``; 3006 requires ``group`` and carries the member as ``user``.
    target = event["target"]
    name = target_label(target) or "unknown"
    if class_uid == ACCOUNT_CHANGE:
        record["user"] = {"name": name}
        return
    record["group"] = {"name": name}
    member = target.get("member") if isinstance(target, Mapping) else None
    record["user"] = {"name": target_label(member) or "unknown"}


def render_ocsf(
    events: Sequence[Mapping[str, Any]], product_version: str, millis: Sequence[int] | None = None
) -> bytes:
    times = millis if millis is not None else [event_millis(event) for event in events]
    records = (ocsf_event(e, product_version, t) for e, t in zip(events, times, strict=True))
    lines = [_ocsf_text(r) for r in records if r]
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


def cef_event(
    event: Mapping[str, Any],
    product_version: str,
    texts: EventTexts | None = None,
    millis: int | None = None,
) -> str:
    """One CEF line: the seven header fields, then the extension (labels are constants,
    so only the values are escaped)."""
    text = texts if texts is not None else event_texts(event)
    status_id, _ = outcome_status(event["outcome"])
    action, value = cef_header(event["action"]), cef_value
    header = (f"CEF:0|hr2bi|hr2bi|{cef_header(product_version)}|{action}|{action}|"
              f"{7 if status_id == 2 else 3}")
    rt = event_millis(event) if millis is None else millis
    return (f"{header}|rt={rt} externalId={value(text['seq'])} suser={value(text['actor'])} "
            f"act={value(text['action'])} outcome={value(text['outcome'])} "
            f"cs1Label=target cs1={value(text['target'])} cs2Label=run cs2={value(text['run'])} "
            f"cs3Label=reason cs3={value(text['reason'])} "
            f"cs4Label=before cs4={value(text['before'])} cs5Label=after cs5={value(text['after'])}")


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
