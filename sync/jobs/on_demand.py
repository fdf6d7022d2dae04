"""Provision on demand (``hr2bi provision PERSON``), as Entra offers it: one person planned
and applied now, with every step shown — the sources read, the merged person (each field
and where it came from), the mapping rows that fired, the changes, each BI call and its
result.

A person is named by employee id, email, userName or SCIM id. The plan and apply are the push
path's (:func:`sync.jobs.plan_apply.plan_and_apply` with the person's scope, grown as every
scoped plan grows), so what is shown here is what a push would do; ``--dry-run`` computes it
(:func:`sync.plan.service.compute_plan`) without writing or sending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.config import Settings
from sync.db import session_scope
from sync.jobs.plan_apply import plan_and_apply
from sync.models import ScimUser, ScimUserValue, StoredPerson
from sync.names import name_key
from sync.people.views import PersonNotFound
from sync.plan.desired import Scope, merged_people
from sync.plan.review import review_entries
from sync.plan.service import compute_plan
from sync.plan.state import applied_groups, applied_users
from sync.plan.store import outbox_row, plan_rows, row_dict
from sync.rules import Tables, evaluate, load_dir
from sync.rules.errors import PersonError
from sync.rules.explain import explanation_to_dict
from sync.rules.report import account_to_dict, render_explanation
from sync.statuses import RunStatus
from sync.targets import build


@dataclass
class Report:
    """What ``provision`` did, step by step (``as_dict`` is its ``--json``)."""

    key: str
    dry_run: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)  # each person as `mappings explain` prints them
    problems: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] | None = None
    outcome: str = "planned"  # "no changes", "would change", "applied", "held", "failed"

    def as_dict(self) -> dict[str, Any]:
        return {"person": self.key, "dry_run": self.dry_run, "sources": self.sources, "people": self.people,
                "problems": self.problems, "changes": self.changes, "calls": self.calls, "run": self.run,
                "outcome": self.outcome}


def find(session: Session, key: str) -> Scope:
    """The people and SCIM users ``key`` names (employee id, email, userName or SCIM id),
    with whoever is linked to them; :class:`PersonNotFound` when nobody is."""
    key = key.strip()
    lower = name_key(key)
    users = set(session.scalars(select(ScimUser.id).where(or_(
        ScimUser.id == key, ScimUser.user_name_key == lower, ScimUser.employee_number == key))))
    users |= set(session.scalars(select(ScimUserValue.user_id).where(
        ScimUserValue.attribute == "emails", ScimUserValue.value_key == lower)))
    people = set(session.scalars(select(StoredPerson.id).where(or_(
        StoredPerson.employee_id == key, StoredPerson.email_key == lower,
        StoredPerson.scim_user_id.in_(sorted(users))))))
    users |= {u for u in session.scalars(select(StoredPerson.scim_user_id).where(
        StoredPerson.id.in_(sorted(people)))) if u}
    if not people and not users:
        raise PersonNotFound(f"nobody has the employee id, email, userName or SCIM id {key!r}: "
                             "`hr2bi people list` shows everyone")
    return Scope(frozenset(people), frozenset(users))


def sources_read(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """What each source says exists: the HR records and the identity-provider users."""
    found: list[dict[str, Any]] = []
    for p in session.scalars(select(StoredPerson).where(StoredPerson.id.in_(sorted(scope.people or ())))
                             .order_by(StoredPerson.employee_id)):
        found.append({"from": "hr", "source": p.source, "employee_id": p.employee_id, "lifecycle": p.lifecycle,
                      "changed_at": _iso(p.changed_at), "scim_user_id": p.scim_user_id, "link": p.link_reason})
    for u in session.scalars(select(ScimUser).where(ScimUser.id.in_(sorted(scope.scim_users or ())))
                             .order_by(ScimUser.user_name_key)):
        found.append({"from": "idp", "id": u.id, "userName": u.user_name, "active": u.active,
                      "employee_number": u.employee_number, "written_by": u.updated_by or u.created_by,
                      "updated_at": _iso(u.updated_at)})
    return found


def merged(session: Session, tables: Tables, scope: Scope, report: Report) -> None:
    """Each person in ``scope`` through the one merge and the mapping tables."""
    for m in merged_people(session, tables.attribute_map, scope, report.problems):
        try:
            account, explanation = evaluate(m.person, tables)
        except PersonError as exc:
            report.problems.append(f"{m.label}: {exc}")
            continue
        report.people.append({
            "label": m.label, "scim_user_id": m.scim_user_id,
            "fields": {name: {"value": _plain(value), "from": m.person.sources.get(name)}
                       for name, value in m.person.fields.items() if value is not None and value != ()},
            "account": account_to_dict(account), "explanation": explanation_to_dict(explanation)})
        report.explained.append(render_explanation(account, explanation))


def provision(engine: Engine, settings: Settings, key: str, *, dry_run: bool = False) -> Report:
    report = Report(key, dry_run)
    tables = load_dir(settings.mappings_dir)
    with session_scope(engine) as session:
        scope = find(session, key)
        report.sources = sources_read(session, scope)
        merged(session, tables, scope, report)
    if dry_run:
        _dry_run(engine, settings, tables, scope, report)
        return report
    done = plan_and_apply(engine, settings, tables=tables, people=scope.people, scim_users=scope.scim_users,
                          observe=_recorder(report.calls))
    planned, applied = done.plan, done.applied
    report.run = {"id": planned.run_id, "status": planned.status, "reason": planned.reason}
    report.problems += [p for p in planned.problems if p not in report.problems]
    report.changes = _entries(engine, planned.run_id)
    if applied is None:
        report.outcome = "held" if planned.status == RunStatus.HELD else "no changes"
        return report
    report.run |= {"applied": applied.applied, "failed": applied.failed, "quarantined": applied.quarantined,
                   "error": applied.error}
    report.outcome = "failed" if applied.failed or applied.quarantined or applied.error else "applied"
    return report


def _dry_run(engine: Engine, settings: Settings, tables: Tables, scope: Scope, report: Report) -> None:
    target, _stats, http = build.connect(settings)
    try:
        with session_scope(engine) as session:
            plan, _inputs, users = compute_plan(session, tables, target, scope)
            rows = [row_dict(outbox_row(0, change)) for change in plan.changes]
            report.changes = review_entries(rows, users, applied_groups(session))
            session.rollback()  # nothing is written, not even whose accounts these are
    finally:
        http.close()
    report.outcome = "would change" if report.changes else "no changes"


def _entries(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        rows = [row_dict(r) for r in plan_rows(session, run_id)]
        return review_entries(rows, applied_users(session), applied_groups(session))


def _recorder(calls: list[dict[str, Any]]) -> Callable[[httpx.Response], None]:
    """An httpx response hook noting each BI call: method, path and status (no query
    string, no headers: nothing secret is kept)."""
    def record(response: httpx.Response) -> None:
        calls.append({"method": response.request.method, "path": response.request.url.path,
                      "status": response.status_code})
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


__all__ = ["Report", "find", "provision", "sources_read"]
