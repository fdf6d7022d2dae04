"""The outbox against the sandbox in-process (its Flask app behind httpx's WSGI transport):
each change marked done with its audit event, failures retried with backoff then
quarantined without blocking the rest, and carried over to the next run's plan."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from sync.apply.runner import Policy, apply_rows
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange
from sync.plan.core import plan_changes
from sync.plan.state import applied_groups, applied_users
from sync.plan.store import enqueue, outbox_row
from sync.plan.values import DesiredUser, GroupRoles
from sync.runs import start_run
from sync.targets.calls import RetryPolicy
from sync.targets.omni import OmniTarget
from sync.sandbox import SandboxConfig, SandboxStore, create_sandbox_app, load_seed, seed_models

NONE = GroupRoles({}, {}, "v1")


@pytest.fixture
def omni(tmp_path: Path) -> OmniTarget:
    seed = load_seed()
    store = SandboxStore.open(tmp_path / "sandbox.json", seed)
    app = create_sandbox_app(SandboxConfig(api_keys=("k",), rate_limit=0), store)
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://acme.omniapp.co")
    return OmniTarget(http, ["k"], requests_per_minute=600000)


def person(n: int, **changes) -> DesiredUser:
    values = dict(user_name=f"p{n}@example.com", display_name=f"Person {n}", active=True,
                  attributes={"region": "EMEA"}, groups=frozenset({"Finance"}), tables_version="v1")
    return DesiredUser(**{**values, **changes})


def plan_run(engine: Engine, desired: list[DesiredUser]) -> int:
    with session_scope(engine) as session:
        plan = plan_changes(desired, applied_users(session), applied_groups(session), NONE, everyone=True)
        run = start_run(session, "plan", None, "full")
        enqueue(session, run.id, plan)
        return run.id


def rows(engine: Engine, run_id: int) -> dict[str, OutboxChange]:
    with session_scope(engine) as session:
        return {r.name: r for r in session.scalars(select(OutboxChange).where(OutboxChange.run_id == run_id))}


def test_each_change_is_marked_done_with_exactly_one_audit_event(engine: Engine, omni: OmniTarget) -> None:
    run_id = plan_run(engine, [person(1), person(2)])
    tally = apply_rows(engine, omni, run_id, "w1", Policy())
    assert (tally.applied, tally.failed, tally.quarantined) == (3, 0, 0)
    with session_scope(engine) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.run_id == run_id).order_by(AuditEvent.seq)))
    assert [(e.action, e.outcome) for e in events] == [
        ("bi.user.create", "applied"), ("bi.user.create", "applied"), ("bi.group.create", "applied")]
    assert events[0].before is None and events[0].after["attributes"] == {"region": "EMEA"}
    assert events[0].reason["tables_version"] == "v1"
    assert {r.status for r in rows(engine, run_id).values()} == {"done"}
    assert omni.find_group("Finance").member_ids == {omni.find_user("p1@example.com").id,
                                                     omni.find_user("p2@example.com").id}


def test_a_change_key_is_unique_so_a_plan_cannot_hold_a_change_twice(engine: Engine) -> None:
    plan = plan_changes([person(1)], {}, {}, NONE, everyone=True)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        run = start_run(session, "plan", None, "full")
        session.add_all([outbox_row(run.id, plan.changes[0]), outbox_row(run.id, plan.changes[0])])
        session.flush()


def test_a_failing_change_is_retried_then_quarantined_without_blocking_the_rest(
        engine: Engine, omni: OmniTarget) -> None:
    # "no_such_attribute" has no definition in the sandbox: Omni answers 400 every time.
    broken = person(2, attributes={"no_such_attribute": "x"}, groups=frozenset())
    run_id = plan_run(engine, [person(1), broken])
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    first = apply_rows(engine, omni, run_id, "w1", Policy(max_attempts=3, backoff_seconds=60), clock=lambda: now)
    assert (first.applied, first.failed) == (2, 1)
    failed = rows(engine, run_id)["user.create:p2@example.com"]
    assert (failed.status, failed.attempts) == ("failed", 1) and "no_such_attribute" in failed.last_error
    assert failed.next_attempt_at.replace(tzinfo=dt.UTC) == now + dt.timedelta(seconds=60)

    early = apply_rows(engine, omni, run_id, "w1", Policy(max_attempts=3, backoff_seconds=60),
                       clock=lambda: now + dt.timedelta(seconds=30))
    assert early == type(early)(0, 0, 0)  # not due yet

    later = [now + dt.timedelta(seconds=s) for s in (61, 200)]
    apply_rows(engine, omni, run_id, "w1", Policy(max_attempts=3, backoff_seconds=60), clock=lambda: later[0])
    last = apply_rows(engine, omni, run_id, "w1", Policy(max_attempts=3, backoff_seconds=60), clock=lambda: later[1])
    assert last.quarantined == 1
    assert rows(engine, run_id)["user.create:p2@example.com"].status == "quarantined"
    assert omni.find_user("p1@example.com") is not None and omni.find_user("p2@example.com") is None
    with session_scope(engine) as session:
        outcomes = [e.outcome for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "bi.user.create")
                                                        .order_by(AuditEvent.seq))]
    assert outcomes == ["applied", "failed", "failed", "quarantined"]

    # The next plan wants the same change: it stays quarantined (reported, not retried)...
    again = plan_run(engine, [person(1), broken])
    assert rows(engine, again)["user.create:p2@example.com"].status == "quarantined"
    # ...until what is wanted changes.
    fixed = plan_run(engine, [person(1), person(2, groups=frozenset())])
    assert rows(engine, fixed)["user.create:p2@example.com"].status == "pending"
    assert apply_rows(engine, omni, fixed, "w1", Policy()).applied == 1


def test_an_unreachable_platform_stops_the_apply_after_one_change_and_leaves_the_rest(engine: Engine) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1.0)
    down = OmniTarget(http, ["k"], models=seed_models(load_seed()), requests_per_minute=600000,
                      policy=RetryPolicy(attempts=2, backoff_base=0.0))
    run_id = plan_run(engine, [person(1), person(2), person(3)])
    tally = apply_rows(engine, down, run_id, "w1", Policy())
    assert (tally.applied, tally.failed) == (0, 1) and "Connection refused" in (tally.stopped or "")
    statuses = sorted(r.status for r in rows(engine, run_id).values())
    assert statuses == ["failed", "pending", "pending", "pending"]


def test_a_direct_role_for_a_user_not_created_yet_is_skipped_without_a_call_and_planned_again(
        engine: Engine, omni: OmniTarget) -> None:
    broken = person(2, attributes={"no_such_attribute": "x"}, groups=frozenset(),
                    roles={"warehouse/finance": "QUERIER"})
    run_id = plan_run(engine, [broken])
    tally = apply_rows(engine, omni, run_id, "w1", Policy())
    assert (tally.applied, tally.failed) == (1, 1)
    assert rows(engine, run_id)["user.role:p2@example.com:warehouse/finance"].status == "done"
    with session_scope(engine) as session:
        skipped = session.scalars(select(AuditEvent).where(AuditEvent.action == "bi.user.role")).one()
    assert skipped.outcome == "skipped" and skipped.after == {"skipped": "the user does not exist yet"}
    again = plan_run(engine, [person(2, groups=frozenset(), roles={"warehouse/finance": "QUERIER"})])
    assert set(rows(engine, again)) == {"user.create:p2@example.com", "user.role:p2@example.com:warehouse/finance"}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # past the failed create's backoff
    assert apply_rows(engine, omni, again, "w1", Policy(), clock=lambda: later).applied == 2
    assert [(r.model, r.role) for r in omni.user_roles(omni.find_user("p2@example.com").ref)
            if r.origin == "USER"] == [("finance", "QUERIER")]
