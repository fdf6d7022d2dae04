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

from collections.abc import Sequence
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
from sync.models import OutboxChange, Run
from sync.plan.review import parse_kinds, review_entries
from sync.plan.service import KIND as PLAN_KIND
from sync.plan.state import applied_groups, applied_users
from sync.plan.store import plan_rows, row_dict
from sync.plan.values import KINDS as KINDS_OF_CHANGE
from sync.plan.values import key_of
from sync.runs import RunError, acting, list_runs, run_to_dict
from sync.sources.importer import KIND as IMPORT_KIND
from sync.statuses import RunStatus

KINDS = (IMPORT_KIND, PLAN_KIND)
STATUSES = tuple(s.value for s in RunStatus)
IN_LIST = 2000
# What a kind filter may name: a change kind, or a prefix standing for its kinds.
KIND_FILTERS = (*KINDS_OF_CHANGE, *sorted({k.split(".")[0] for k in KINDS_OF_CHANGE}))


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
    kinds = _by_kind(session, run.id) if run.kind == PLAN_KIND else {}
    return {**run_to_dict(run), "caused_by": caused_by(run), "changes_by_kind": kinds,
            "held": run.status == RunStatus.HELD}


def run_changes(session: Session, run_id: int, q: str | None, kinds: Sequence[str],
                limit: int, offset: int) -> dict[str, Any]:
    """A plan's changes as review entries (``sync.plan.review``), those of ``kinds`` (kinds
    or prefixes, as ``runs show --kind`` takes them) whose subject, person or change
    mentions ``q``, one page.
    Without ``q`` only the page is read (a plan may hold 10,000 changes); a search reads
    them all, since what a change says in words is worked out, not stored."""
    run = _get(session, run_id)
    wanted = parse_kinds(kinds)
    needle = (q or "").strip().casefold()
    if run.kind != PLAN_KIND:
        total, entries = 0, []
    elif needle:
        rows = [row_dict(r) for r in plan_rows(session, run.id) if not wanted or r.kind in wanted]
        found = [e for e in _entries(session, rows) if needle in _haystack(e)]
        total, entries = len(found), found[offset:offset + limit]
    else:
        total, entries = _page(session, run.id, wanted, limit, offset)
    return {"run": run.id, "total": total, "limit": limit, "offset": offset,
            "changes": [change_entry(e) for e in entries]}


def _page(session: Session, run_id: int, kinds: tuple[str, ...], limit: int,
          offset: int) -> tuple[int, list[dict[str, Any]]]:
    query = select(OutboxChange).where(OutboxChange.run_id == run_id)
    if kinds:
        query = query.where(OutboxChange.kind.in_(kinds))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [row_dict(r) for r in session.scalars(  # in plan_rows' order
        query.order_by(OutboxChange.phase, OutboxChange.id).offset(offset).limit(limit))]
    return total, _entries(session, rows)


def _entries(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Review entries for ``rows``, reading only their subjects' applied state (all of it
    past a few thousand: a longer IN list than databases take)."""
    keys = {key_of(r["subject"]) for r in rows}
    users = applied_users(session, keys if len(keys) <= IN_LIST else None)
    return review_entries(rows, users, applied_groups(session))


def _by_kind(session: Session, run_id: int) -> dict[str, int]:
    """A plan's changes counted by kind, in the kinds' order (``sync.plan.review.by_kind``)."""
    tally = dict(session.execute(select(OutboxChange.kind, func.count()).where(
        OutboxChange.run_id == run_id).group_by(OutboxChange.kind)).all())
    return {kind: int(tally[kind]) for kind in KINDS_OF_CHANGE if kind in tally}


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
