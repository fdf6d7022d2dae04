"""Applying a saved plan, as the CLI, the jobs and the demo call it:

    apply(engine, settings, run_id, *, progress=False, worker=None, observe=None) -> ApplyResult

It applies exactly that run's changes (the outbox rows its plan queued, :mod:`sync.apply.runner`),
adds what its BI calls cost to the run's counts, ends the run and signs a checkpoint of the
audit log. A held, superseded or rejected plan applies nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine

from sync.apply.runner import Policy, apply_rows
from sync.audit.store import checkpoint_after_run
from sync.config import Settings
from sync.db import session_scope
from sync.models import Run
from sync.plan.service import KIND, PipelineError
from sync.plan.store import outbox_counts
from sync.runs import finish_run, get_run
from sync.statuses import OPEN_CHANGES, ChangeStatus, RunStatus
from sync.targets.build import add_call_stats, connect


@dataclass(frozen=True)
class ApplyResult:
    run_id: int
    applied: int
    failed: int
    quarantined: int
    held: bool
    bi_calls: int
    error: str | None = None  # why the apply stopped early (the BI platform unreachable)
    superseded: str | None = None  # a newer plan took over this one: nothing was applied
    rejected: str | None = None  # someone rejected this held plan: nothing is ever applied


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def apply(engine: Engine, settings: Settings, run_id: int, *, progress: bool = False,
          worker: str | None = None, observe: Callable[[httpx.Response], None] | None = None) -> ApplyResult:
    """Apply a saved plan's changes; ``observe`` sees each BI response (``hr2bi provision``
    lists the calls)."""
    with session_scope(engine) as session:
        run = get_run(session, run_id)
        if run.kind != KIND:
            raise PipelineError(f"run {run_id} is an {run.kind} run, not a plan: "
                                "`hr2bi runs list --kind plan` shows the plans")
        if run.status == RunStatus.HELD:
            return ApplyResult(run_id, 0, 0, 0, True, 0)
        if run.status == RunStatus.SUPERSEDED:  # a no-op, so a redelivered apply task is harmless
            return ApplyResult(run_id, 0, 0, 0, False, 0, superseded=run.reason)
        if run.status == RunStatus.REJECTED:  # the same: its changes were discarded
            return ApplyResult(run_id, 0, 0, 0, False, 0, rejected=run.reason)
    target, stats, http = connect(settings)
    if observe is not None:
        http.event_hooks = {**http.event_hooks, "response": [*http.event_hooks["response"], observe]}
    try:
        tally = apply_rows(engine, target, run_id, worker or default_worker(),
                           Policy(settings.apply_max_attempts, settings.apply_backoff_seconds),
                           progress=progress)
    finally:
        http.close()
    with session_scope(engine) as session:
        # Locked: workers sharing a run each add their calls to its counts.
        run = session.get(Run, run_id, with_for_update=True, populate_existing=True)
        counts = outbox_counts(session, run_id)
        add_call_stats(run, stats)
        _finish(run, counts)
        checkpoint_after_run(session, settings.audit_signing_key, settings.audit_origin, run_id)
    return ApplyResult(run_id, tally.applied, counts.get(ChangeStatus.FAILED, 0) + counts.get(ChangeStatus.PENDING, 0),
                       counts.get(ChangeStatus.QUARANTINED, 0), False, stats.calls, tally.stopped)


def _finish(run: Run, counts: Mapping[str, int]) -> None:
    """An approved run stays ``approved`` (who approved it is what matters), a superseded
    one ``superseded`` (a newer plan took over while it was applied); others end
    ``succeeded``, or ``failed`` while changes are left to retry or quarantined."""
    left = sum(counts.get(s, 0) for s in OPEN_CHANGES)
    quarantined = counts.get(ChangeStatus.QUARANTINED, 0)
    summary = {**run.counts, "outbox": dict(counts)}
    reason = (f"{left} changes not applied yet (retried on the next apply), {quarantined} "
              f"quarantined: `hr2bi runs show {run.id}`") if left or quarantined else None
    if run.status in (RunStatus.APPROVED, RunStatus.SUPERSEDED):
        run.counts = summary
    else:
        finish_run(run, RunStatus.FAILED if reason else RunStatus.SUCCEEDED, summary, reason)


__all__ = ["ApplyResult", "apply", "default_worker"]
