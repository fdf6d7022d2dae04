"""A person as stored: person fields as JSON values, and the hash that detects change.

Pure. The hash covers what the planner acts on — every mapped field after merging and the
lifecycle verdict — and nothing incidental (run ids, timestamps, column order), so the same
feed imported twice changes no hash.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sync.jsontext import encoder
from sync.people.lifecycle import Standing, decide, review_on

_PLAIN = frozenset({str, int, bool, float, type(None)})
# Built once (see sync.jsontext): json.dumps builds a new encoder per call, 100,000 times an import.
# The output is exactly json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# so stored hashes stay valid.
_CANONICAL = encoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    return value


def person_document(fields: Mapping[str, Any], standing: Standing) -> dict[str, Any]:
    """The merged fields as JSON, with ``employment_status`` set to the lifecycle verdict."""
    # Most values are already JSON (text, numbers, None): only dates, decimals and lists convert.
    document = {name: value if type(value) in _PLAIN else json_value(value) for name, value in fields.items()}
    if "employment_status" in document:
        document["employment_status"] = standing.state
    return document


def content_hash(document: Mapping[str, Any], standing: Standing) -> str:
    return _hash(_CANONICAL(document), standing)


def _hash(document_text: str, standing: Standing) -> str:
    """The hash of {"fields": document, "provision_from": ..., "state": ...} in canonical
    text, put together from the document's own (sorted keys: the members in that order)."""
    canonical = (f'{{"fields":{document_text},"provision_from":{_member_text(standing.provision_from)},'
                 f'"state":{_member_text(standing.state)}}}')
    return hashlib.sha256(canonical.encode()).hexdigest()


@functools.lru_cache(maxsize=4096, typed=True)
def _member_text(value: dt.date | str | None) -> str:
    """A verdict's state or provision date in canonical text: a few thousand distinct values
    across an import's people, each encoded once."""
    return _CANONICAL(json_value(value))


def rfc8785_text(document: Mapping[str, Any], text: str) -> bytes | None:
    """The document's canonical ``text`` as RFC 8785 bytes (for its audit event), when it is
    exactly that: a document holds text, null, booleans, integers and lists of text, which
    sorted compact JSON writes as RFC 8785 does, but an integer beyond 2**53 (section
    3.2.2.3) and a field name beyond U+FFFF (section 3.2.3: UTF-16 order) it does not."""
    values = document.values()
    kinds = set(map(type, values))  # the walks below run only for kinds the document holds
    if not kinds <= _JCS_SAME or not "".join(document).isascii():
        return None
    if int in kinds and any(type(v) is int and not -_MAX_SAFE <= v <= _MAX_SAFE for v in values):
        return None
    if list in kinds and any(type(v) is list and any(type(item) is not str for item in v) for v in values):
        return None
    return text.encode()


_MAX_SAFE = 2**53 - 1
_JCS_SAME = frozenset({str, int, bool, list, type(None)})


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field -> [before, after] for every field whose value differs."""
    names = dict.fromkeys([*before, *after])
    return {n: [before.get(n), after.get(n)] for n in names if before.get(n) != after.get(n)}


@dataclass(frozen=True, slots=True)
class Built:
    """A person's stored form from their merged fields: document, verdict, hash, next review."""

    document: dict[str, Any]
    standing: Standing
    content_hash: str
    review_on: dt.date | None
    text: str  # the document's canonical text (what the hash covers)


def build(fields: Mapping[str, Any], today: dt.date, lead_days: int) -> Built:
    standing = decide(fields, today, lead_days)
    document = person_document(fields, standing)
    text = _CANONICAL(document)
    return Built(document, standing, _hash(text, standing), review_on(fields, standing, today), text)
