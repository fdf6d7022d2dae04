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

from sync.audit.events import event_leaf_hash
from sync.bulk import bulk_insert
from sync.models import AuditEvent, utcnow

SUCCESS = "success"
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
BATCH = 5000  # rows per executemany
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
    ``record_event``, at a fraction of the cost). Returns the count."""
    seq = _next_seq(session)
    now = utcnow()
    batch: list[dict[str, Any]] = []
    count = 0
    for event in events:
        batch.append(_row(seq + count, now, event))
        count += 1
        if len(batch) >= BATCH:
            bulk_insert(session, EVENTS, batch)
            batch = []
    bulk_insert(session, EVENTS, batch)
    return count


def _row(seq: int, now: dt.datetime, event: Event) -> dict[str, Any]:
    """The events-table row of ``event``, its leaf hash computed over its exported form."""
    values = {"seq": seq, "time": now, "actor": event.actor, "action": event.action,
              "target": dict(event.target), "before": event.before, "after": event.after,
              "reason": event.reason, "run_id": event.run, "outcome": event.outcome}
    values["leaf_hash"] = event_leaf_hash(exported_event(values)).hex()
    return values


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
