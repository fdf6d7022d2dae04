"""Applying a saved plan: workers claim outbox rows one at a time and, per row, call the
target, update the BI state, mark the row and append its audit event in ONE transaction.

On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED``: the row stays locked
until that transaction commits, so several workers share a run without taking the same
change, and a worker that dies (kill -9) releases its row at once. SQLite has one writer
at a time, so one worker applies a run there. A crash between the call and the commit
leaves the row pending and the audit log without the event; the re-run repeats the call,
which is idempotent (see ``execute``), and the event is written once, with the commit.

A change that fails is retried on later applies with exponential backoff and, after
``apply_max_attempts``, quarantined: reported, never blocking the rest of the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.apply.execute import Effect, perform
from sync.apply.progress import Progress
from sync.audit.actors import APPLY, system_actor
from sync.audit.log import record_event
from sync.models import OutboxChange, Run, utcnow
from sync.plan.store import retry_at
from sync.plan.values import KINDS
from sync.statuses import OPEN_CHANGES, ChangeStatus
from sync.targets import (
    OutcomeUnknown,
    RateLimited,
    Target,
    TargetError,
    TargetUnavailable,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 5
    backoff_seconds: float = 60.0


@dataclass(frozen=True)
class Tally:
    applied: int = 0
    failed: int = 0
    quarantined: int = 0
    stopped: str | None = None  # the platform was unreachable: the rest was left for later


def _due(run_id: int, now: dt.datetime) -> tuple[Any, ...]:
    return (OutboxChange.run_id == run_id, OutboxChange.status.in_(OPEN_CHANGES),
            or_(OutboxChange.next_attempt_at.is_(None), OutboxChange.next_attempt_at <= now))


def claim(session: Session, run_id: int, now: dt.datetime) -> OutboxChange | None:
    """The next due change of the run, locked for this transaction on PostgreSQL.

    Only from the earliest phase that still has due changes, counting those other workers
    hold right now (a plain subquery sees rows SKIP LOCKED skips): a group's members are
    created before the group's membership batch is sent, however many workers share the
    run. None when every due change of that phase is held by another worker."""
    earliest = select(func.min(OutboxChange.phase)).where(*_due(run_id, now)).scalar_subquery()
    query = (select(OutboxChange).where(*_due(run_id, now), OutboxChange.phase == earliest)
             .order_by(OutboxChange.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def due_count(session: Session, run_id: int, now: dt.datetime) -> int:
    """Due changes of the run, those other workers hold included."""
    return int(session.scalar(select(func.count()).select_from(OutboxChange).where(*_due(run_id, now))) or 0)


def apply_rows(engine: Engine, target: Target, run_id: int, worker: str, policy: Policy, *,
               progress: bool = False, clock: Callable[[], dt.datetime] = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> Tally:
    """Apply every due change of ``run_id``; returns what this worker did."""
    with Session(engine) as session:
        bar = Progress(due_count(session, run_id, clock()), enabled=progress)
    applied = failed = quarantined = 0
    stopped = None
    while True:
        try:
            outcome = _apply_next(engine, target, run_id, worker, policy, clock)
        except Unreachable as exc:
            # Down or timing out past the retries: every other change would wait as long
            # and fail the same way, so stop and leave them to the next apply.
            failed, stopped = failed + 1, str(exc.__cause__)
            break
        if outcome is None:
            if not _others_at_work(engine, run_id, clock):
                break
            sleep(WAIT_FOR_OTHERS)  # they hold the rest of this phase: the next may follow
            continue
        applied += outcome == ChangeStatus.DONE
        failed += outcome == ChangeStatus.FAILED
        quarantined += outcome == ChangeStatus.QUARANTINED
        bar.step()
    bar.close()
    return Tally(applied, failed, quarantined, stopped)


WAIT_FOR_OTHERS = 0.05  # seconds between looks while other workers finish a phase


def _others_at_work(engine: Engine, run_id: int, clock: Callable[[], dt.datetime]) -> bool:
    """Due changes remain that this worker could not claim: other workers hold them."""
    with Session(engine) as session:
        return due_count(session, run_id, clock()) > 0


class Unreachable(Exception):
    """The platform could not be reached (the failed attempt is recorded)."""


def _apply_next(engine: Engine, target: Target, run_id: int, worker: str, policy: Policy,
                clock: Callable[[], dt.datetime]) -> ChangeStatus | None:
    with Session(engine, expire_on_commit=False) as session:
        row = claim(session, run_id, clock())
        if row is None:
            return None
        row_id = row.id
        try:
            effect = perform(target, session, row)
        except TargetError as exc:
            session.rollback()
            status = record_failure(session, row_id, worker, policy, exc, clock())
            if isinstance(exc, TargetUnavailable) and not isinstance(exc, OutcomeUnknown | RateLimited):
                raise Unreachable(status) from exc
            return status
        _mark(row, ChangeStatus.DONE, worker, clock())
        row.done_at = row.claimed_at
        _audit(session, row, worker, effect, effect.outcome)
        session.commit()
        return ChangeStatus.DONE


def record_failure(session: Session, row_id: int, worker: str, policy: Policy,
                   exc: TargetError, now: dt.datetime | None = None) -> ChangeStatus:
    """The call failed: count the attempt, schedule the retry or quarantine, and audit it,
    in a fresh transaction (the state changes of the failed attempt were rolled back).
    The rollback released the row, so another worker may have applied it meanwhile (or a
    newer plan taken it over): then its status stands and nothing is recorded."""
    now = now or utcnow()
    query = select(OutboxChange).where(OutboxChange.id == row_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalars(query).one()
    if row.status not in OPEN_CHANGES:
        status = ChangeStatus(row.status)
        session.rollback()
        return status
    row.attempts += 1
    row.last_error = str(exc)[:1000]
    status = ChangeStatus.QUARANTINED if row.attempts >= policy.max_attempts else ChangeStatus.FAILED
    row.next_attempt_at = None if status == ChangeStatus.QUARANTINED else retry_at(now, row.attempts, policy.backoff_seconds)
    _mark(row, status, worker, now)
    log.warning("change %s failed (attempt %s): %s", row.name, row.attempts, row.last_error)
    _audit(session, row, worker, Effect(_subject(row), None, {"error": row.last_error,
                                                              "attempts": row.attempts}),
           "failed" if status == ChangeStatus.FAILED else "quarantined")
    session.commit()
    return status


def _mark(row: OutboxChange, status: ChangeStatus, worker: str, now: dt.datetime) -> None:
    row.status, row.claimed_by, row.claimed_at = status, worker, now


def _subject(row: OutboxChange) -> dict[str, str]:
    kind = "group" if row.kind.startswith("group.") else "user"
    return {"type": kind, ("name" if kind == "group" else "userName"): row.subject}


def _audit(session: Session, row: OutboxChange, worker: str, effect: Effect, outcome: str) -> None:
    reason = {**row.reason, "change": row.name, "payload": row.payload}
    record_event(session, actor=system_actor(APPLY, worker), action=KINDS[row.kind][0],
                 target=dict(effect.target), before=effect.before, after=effect.after,
                 reason=reason, run=row.run_id, outcome=outcome)


def run_of(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)
