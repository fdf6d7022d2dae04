"""Runs in the console and the admin API: the list, one run with its plan's changes (the
review ``hr2bi runs show`` prints), and approving or rejecting a held run.

Who **caused** a run, for the four-eyes rule (``console_four_eyes``): whoever started it
when it was started on someone's behalf (a console user or API token provisioning a person
on demand: ``caused_by`` in its details, ``sync.runs.acting``); otherwise the source for an
import (``source:<name>``) and hr2bi's planner for a plan (``system:plan``). Under the rule,
a held run is approved only by someone other than its causer; rejecting is always allowed
(it changes nothing in the BI platform).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.apply.service import ApplyResult
from sync.audit.actors import PLAN, source_actor, system_actor
from sync.config import Settings
from sync.db import session_scope
from sync.jobs import approve as approving
from sync.jobs.results import as_dict
from sync.models import Run
from sync.plan.review import parse_kinds
from sync.plan.service import KIND as PLAN_KIND
from sync.plan.store import plan_review
from sync.runs import RunError, acting, list_runs, run_to_dict
from sync.sources.importer import KIND as IMPORT_KIND
from sync.statuses import RunStatus

KINDS = (IMPORT_KIND, PLAN_KIND)
STATUSES = tuple(s.value for s in RunStatus)


class FourEyes(RunError):
    """The four-eyes rule refused an approval: the approver caused the hold."""


def find_run(session: Session, run_id: int) -> Run | None:
    """The run, or None; an id past a 32-bit integer names none (PostgreSQL's column would
    refuse the query)."""
    return session.get(Run, run_id) if 0 < run_id < 2**31 else None


def _get(session: Session, run_id: int) -> Run:
    run = find_run(session, run_id)
    if run is None:
        raise RunError(f"there is no run {run_id}: the runs page lists them")
    return run


def caused_by(run: Run) -> str:
    """Who caused ``run`` (see the module's docstring): an audit actor."""
    recorded = (run.details or {}).get("caused_by")
    if recorded:
        return str(recorded)
    if run.kind == IMPORT_KIND and run.source:
        return source_actor(run.source)
    return system_actor(PLAN)


def run_summary(run: Run) -> dict[str, Any]:
    """A run as the list shows it (``run_to_dict`` less its bulky details)."""
    found = run_to_dict(run)
    found.pop("details")
    return {**found, "caused_by": caused_by(run)}


def runs_page(session: Session, kind: str | None, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    query = select(func.count()).select_from(Run)
    for column, value in ((Run.kind, kind), (Run.status, status)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(query) or 0
    runs = [run_summary(r) for r in list_runs(session, kind, status, None, limit, offset)]
    return {"runs": runs, "total": total, "limit": limit, "offset": offset}


def run_detail(session: Session, run_id: int) -> dict[str, Any]:
    """One run: everything ``runs show`` says of it, who caused it, and (a plan) its changes
    counted by kind."""
    run = _get(session, run_id)
    kinds = plan_review(session, run.id, ())[0] if run.kind == PLAN_KIND else {}
    return {**run_to_dict(run), "caused_by": caused_by(run), "changes_by_kind": kinds,
            "held": run.status == RunStatus.HELD}


def run_changes(session: Session, run_id: int, q: str | None, kinds: str | None,
                limit: int, offset: int) -> dict[str, Any]:
    """A plan's changes as review entries (``sync.plan.review``), those of ``kinds`` (a kind
    or a prefix, comma-separated) whose subject, person or change mentions ``q``, one page."""
    run = _get(session, run_id)
    wanted = parse_kinds([kinds]) if kinds else ()
    entries = plan_review(session, run.id, wanted)[1] if run.kind == PLAN_KIND else []
    needle = (q or "").strip().casefold()
    if needle:
        entries = [e for e in entries if needle in _haystack(e)]
    return {"run": run.id, "total": len(entries), "limit": limit, "offset": offset,
            "changes": [change_entry(e) for e in entries[offset:offset + limit]]}


def _haystack(entry: dict[str, Any]) -> str:
    return " ".join(str(entry.get(k) or "") for k in ("kind", "subject", "person", "change")).casefold()


def change_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A review entry as the API and the console show it: the mapping rows why, as text."""
    reason = entry["reason"] or {}
    return {"kind": entry["kind"], "subject": entry["subject"], "person": entry["person"],
            "change": entry["change"], "status": entry["status"], "last_error": entry["last_error"],
            "rows": [str(r) for r in reason.get("rows") or ()], "note": reason.get("note"),
            "before": entry["before"], "payload": entry["payload"]}


def approve(engine: Engine, settings: Settings, run_id: int, actor: str, comment: str | None) -> dict[str, Any]:
    """Approve a held run as ``actor`` (a console actor), refusing the four-eyes rule's
    causer; a plan is then applied, and the answer says what its apply did."""
    with session_scope(engine) as session:
        run = _get(session, run_id)
        causer = caused_by(run)
    if settings.console_four_eyes and causer == actor:
        raise FourEyes(f"four-eyes rule: {actor} caused run {run_id}'s hold, so someone else must "
                       "approve it (console_four_eyes)")
    with acting(actor, source="console", comment=(comment or "").strip() or None):
        result = approving.approve(engine, settings, run_id, actor[:100])
    with session_scope(engine) as session:
        done = run_to_dict(_get(session, run_id))
    applied = as_dict(result) if isinstance(result, ApplyResult) else None
    return {"run": done, "apply": applied}


def reject(engine: Engine, run_id: int, actor: str, comment: str) -> dict[str, Any]:
    """Reject a held run as ``actor``; ``comment`` (required) says why."""
    if not (comment or "").strip():
        raise RunError("say why you reject it: a comment is required")
    with acting(actor, source="console", comment=comment.strip()):
        run = approving.reject(engine, run_id, actor[:100], comment)
    return {"run": run_to_dict(run), "apply": None}


def can_decide(run: dict[str, Any], settings: Settings, actor: str) -> dict[str, Any]:
    """Whether ``actor`` may approve the run now, and if not why (the page says it)."""
    if run["status"] != RunStatus.HELD:
        return {"approve": False, "why": f"run {run['id']} is {run['status']}, not held"}
    if settings.console_four_eyes and run["caused_by"] == actor:
        return {"approve": False, "why": "four-eyes rule: you caused this hold, so someone else must approve it"}
    return {"approve": True, "why": None}
