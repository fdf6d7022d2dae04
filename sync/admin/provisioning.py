"""The provisioning log: every SCIM write an identity provider made, as the audit log
recorded it (``sync.audit.record.record_scim_write``: actor ``token:<name>``, action
``user.create`` ... ``group.delete``, the resource before and after), and what it caused
downstream: the plan run that changed the BI account and each change of its outbox (the
BI call), with when it landed, its status, attempts and last error.

What is recorded and what is inferred: hr2bi does not store which plan run a SCIM write
caused (a push coalesces a burst of writes into one run, ``sync.jobs.push``, and the run
keeps no list of the writes). The log shows the *first plan run started after the write*
that planned a change for that user (or group), which is the push's run, or the nightly
sync's if it came first. A write that needed no BI change, one whose push is still
queued, and one made while pushes are off show no run. Requests the endpoint refused
(4xx) stored nothing and are not in the audit log, so they are not listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session

from sync.audit.log import exported_event
from sync.audit.store import EXPORTED_COLUMNS
from sync.models import AuditEvent, OutboxChange, Run
from sync.names import name_key
from sync.plan.service import KIND as PLAN_KIND
from sync.plan.values import KINDS
from sync.statuses import ChangeStatus

RESOURCES = ("user", "group")
OPERATIONS = ("create", "replace", "patch", "delete")
SCIM_ACTIONS = tuple(f"{r}.{o}" for r in RESOURCES for o in OPERATIONS)
USER_KINDS = tuple(k for k in KINDS if k.startswith("user.") and k != "user.role")
MEMBERSHIP_KINDS = ("group.create", "group.members")  # payloads naming members
INFERRED = ("hr2bi does not record which plan run a SCIM write caused: shown is the first "
            "plan run started after the write that planned a change for that user or group")


@dataclass(frozen=True)
class ScimLogQuery:
    """Which writes: by the IdP's token name, operation, resource type, audit outcome,
    times in [since, until), and ``before`` the seq the page ends below."""

    token: str | None = None
    operation: str | None = None
    resource: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = 50


def scim_requests(session: Session, query: ScimLogQuery) -> dict[str, Any]:
    """A page of SCIM writes newest first, each with its downstream effect; the cursor of
    the next page (None at the end)."""
    statement = select(*EXPORTED_COLUMNS).where(*_conditions(query))
    rows = session.execute(statement.order_by(AuditEvent.seq.desc()).limit(query.limit + 1)).all()
    items = [_request(session, exported_event(row._mapping), row.time) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"requests": items, "next_before": items[-1]["seq"] if more and items else None,
            "link_note": INFERRED}


def _conditions(query: ScimLogQuery) -> list[Any]:
    resources = (query.resource,) if query.resource else RESOURCES
    operations = (query.operation,) if query.operation else OPERATIONS
    conditions: list[Any] = [AuditEvent.action.in_([f"{r}.{o}" for r in resources for o in operations])]
    if query.token:
        conditions.append(AuditEvent.actor == f"token:{query.token.strip()}")
    else:
        conditions.append(AuditEvent.actor.startswith("token:"))
    if query.outcome:
        conditions.append(AuditEvent.outcome == query.outcome)
    if query.since is not None:
        conditions.append(AuditEvent.time >= query.since)
    if query.until is not None:
        conditions.append(AuditEvent.time < query.until)
    if query.before is not None:
        conditions.append(AuditEvent.seq < query.before)
    return conditions


def _request(session: Session, event: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    resource, _, operation = event["action"].partition(".")
    target = event["target"] if isinstance(event["target"], dict) else {}
    name = target.get("name")
    changes, run = _downstream(session, resource, str(name), at) if name else ([], None)
    return {"seq": event["seq"], "time": event["time"], "token": event["actor"].removeprefix("token:"),
            "resource": resource, "operation": operation, "outcome": event["outcome"],
            "target_id": str(target.get("id", "")), "target_name": name,
            "run": run, "changes": changes, "landed": _landed(changes)}


def _landed(changes: list[dict[str, Any]]) -> str:
    """``none`` (no BI change found), ``done`` (every change landed), ``failed`` (one
    failed or was quarantined) or ``pending``."""
    if not changes:
        return "none"
    statuses = {c["status"] for c in changes}
    if statuses <= {ChangeStatus.DONE}:
        return "done"
    if statuses & {ChangeStatus.FAILED, ChangeStatus.QUARANTINED, ChangeStatus.REJECTED}:
        return "failed"
    return "pending"


def _names(resource: str, subject: str) -> Any:
    """The outbox ``name``s (indexed) of the changes to one user or group."""
    key = name_key(subject)
    if resource == "group":
        return OutboxChange.name.in_([f"{k}:{key}" for k in KINDS if k.startswith("group.")])
    # user.role's name carries the connection/model: a range, so the index still serves it.
    return or_(OutboxChange.name.in_([f"{k}:{key}" for k in USER_KINDS]),
               and_(OutboxChange.name >= f"user.role:{key}:", OutboxChange.name < f"user.role:{key};"))


def _downstream(session: Session, resource: str, subject: str,
                at: dt.datetime) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    first = session.scalar(
        select(OutboxChange.run_id).join(Run, Run.id == OutboxChange.run_id)
        .where(_names(resource, subject), Run.kind == PLAN_KIND, Run.started_at >= at)
        .order_by(OutboxChange.run_id).limit(1))
    if first is None:
        return [], None
    run = session.get(Run, first)
    assert run is not None
    rows = list(session.scalars(select(OutboxChange).where(OutboxChange.run_id == first,
                                                           _names(resource, subject))
                                .order_by(OutboxChange.phase, OutboxChange.id)))
    if resource == "user":
        rows += _memberships(session, first, subject)
    return [_change(session, row) for row in rows], {
        "id": run.id, "mode": run.mode, "status": run.status, "started_at": utc_iso(run.started_at)}


def _memberships(session: Session, run_id: int, user_name: str) -> list[OutboxChange]:
    """The run's group changes that add (or create with) or remove this user (a scoped run has
    few; the payload's user names are compared by name key)."""
    key = name_key(user_name)
    rows = session.scalars(select(OutboxChange).where(OutboxChange.run_id == run_id,
                                                      OutboxChange.kind.in_(MEMBERSHIP_KINDS)))
    return [row for row in rows
            if any(name_key(str(n)) == key for names in row.payload.values()
                   if isinstance(names, list) for n in names)]


def _change(session: Session, row: OutboxChange) -> dict[str, Any]:
    """One outbox change as the BI call it is; a superseded one is followed to the newer
    run's row that took it over (where it landed)."""
    landed = row
    if row.status == ChangeStatus.SUPERSEDED:
        newer = session.scalars(select(OutboxChange).where(OutboxChange.name == row.name,
                                                           OutboxChange.run_id > row.run_id)
                                .order_by(OutboxChange.run_id)).first()
        landed = newer or row
    return {"id": row.id, "kind": row.kind, "subject": row.subject, "action": KINDS[row.kind][0],
            "run": landed.run_id, "status": landed.status, "attempts": landed.attempts,
            "done_at": utc_iso(landed.done_at), "last_error": landed.last_error,
            "payload": row.payload}


def utc_iso(value: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (SQLite gives it back without its timezone)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
