"""Approving a held run (``hr2bi runs approve ID --by NAME``), routed by the run's kind: a held
import is merged exactly as it was held (:func:`sync.sources.importer.approve_import`); a
held plan is marked approved and then applied (:func:`approve_plan`). Either way the
approval is audited (``run.approve``) in the transaction that marks it. :func:`reject` ends
a held run of either kind, its held work discarded (``run.reject``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.apply.service import ApplyResult, apply
from sync.config import Settings
from sync.db import session_scope
from sync.models import Run
from sync.plan.service import KIND as PLAN
from sync.plan.service import PipelineError
from sync.plan.store import reject_plan
from sync.rules import load_dir
from sync.runs import RunError, approve_run, get_run, reject_run
from sync.sources.config import load_sources
from sync.sources.importer import KIND as IMPORT
from sync.sources.importer import approve_import, discard_held


def approve(engine: Engine, settings: Settings, run_id: int, by: str, *,
            progress: bool = False) -> ApplyResult | Run:
    """Approve a held import (its run, merged) or a held plan (its apply's result)."""
    with session_scope(engine) as session:
        run = get_run(session, run_id)
        kind, source = run.kind, run.source
    if kind == PLAN:  # a plan the BI writer's safety guard held (sync/plan/guard.py)
        return approve_plan(engine, settings, run_id, by, progress=progress)
    if kind != IMPORT:
        raise RunError(f"run {run_id} is a {kind} run: only import and plan runs can be approved")
    defaults, sources = load_sources(settings=settings)
    options = sources[source].options if source in sources else defaults
    return approve_import(engine, run_id, by, load_dir(settings.mappings_dir).attribute_map, options)


def approve_plan(engine: Engine, settings: Settings, run_id: int, by: str, *,
                 progress: bool = False) -> ApplyResult:
    """Approve a held plan (``approve_run`` marks it and audits the approval, committed
    first), then apply it: a crash after the approval leaves an approved run that
    ``hr2bi apply --run ID`` finishes."""
    def approved(session: Session, run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
        if run.kind != PLAN:
            raise PipelineError(f"run {run.id} is an {run.kind} run, not a plan")
        return dict(run.counts), {}

    with session_scope(engine) as session:
        approve_run(session, run_id, by, approved)
    return apply(engine, settings, run_id, progress=progress)


def reject(engine: Engine, run_id: int, by: str, reason: str) -> Run:
    """End a held import or plan without applying it (``reject_run``), its held work dropped."""
    with session_scope(engine) as session:
        return reject_run(session, run_id, by, reason, discard)


def discard(session: Session, run: Run) -> int:
    """What a rejection drops: a plan's queued changes, an import's held records."""
    if run.kind == PLAN:
        return reject_plan(session, run)
    if run.kind == IMPORT:
        return discard_held(session, run)
    raise RunError(f"run {run.id} is a {run.kind} run: only import and plan runs can be rejected")
