"""Provision on demand from the console and the admin API: one person planned and applied
now (or a dry run), step by step, exactly as ``hr2bi provision`` does it
(``sync.jobs.on_demand``), on behalf of the signed-in person: the plan's run records them as
its causer (the four-eyes rule, ``sync.admin.runs``) and a ``console.provision`` audit event
says who asked, for whom, and how it ended."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from sync.admin.runs import change_entry
from sync.audit.record import record_console_action
from sync.config import Settings
from sync.db import session_scope
from sync.errors import UserError
from sync.jobs import on_demand
from sync.runs import acting


def provision(engine: Engine, settings: Settings, key: str, actor: str, *, dry_run: bool) -> dict[str, Any]:
    """The step-by-step report (``on_demand.Report``) as JSON-ready values; a person nobody
    is (``PersonNotFound``) or a setup problem is raised after its refusal is audited."""
    key = key.strip()
    try:
        with acting(actor, source="console"):
            report = on_demand.provision(engine, settings, key, dry_run=dry_run)
    except UserError as exc:
        _audit(engine, actor, key, dry_run, {"outcome": "refused"}, None, "failure", str(exc))
        raise
    run = (report.run or {}).get("id")
    _audit(engine, actor, key, dry_run, {"outcome": report.outcome, "changes": len(report.changes)}, run,
           "failure" if report.outcome == "failed" else "success", None)
    found = report.as_dict()
    return {**found, "explained": report.explained, "changes": [change_entry(c) for c in report.changes]}


def _audit(engine: Engine, actor: str, key: str, dry_run: bool, after: dict[str, Any], run: int | None,
           outcome: str, detail: str | None) -> None:
    with session_scope(engine) as session:
        record_console_action(session, actor=actor, action="console.provision",
                              target={"type": "person", "id": key, "name": key}, after=after, run=run,
                              outcome=outcome, reason={"dry_run": dry_run, **({"detail": detail} if detail else {})})
