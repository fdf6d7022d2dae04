"""Writing the audit log: one event per decision, in the caller's transaction.

``record_event`` is called inside the same session (so the same database transaction) as
the decision it records: if the decision rolls back, so does its event, and neither can
exist without the other. Sequence numbers are gapless: on PostgreSQL the table is locked
for the rest of the transaction while the next number is taken (writers queue, readers
do not wait); SQLite already allows one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from sync.audit.events import event_leaf_hash
from sync.models import AuditEvent, utcnow

SUCCESS = "success"


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
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
    seq = (session.scalar(select(func.max(AuditEvent.seq))) or 0) + 1
    row = AuditEvent(seq=seq, time=utcnow(), actor=actor, action=action, target=dict(target),
                     before=before, after=after, reason=reason, run_id=run, outcome=outcome)
    event = as_exported(row)  # one definition of the hashed form, shared with export
    row.leaf_hash = event_leaf_hash(event).hex()
    session.add(row)
    session.flush()
    return event


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
