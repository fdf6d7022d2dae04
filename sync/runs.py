"""Runs: every import and every plan is a row someone can list, inspect and — when a safety
check held it — approve.

A run is ``running`` while it works, then ``succeeded`` or ``failed``; a run a guard stopped
is ``held`` and changes nothing until ``approve_run`` applies it and marks it ``approved``
with who approved it and when, or ``reject_run`` ends it ``rejected`` (who, when and why
in its details), its held work discarded so nothing ever applies it. A plan is ``planned`` until it is applied, and
``superseded`` when a newer plan took over the changes it had not applied yet.

Work done on someone's behalf (the console and the admin API: the signed-in person) runs
inside ``acting(actor, comment=...)``: a run started there records ``caused_by`` (the
four-eyes rule, ``sync.admin.runs``), and an approval or rejection there is audited as that
actor, the comment in the event's reason. Without it, approvals are ``approver:<by>``.

This lifecycle sits below the two kinds of run — imports (:mod:`sync.sources.importer`) and
plans (:mod:`sync.plan.service`) — and the jobs that start them (:mod:`sync.jobs`): inside
any one of those packages it would make the others depend on it. Routing an approval by
the run's kind is a job (:mod:`sync.jobs.approve`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.audit.actors import approver_actor
from sync.audit.log import record_event
from sync.errors import UserError
from sync.models import Run, utcnow
from sync.statuses import ACCEPTED_RUNS, RunStatus

Applier = Callable[[Session, Run], tuple[Mapping[str, Any], Mapping[str, Any]]]
Discarder = Callable[[Session, Run], int]  # drops a held run's work, returns how much


class RunError(UserError):
    """A run cannot be found or approved; the message says why and what to do."""


@dataclass(frozen=True)
class Acting:
    """Who is acting in this context (an audit actor, ``sync.audit.actors``) and what they
    said about it (a comment): a run started meanwhile records ``caused_by``, an approval
    or rejection is audited as them, the note added to the event's reason."""

    actor: str
    note: Mapping[str, Any] = field(default_factory=dict)


_ACTING: ContextVar[Acting | None] = ContextVar("hr2bi_acting", default=None)


@contextmanager
def acting(actor: str, **note: Any) -> Iterator[Acting]:
    """Run the block on behalf of ``actor`` (the console and the admin API: the signed-in
    person); without it, approvals are audited as ``approver:<by>`` and runs record no causer."""
    now = Acting(actor, {k: v for k, v in note.items() if v is not None})
    token = _ACTING.set(now)
    try:
        yield now
    finally:
        _ACTING.reset(token)


def start_run(session: Session, kind: str, source: str | None, mode: str | None,
              details: Mapping[str, Any] | None = None) -> Run:
    details = dict(details or {})
    if (who := _ACTING.get()) is not None:
        details.setdefault("caused_by", who.actor)
    run = Run(kind=kind, source=source, mode=mode, status=RunStatus.RUNNING, details=details)
    session.add(run)
    session.flush()
    return run


def finish_run(run: Run, status: RunStatus, counts: Mapping[str, Any] | None = None,
               reason: str | None = None, details: Mapping[str, Any] | None = None) -> Run:
    run.status, run.reason, run.finished_at = status, reason, utcnow()
    if counts is not None:
        run.counts = dict(counts)
    if details:
        run.details = {**run.details, **details}
    return run


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise RunError(f"there is no run {run_id}: `hr2bi runs list` shows the runs")
    return run


