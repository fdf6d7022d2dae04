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
from sync.models import AuditEvent, utcnow

SUCCESS = "success"
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
BATCH = 5000  # rows per executemany


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
    """Append one event and return it as exported (the dict its leaf hash is over)."""
    seq = _next_seq(session)
    row = AuditEvent(seq=seq, time=utcnow(), actor=actor, action=action, target=dict(target),
                     before=before, after=after, reason=reason, run_id=run, outcome=outcome)
    event = as_exported(row)  # one definition of the hashed form, shared with export
    row.leaf_hash = event_leaf_hash(event).hex()
    session.add(row)
    session.flush()
    return event


def record_events(session: Session, events: Iterable[Event]) -> int:
    """Append many events in the caller's transaction with a few statements (an import's
    per-person events): one lock, one sequence read, batched inserts. Returns the count."""
    seq = _next_seq(session)
    now = utcnow()
    batch: list[dict[str, Any]] = []
    count = 0
    for event in events:
        row = AuditEvent(seq=seq + count, time=now, actor=event.actor, action=event.action,
                         target=dict(event.target), before=event.before, after=event.after,
                         reason=event.reason, run_id=event.run, outcome=event.outcome)
        exported = as_exported(row)
        batch.append({"seq": row.seq, "time": now, "actor": row.actor, "action": row.action,
                      "target": row.target, "before": row.before, "after": row.after,
                      "reason": row.reason, "run_id": row.run_id, "outcome": row.outcome,
                      "leaf_hash": event_leaf_hash(exported).hex()})
        count += 1
        if len(batch) >= BATCH:
            session.execute(insert(EVENTS), batch)
            batch = []
    if batch:
        session.execute(insert(EVENTS), batch)
    return count


def lock_log(session: Session) -> None:
    """Queue this transaction behind any other appending to the log (until it ends).
    PostgreSQL needs the table lock; SQLite already allows one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))


def _next_seq(session: Session) -> int:
    # Flush first: an event added to this session but not yet written holds a number too.
    session.flush()
    lock_log(session)
    return (session.scalar(select(func.max(AuditEvent.seq))) or 0) + 1


def as_exported(row: AuditEvent) -> dict[str, Any]:
    """The event dict of a stored row, exactly as it was hashed."""
    return {
        "seq": row.seq, "time": _iso(row.time), "actor": row.actor, "action": row.action,
        "target": row.target, "before": row.before, "after": row.after, "reason": row.reason,
        "run": row.run_id, "outcome": row.outcome,
    }


def _iso(value: dt.datetime) -> str:
    # SQLite returns naive datetimes: every stored time is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")
