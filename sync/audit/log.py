"""Writing the audit log: one event per decision, in the caller's transaction.

``record_event`` is called inside the same session (so the same database transaction) as
the decision it records: if the decision rolls back, so does its event, and neither can
exist without the other. Sequence numbers are gapless: on PostgreSQL the table is locked
for the rest of the transaction while the next number is taken (writers queue, readers
do not wait); SQLite already allows one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from sync.audit.canonical import canonical_json
from sync.audit.events import event_leaf_hash
from sync.audit.merkle import leaf_hash
from sync.bulk import EncodedJSON, bulk_insert
from sync.models import AuditEvent, utcnow

SUCCESS = "success"
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
# Statements built once (compiled forms are cached; building them costs more than running them).
_INSERT = insert(EVENTS)
_MAX_SEQ = select(func.max(AuditEvent.seq))


@dataclass(frozen=True)
class Event:
    """One event to append with :func:`record_events` (the fields of :func:`record_event`)."""

    actor: str
    action: str
    target: Mapping[str, Any]
    before: Any = None
    after: Any = None
    reason: Any = None
    run: int | None = None
    outcome: str = SUCCESS


@dataclass(frozen=True, slots=True)
class EncodedValue:
    """An event's ``after`` handed over with both its texts, by a caller that made them anyway
    (an import encodes each new person's fields for the people table): ``canonical`` is its
    RFC 8785 text, exactly as ``canonical_json`` writes it (the hashed form); ``stored`` its
    text as its JSON column stores it. ``record_events`` writes them as they are."""

    canonical: bytes
    stored: EncodedJSON


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    target: Mapping[str, Any],
    before: Any = None,
    after: Any = None,
    reason: Any = None,
    run: int | None = None,
    outcome: str = SUCCESS,
) -> dict[str, Any]:
    """Append one event and return it as exported (the dict its leaf hash is over).

    A Core insert on the transaction's connection, not an ORM object and a flush: the
    event is written at once all the same, at a third of the cost (bench/audit_verify.py)."""
    values = _row(_next_seq(session), utcnow(), Event(actor, action, target, before, after,
                                                      reason, run, outcome))
    session.connection().execute(_INSERT, values)
    return exported_event(values)


def record_events(session: Session, events: Iterable[Event]) -> int:
    """Append many events in the caller's transaction with a few statements (an import's
    per-person events): one lock, one sequence read, batched inserts through the driver
    (``bulk_insert``: COPY on PostgreSQL; the same stored values as the Core insert of
    ``record_event``, at a fraction of the cost). Returns the count.

    The rows are made as they are written, so ``events`` must not use the session (the
    importer's are made from decisions already taken): on PostgreSQL they stream into one
    COPY, hashed here while the server stores the ones before."""
    rows = _Rows(_next_seq(session), utcnow())
    bulk_insert(session, EVENTS, map(rows.row, events))
    return rows.count


def _row(seq: int, now: dt.datetime, event: Event) -> dict[str, Any]:
    """The events-table row of ``event``, its leaf hash computed over its exported form."""
    values = {"seq": seq, "time": now, "actor": event.actor, "action": event.action,
              "target": dict(event.target), "before": event.before, "after": event.after,
              "reason": event.reason, "run_id": event.run, "outcome": event.outcome}
    values["leaf_hash"] = event_leaf_hash(exported_event(values)).hex()
    return values


class _Rows:
    """The rows of one ``record_events`` call, numbered from ``seq``, all at ``now``.

    An event's hashed bytes are its exported form's RFC 8785 text put together from its
    members' texts: JCS writes an object's members sorted by name, each value on its own
    (RFC 8785 section 3.2.3), so the parts joined in name order are exactly
    ``event_bytes(exported_event(row))``. Values that repeat across an import's events
    (actor, action, outcome, the reason, null) are encoded once."""

    def __init__(self, seq: int, now: dt.datetime) -> None:
        self.seq, self.now, self.count = seq, now, 0
        self.time = canonical_json(_iso(now))
        self.texts: dict[Any, bytes] = {}

    def row(self, event: Event) -> dict[str, Any]:
        seq = self.seq + self.count
        self.count += 1
        target = dict(event.target)
        text = self.text
        after = event.after
        if type(after) is EncodedValue:
            after_text, after = after.canonical, after.stored
        else:
            after_text = text(after)
        hashed = b"".join((
            b'{"action":', text(event.action), b',"actor":', text(event.actor),
            b',"after":', after_text, b',"before":', text(event.before),
            b',"outcome":', text(event.outcome), b',"reason":', text(event.reason),
            b',"run":', text(event.run), b',"seq":', str(seq).encode() if seq <= _SAFE_SEQ else canonical_json(seq),
            b',"target":', canonical_json(target), b',"time":', self.time, b"}"))
        return {"seq": seq, "time": self.now, "actor": event.actor, "action": event.action,
                "target": target, "before": event.before, "after": after,
                "reason": event.reason, "run_id": event.run, "outcome": event.outcome,
                "leaf_hash": leaf_hash(hashed).hex()}

    def text(self, value: Any) -> bytes:
        """The canonical text of ``value``, remembered when it is a flat value or object."""
        key = _memo_key(value)
        if key is None:
            return canonical_json(value)
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = canonical_json(value)
        return found


def _memo_key(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return (kind, value)
    if kind is dict and len(value) <= _SMALL and all(type(v) in _FLAT for v in value.values()):
        return (dict, tuple(value.items()))
    return None  # large or nested (a person's fields): rarely repeated


# A sequence number is a positive integer: RFC 8785 writes it in plain digits up to 2**53 - 1.
_SAFE_SEQ = 2**53 - 1
_SMALL = 8  # members: a reason or a target, not a person's fields
# Not bool: True == 1, so {"x": True} and {"x": 1} would share a key and a text.
_FLAT = frozenset({str, int, type(None)})


def lock_log(session: Session) -> None:
    """Queue this transaction behind any other appending to the log (until it ends).
    PostgreSQL needs the table lock; SQLite already allows one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))


def _next_seq(session: Session) -> int:
    # Flush first: an event added to this session but not yet written holds a number too.
    session.flush()
    lock_log(session)
    return (session.connection().scalar(_MAX_SEQ) or 0) + 1


def as_exported(row: Any) -> dict[str, Any]:
    """The event dict of a stored row (an ``AuditEvent`` or a result row), as it was hashed."""
    return exported_event({name: getattr(row, name) for name in _COLUMNS})


def exported_event(values: Mapping[str, Any]) -> dict[str, Any]:
    """The event dict of an events-table row given as column -> value: the one definition
    of the hashed form, shared by appending and exporting."""
    return {
        "seq": values["seq"], "time": _iso(values["time"]), "actor": values["actor"],
        "action": values["action"], "target": values["target"], "before": values["before"],
        "after": values["after"], "reason": values["reason"], "run": values["run_id"],
        "outcome": values["outcome"],
    }


_COLUMNS = ("seq", "time", "actor", "action", "target", "before", "after", "reason", "run_id",
            "outcome")


def _iso(value: dt.datetime) -> str:
    # SQLite returns naive datetimes: every stored time is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")