def list_runs(session: Session, kind: str | None = None, status: str | None = None,
              source: str | None = None, limit: int = 50, offset: int = 0) -> list[Run]:
    query = select(Run).order_by(Run.id.desc()).limit(limit).offset(offset)
    for column, value in ((Run.kind, kind), (Run.status, status), (Run.source, source)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


def last_accepted(session: Session, kind: str, source: str, mode: str | None = None,
                  before: int | None = None) -> Run | None:
    """The newest run of this kind and source that was applied (succeeded or approved)."""
    query = (select(Run).where(Run.kind == kind, Run.source == source, Run.status.in_(ACCEPTED_RUNS))
             .order_by(Run.id.desc()).limit(1))
    if mode is not None:
        query = query.where(Run.mode == mode)
    if before is not None:
        query = query.where(Run.id < before)
    return session.scalars(query).first()


def approve_run(session: Session, run_id: int, by: str, apply: Applier) -> Run:
    """Apply a held run and record who approved it — on the run, and as a ``run.approve``
    audit event in the same transaction as what ``apply`` does (both or neither). A run a
    newer accepted run of the same source has overtaken is refused: applying it would roll
    that newer data back."""
    if not by.strip():
        raise RunError("say who approves: --by NAME")
    run = get_run(session, run_id)
    if run.status != RunStatus.HELD:
        raise RunError(f"run {run_id} is {run.status}, not held: only held runs are approved")
    newer = session.scalars(select(Run.id).where(
        Run.kind == run.kind, Run.source == run.source, Run.id > run.id,
        Run.status.in_(ACCEPTED_RUNS))).first()
    if newer is not None:
        raise RunError(f"run {newer} of {run.source} was applied after run {run_id} was held: approving "
                       f"{run_id} would roll its data back; import the current feed again instead")
    who = _ACTING.get() or Acting(approver_actor(by))
    record_event(session, actor=who.actor, action="run.approve",
                 target={"type": "run", "id": run.id, "name": f"{run.kind} {run.source}"},
                 before={"status": RunStatus.HELD}, after={"status": RunStatus.APPROVED},
                 reason={"run": run.id, "held_because": run.reason, **who.note}, run=run.id)
    counts, details = apply(session, run)
    run.approved_by, run.approved_at = by.strip(), utcnow()
    return finish_run(run, RunStatus.APPROVED, counts, run.reason, details)


def reject_run(session: Session, run_id: int, by: str, reason: str, discard: Discarder) -> Run:
    """End a held run without applying it: ``discard`` drops its held work (a plan's queued
    changes, an import's records) and the ``run.reject`` audit event records who refused it
    and why, in one transaction (both or neither)."""
    if not by.strip():
        raise RunError("say who rejects: --by NAME")
    if not reason.strip():
        raise RunError("say why: --reason TEXT")
    run = get_run(session, run_id)
    if run.status != RunStatus.HELD:
        raise RunError(f"run {run_id} is {run.status}, not held: only held runs can be rejected")
    discarded = discard(session, run)
    who = _ACTING.get() or Acting(approver_actor(by))
    record_event(session, actor=who.actor, action="run.reject",
                 target={"type": "run", "id": run.id, "name": f"{run.kind} {run.source}"},
                 before={"status": RunStatus.HELD}, after={"status": RunStatus.REJECTED, "discarded": discarded},
                 reason={"run": run.id, "rejected_because": reason.strip(), "held_because": run.reason,
                         **who.note}, run=run.id)
    rejected = {"by": by.strip(), "at": utcnow().isoformat(), "reason": reason.strip(),
                "held_because": run.reason, "discarded": discarded}
    return finish_run(run, RunStatus.REJECTED, reason=f"rejected by {by.strip()}: {reason.strip()}",
                      details={"rejected": rejected})


def hold_message(run_id: int, why: str) -> str:
    """What every hold says, wherever it is shown: the run, why, and both ways out."""
    return (f"held as run {run_id}: {why}; review it with `hr2bi runs show {run_id}`, then "
            f"`hr2bi runs approve {run_id} --by NAME` or `hr2bi runs reject {run_id} --by NAME --reason TEXT`")


def run_to_dict(run: Run) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": run.id, "kind": run.kind, "source": run.source, "mode": run.mode, "status": run.status,
        "reason": run.reason, "counts": run.counts, "details": run.details,
        "started_at": when(run.started_at), "finished_at": when(run.finished_at),
        "approved_by": run.approved_by, "approved_at": when(run.approved_at),
    }
