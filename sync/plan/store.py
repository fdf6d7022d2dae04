"""A plan saved as a run (kind ``plan``) and its changes as outbox rows.

Each row's key is ``<run>:<change name>``, unique, so saving a plan twice cannot double a
change. A change a previous run could not apply (``failed``) is taken over by the new run
with its attempts and backoff, so repeated failures add up to quarantine across runs; a
change already quarantined with the same payload is carried over as quarantined (reported,
not retried) until its payload changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from sync.models import OutboxChange, Run
from sync.plan.review import by_kind, review_entries
from sync.plan.state import applied_groups, applied_users
from sync.plan.values import Change, Plan, key_of
from sync.statuses import OPEN_CHANGES, ChangeStatus


@dataclass(frozen=True)
class Enqueued:
    carried: dict[str, int]  # changes taken over from earlier runs: retried, quarantined
    superseded_runs: frozenset[int]  # earlier runs some of whose unfinished rows this run took over


def enqueue(session: Session, run_id: int, plan: Plan, *, everyone: bool = False,
            scope: Iterable[str] = ()) -> Enqueued:
    """Write the plan's changes as outbox rows, taking over earlier runs' unfinished rows:
    those of the same changes, and, for a plan of everyone (computed afresh from the
    applied state), every other open row too: a change it no longer plans is not wanted,
    and applying the older run later would send stale changes.

    A plan for a few people (``scope``: their userNames) sees only them, so a group batch
    it takes over keeps the older batch's other members."""
    previous = _unfinished(session, [c.name for c in plan.changes])
    in_scope = {key_of(name) for name in scope}
    carried = {"retried": 0, "quarantined": 0}
    rows, narrowed = [], set()
    for change in plan.changes:
        old = previous.get(change.name)
        if old is not None and not everyone and old.status in OPEN_CHANGES:
            change = keep_others(change, old.payload, in_scope)
            change, waiting = _leave_waiting(session, change, old)
            if waiting:
                narrowed.add(old.id)
        row = outbox_row(run_id, change)
        if old is not None:
            _carry_over(row, old, carried)
        rows.append(row)
    stale = (OutboxChange.run_id != run_id) if everyone else OutboxChange.id.in_(
        [r.id for r in previous.values() if r.id not in narrowed])
    # RETURNING: only the rows this statement changed (a worker may finish one meanwhile).
    touched = frozenset(session.scalars(
        update(OutboxChange).where(stale, OutboxChange.status.in_(OPEN_CHANGES))
        .values(status=ChangeStatus.SUPERSEDED).returning(OutboxChange.run_id)))
    session.add_all(rows)
    session.flush()
    return Enqueued(carried, touched)


def _leave_waiting(session: Session, change: Change, old: OutboxChange) -> tuple[Change, list[str]]:
    """Members ``old`` (a group batch of an earlier run) adds whose own create is still
    open in that run stay there, and ``change`` (which took the batch over) drops them:
    applied here, perhaps before the other run has created them, they would be skipped as
    unknown and lost until the next full plan; applied by their own run, they come after
    their create. ``old`` is narrowed to them (and not superseded) when there are any;
    returns ``change`` without them, and them."""
    if change.kind != "group.members" or not old.payload.get("add"):
        return change, []
    creating = {key_of(name) for name in session.scalars(
        select(OutboxChange.subject).where(OutboxChange.run_id == old.run_id,
                                           OutboxChange.kind == "user.create",
                                           OutboxChange.status.in_(OPEN_CHANGES)))}
    waiting = [name for name in old.payload["add"] if key_of(name) in creating]
    if not waiting:
        return change, []
    held = {key_of(name) for name in waiting}
    payload = {**change.payload, "add": [n for n in change.payload["add"] if key_of(n) not in held]}
    # Only while still open: if its run applied it meanwhile, they were added there.
    session.execute(update(OutboxChange).where(OutboxChange.id == old.id, OutboxChange.status.in_(OPEN_CHANGES))
                    .values(payload={"add": waiting, "remove": []}))
    return replace(change, payload=payload), waiting


