"""An audit event as the bundle sees it: a JSON object with the fields the issue lists.

Events arrive as plain dicts (from the events table, or from a bundle's ``events.jsonl``);
required fields are read with ``event["x"]`` so a malformed event fails loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sync.audit.canonical import canonical_json
from sync.audit.errors import EventError
from sync.audit.merkle import leaf_hash

REQUIRED_FIELDS = (
    "seq", "time", "actor", "action", "target", "before", "after", "reason", "run", "outcome",
)
_SUCCESS = {"success", "succeeded", "ok", "applied", "done"}
_FAILURE = {"failure", "failed", "error", "rejected", "denied", "quarantined"}


def check_event(event: Mapping[str, Any]) -> None:
    """Raise EventError unless ``event`` has every required field with a usable type."""
    missing = [name for name in REQUIRED_FIELDS if name not in event]
    if missing:
        raise EventError(f"event {event.get('seq', '?')} lacks {', '.join(missing)}")
    if not isinstance(event["seq"], int) or isinstance(event["seq"], bool) or event["seq"] < 1:
        raise EventError(f"event seq must be a positive integer, not {event['seq']!r}")
    event_millis(event)


def event_bytes(event: Mapping[str, Any]) -> bytes:
    """The RFC 8785 bytes that are hashed into the log: the Merkle leaf is over these."""
    return canonical_json(dict(event))


def event_leaf_hash(event: Mapping[str, Any]) -> bytes:
    return leaf_hash(event_bytes(event))


def event_millis(event: Mapping[str, Any]) -> int:
    """The event's time as Unix milliseconds (OCSF ``time``, CEF ``rt``)."""
    value = event["time"]
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise EventError(f"event {event['seq']}: time {value!r} is not ISO 8601") from exc
    if when.tzinfo is None:
        raise EventError(f"event {event['seq']}: time {value!r} has no timezone")
    return int(when.timestamp() * 1000)


def target_kind(event: Mapping[str, Any]) -> str | None:
    """"user", "group", ... from ``{"type": ...}``, ``"type:id"`` or the action's prefix."""
    target = event["target"]
    if isinstance(target, Mapping) and isinstance(target.get("type"), str):
        return target["type"]
    if isinstance(target, str) and ":" in target:
        return target.split(":", 1)[0]
    action = event["action"]
    return action.split(".", 1)[0] if isinstance(action, str) and "." in action else None


def target_label(value: Any) -> str | None:
    """A human name for a target or member: its name, else id, else its text."""
    if isinstance(value, Mapping):
        for key in ("name", "userName", "displayName", "id", "uid"):
            if isinstance(value.get(key), str | int):
                return str(value[key])
        return None
    if isinstance(value, str):
        return value.split(":", 1)[1] if ":" in value else value
    return None


def outcome_status(outcome: Any) -> tuple[int, str]:
    """OCSF status_id and status: 1 Success, 2 Failure, 99 Other."""
    text = str(outcome)
    if text.lower() in _SUCCESS:
        return 1, "Success"
    if text.lower() in _FAILURE:
        return 2, "Failure"
    return 99, text
