"""A newer plan taking over an older run's unfinished changes loses none of them: a plan
for one person (an identity provider's push) takes over a group's pending batch without
dropping the other members it held; and a failure recorded late never overwrites a change
another worker has meanwhile applied."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from test_outbox_apply import omni  # noqa: F401 (a fixture: the sandbox in-process)

from sync.apply.runner import Policy, apply_rows, record_failure
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange
from sync.plan.core import plan_changes
from sync.plan.state import applied_groups, applied_users
from sync.plan.store import enqueue
from sync.plan.values import DesiredUser, GroupRoles
from sync.runs import start_run
from sync.targets import TargetUnavailable
from sync.targets.omni import OmniTarget

NONE = GroupRoles({}, {}, "v1")


def person(n: int, *groups: str) -> DesiredUser:
    return DesiredUser(user_name=f"p{n}@example.com", display_name=f"Person {n}", active=True,
                       groups=frozenset(groups), tables_version="v1")


def plan_run(engine: Engine, desired: list[DesiredUser], *, everyone: bool) -> int:
    with session_scope(engine) as session:
        plan = plan_changes(desired, applied_users(session), applied_groups(session), NONE, everyone=everyone)
        run = start_run(session, "plan", None, "full" if everyone else "scoped")
        enqueue(session, run.id, plan, everyone=everyone, scope=[d.user_name for d in desired])
        return run.id


def payloads(engine: Engine, run_id: int) -> dict[str, dict]:
    with session_scope(engine) as session:
        return {r.name: dict(r.payload) for r in session.scalars(
            select(OutboxChange).where(OutboxChange.run_id == run_id))}


def test_a_plan_for_one_person_keeps_the_other_members_of_a_batch_it_takes_over(
        engine: Engine, omni: OmniTarget) -> None:
    base = plan_run(engine, [person(1, "Sales"), person(2, "Sales"), person(3, "Sales")], everyone=True)
    apply_rows(engine, omni, base, "w", Policy())
    # The nightly plan moves p2 and p3 to Finance (new group) and p1 later; before it is
    # applied, p1's push plans p1 alone.
    nightly = plan_run(engine, [person(1, "Sales"), person(2, "Finance"), person(3, "Finance")], everyone=True)
    push = plan_run(engine, [person(1, "Finance")], everyone=False)

    assert payloads(engine, push)["group.create:finance"]["members"] == [
        "p1@example.com", "p2@example.com", "p3@example.com"]
    assert payloads(engine, push)["group.members:sales"] == {
        "add": [], "remove": ["p1@example.com", "p2@example.com", "p3@example.com"]}
    apply_rows(engine, omni, push, "w", Policy())
    apply_rows(engine, omni, nightly, "w", Policy())

    ids = {f"p{n}@example.com": omni.find_user(f"p{n}@example.com").id for n in (1, 2, 3)}
    assert omni.find_group("Finance").member_ids == set(ids.values())
    assert omni.find_group("Sales").member_ids == set()
    with session_scope(engine) as session:
        plan = plan_changes([person(n, "Finance") for n in (1, 2, 3)], applied_users(session),
                            applied_groups(session), NONE, everyone=True)
    assert plan.changes == ()


def test_a_failure_recorded_after_another_worker_applied_the_change_changes_nothing(
        engine: Engine, omni: OmniTarget) -> None:
    run = plan_run(engine, [person(1)], everyone=True)
    with session_scope(engine) as session:
        row_id = session.scalars(select(OutboxChange.id).where(OutboxChange.run_id == run)).one()
    apply_rows(engine, omni, run, "fast worker", Policy())  # done while the slow one waited

    with Session(engine) as session:
        status = record_failure(session, row_id, "slow worker", Policy(), TargetUnavailable("timed out"))

    assert status == "done"
    with session_scope(engine) as session:
        row = session.get(OutboxChange, row_id)
        assert (row.status, row.attempts, row.claimed_by) == ("done", 0, "fast worker")
        outcomes = list(session.scalars(select(AuditEvent.outcome).where(AuditEvent.run_id == run)))
    assert outcomes == ["applied"]


def test_a_push_taking_over_a_batch_leaves_a_member_whose_create_is_pending_to_its_own_run(
        engine: Engine, omni: OmniTarget) -> None:
    """Two IdP pushes a moment apart (a rename, a new hire): the second plans the group's
    batch with the first's new member in it. Applied before the first run has created that
    user, the member was skipped as unknown and the first run's batch was superseded: the
    user stayed out of the group until the next full plan."""
    base = plan_run(engine, [person(1, "Sales")], everyone=True)
    apply_rows(engine, omni, base, "w", Policy())
    first = plan_run(engine, [person(2, "Sales")], everyone=False)
    second = plan_run(engine, [person(3, "Sales")], everyone=False)

    assert payloads(engine, first)["group.members:sales"] == {"add": ["p2@example.com"], "remove": []}
    assert payloads(engine, second)["group.members:sales"] == {"add": ["p3@example.com"], "remove": []}
    apply_rows(engine, omni, second, "w", Policy())  # the second push's worker is faster
    apply_rows(engine, omni, first, "w", Policy())

    ids = {omni.find_user(f"p{n}@example.com").id for n in (1, 2, 3)}
    assert omni.find_group("Sales").member_ids == ids
    with session_scope(engine) as session:
        plan = plan_changes([person(n, "Sales") for n in (1, 2, 3)], applied_users(session),
                            applied_groups(session), NONE, everyone=True)
    assert plan.changes == ()