def keep_others(change: Change, older: Mapping[str, Any], in_scope: set[str]) -> Change:
    """``change`` with the members an older batch of the same group named for people
    outside ``in_scope`` (the newer plan knows nothing new about them)."""
    if change.kind not in ("group.create", "group.members"):
        return change
    payload = dict(change.payload)
    for field in ("members", "add", "remove"):
        if field in payload:
            mine = list(payload[field])
            seen = {key_of(n) for n in mine}
            payload[field] = mine + [n for n in older.get(field, ())
                                     if key_of(n) not in in_scope and key_of(n) not in seen]
    return replace(change, payload=payload)


def reject_changes(session: Session, run_id: int) -> int:
    """Discard a rejected run's queued changes, so no apply ever claims them; returns how
    many. Quarantined ones stay so: a later plan wanting them again keeps them quarantined."""
    return len(list(session.scalars(
        update(OutboxChange).where(OutboxChange.run_id == run_id, OutboxChange.status.in_(OPEN_CHANGES))
        .values(status=ChangeStatus.REJECTED).returning(OutboxChange.id))))


def reject_plan(session: Session, run: Run) -> int:
    """A rejected plan's queued changes, dropped; its counts then say what became of them."""
    discarded = reject_changes(session, run.id)
    run.counts = {**run.counts, "outbox": outbox_counts(session, run.id)}
    return discarded


def plan_review(session: Session, run_id: int, kinds: tuple[str, ...]) -> tuple[dict[str, int], list[dict]]:
    """A plan's changes by kind, and those of ``kinds`` (all without) as review entries."""
    rows = [row_dict(r) for r in plan_rows(session, run_id)]
    return by_kind(rows), review_entries(rows, applied_users(session), applied_groups(session), kinds)


def open_count(session: Session, run_id: int) -> int:
    return len(list(session.scalars(select(OutboxChange.id).where(
        OutboxChange.run_id == run_id, OutboxChange.status.in_(OPEN_CHANGES)))))


def outbox_row(run_id: int, change: Change) -> OutboxChange:
    return OutboxChange(run_id=run_id, key=f"{run_id}:{change.name}", name=change.name,
                        kind=change.kind, phase=change.phase, subject=change.subject,
                        payload=dict(change.payload),
                        reason={**change.reason.to_dict(), **({"downgrade": True} if change.downgrade else {})},
                        status=ChangeStatus.PENDING)


def _carry_over(row: OutboxChange, old: OutboxChange, carried: dict[str, int]) -> None:
    if old.status == ChangeStatus.QUARANTINED:
        if old.payload == row.payload:
            row.status, row.attempts, row.last_error = ChangeStatus.QUARANTINED, old.attempts, old.last_error
            carried["quarantined"] += 1
        return
    row.attempts, row.next_attempt_at, row.last_error = old.attempts, old.next_attempt_at, old.last_error
    carried["retried"] += 1


def _unfinished(session: Session, names: list[str]) -> dict[str, OutboxChange]:
    """The newest failed or quarantined row for each name, from earlier runs."""
    found: dict[str, OutboxChange] = {}
    for start in range(0, len(names), 500):
        query = (select(OutboxChange)
                 .where(OutboxChange.name.in_(names[start:start + 500]),
                        OutboxChange.status.in_((*OPEN_CHANGES, ChangeStatus.QUARANTINED)))
                 .order_by(OutboxChange.id))
        for row in session.scalars(query):
            found[row.name] = row
    return found


def outbox_counts(session: Session, run_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in session.scalars(select(OutboxChange.status).where(OutboxChange.run_id == run_id)):
        counts[status] = counts.get(status, 0) + 1
    return counts


def row_dict(row: OutboxChange) -> dict[str, Any]:
    return {"kind": row.kind, "subject": row.subject, "payload": row.payload, "reason": row.reason,
            "status": row.status, "attempts": row.attempts, "last_error": row.last_error}


def plan_rows(session: Session, run_id: int) -> list[OutboxChange]:
    return list(session.scalars(select(OutboxChange).where(OutboxChange.run_id == run_id)
                                .order_by(OutboxChange.phase, OutboxChange.id)))


def retry_at(now: dt.datetime, attempts: int, backoff: float) -> dt.datetime:
    """Exponential backoff between runs: backoff, 2x, 4x... capped at a day."""
    return now + dt.timedelta(seconds=min(backoff * 2 ** max(attempts - 1, 0), 86400.0))


