"""Planning, as the CLI, the jobs and the demo call it:

    plan(engine, settings, *, tables=None, people=None, scim_users=None, reconcile=False) -> PlanResult
    compute_plan(session, tables, target, scope) -> (Plan, Inputs, applied users)

A plan is saved as a run (kind ``plan``) with its changes in the outbox; applying it
(:mod:`sync.apply.service`) applies exactly that run's changes. A plan with nothing to
change is ``empty`` and never reaches the BI platform; a plan the safety guard holds
(:mod:`sync.plan.guard`) applies nothing until approved (:mod:`sync.jobs.approve`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.audit.actors import PLAN, system_actor
from sync.audit.log import record_event
from sync.audit.record import record_settings_changes
from sync.config import Settings
from sync.db import session_scope
from sync.errors import UserError
from sync.plan.core import plan_changes
from sync.plan.desired import Inputs, Scope, group_roles, plan_inputs, remember_owners
from sync.plan.guard import GuardLimits, assess
from sync.plan.reconcile import read_actual
from sync.plan.state import applied_groups, applied_users, replace_all
from sync.plan.store import enqueue, open_count, outbox_counts
from sync.plan.values import AppliedUser, DesiredUser, Plan
from sync.rules import Tables, load_dir
from sync.runs import finish_run, get_run, hold_message, start_run
from sync.statuses import RunStatus
from sync.targets import Target
from sync.targets.build import add_call_stats, connect

KIND = "plan"
EMPTY = "empty"  # a plan with nothing to change: its run succeeded, nothing reaches the BI platform


class PipelineError(UserError):
    """A plan or apply cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class PlanResult:
    run_id: int
    status: str  # RunStatus.PLANNED or RunStatus.HELD (its run's status), or EMPTY
    counts: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None
    problems: tuple[str, ...] = ()


def plan(engine: Engine, settings: Settings, *, tables: Tables | None = None,
         people: Collection[int] | None = None, scim_users: Collection[str] | None = None,
         reconcile: bool = False) -> PlanResult:
    """Plan for everyone, or for ``people`` and ``scim_users`` (grown as every scoped plan
    grows); ``tables`` are the mapping tables a job already loaded (read from
    ``mappings_dir`` without)."""
    if tables is None:
        tables = load_dir(settings.mappings_dir)
    scope = Scope(people, scim_users)
    target, stats, http = connect(settings)
    try:
        with session_scope(engine) as session:
            if reconcile:
                users, groups = read_actual(target, managed_attributes(tables), applied_users(session))
                replace_all(session, users, groups)
                session.flush()
            result = _save_plan(session, settings, tables, target, scope, reconcile)
            if stats.calls:  # reconcile's reads
                add_call_stats(get_run(session, result.run_id), stats)
            return result
    finally:
        http.close()


def managed_attributes(tables: Tables) -> set[str]:
    return {rule.attribute for rule in tables.attributes}


def compute_plan(session: Session, tables: Tables, target: Target,
                 scope: Scope) -> tuple[Plan, Inputs, dict[str, AppliedUser]]:
    """The changes a plan for ``scope`` would make, its inputs (the scope as grown, the
    desired accounts as the target can hold them) and the applied users it diffed against;
    nothing is written."""
    inputs = plan_inputs(session, tables, scope)
    desired = [_supported(d, target) for d in inputs.desired]
    users = applied_users(session)
    caps = target.capabilities
    the_plan = plan_changes(desired, users, applied_groups(session), group_roles(tables),
                            everyone=inputs.scope.everyone, roles=caps.roles, attributes=caps.attributes,
                            problems=inputs.problems, retired=inputs.retired)
    return the_plan, replace(inputs, desired=desired), users


def _save_plan(session: Session, settings: Settings, tables: Tables, target: Target,
               scope: Scope, reconcile: bool) -> PlanResult:
    the_plan, inputs, users = compute_plan(session, tables, target, scope)
    scope, problems, deleted, desired = inputs.scope, inputs.problems, inputs.retired, inputs.desired
    remember_owners(session, desired, everyone=scope.everyone)
    mode = "reconcile" if reconcile else "full" if scope.everyone else "scoped"
    run = start_run(session, KIND, None, mode, {"tables_version": tables.version,
                                                  "problems": list(problems)[:200]})
    counts = the_plan.counts
    active = sum(1 for u in users.values() if u.active)
    verdict = assess(counts.deactivations, counts.role_downgrades, active,
                     GuardLimits(settings.guard_max_share, settings.guard_max_count,
                                 settings.guard_min_changes))
    summary = counts.to_dict() | {"active_accounts": active}
    queued = enqueue(session, run.id, the_plan, everyone=scope.everyone,
                     scope=[*(d.user_name for d in desired), *deleted])
    _supersede(session, queued.superseded_runs, run.id)
    # A plan is where settings and mapping tables turn into access: a change to either is
    # recorded before the first plan that uses it is applied, in that plan's transaction.
    # After the outbox writes: an apply holds its change's outbox row and then waits for
    # the audit log's lock, so taking the log first here would deadlock with it.
    record_settings_changes(session, settings, tables.version, run=run.id)
    if not the_plan.changes:
        finish_run(run, RunStatus.SUCCEEDED, summary, "nothing to change")
        return PlanResult(run.id, EMPTY, summary, None, tuple(problems))
    summary |= {f"carried_{k}": v for k, v in queued.carried.items() if v}
    if verdict.held:
        reason = hold_message(run.id, verdict.reason or "")
        finish_run(run, RunStatus.HELD, summary, reason)
        record_event(session, actor=system_actor(PLAN), action="bi.run.held", target={"type": "run", "id": run.id},
                     after=summary, reason={"guard": verdict.reason, "tables_version": tables.version},
                     run=run.id, outcome="held")
        return PlanResult(run.id, RunStatus.HELD, summary, reason, tuple(problems))
    run.status, run.counts = RunStatus.PLANNED, summary
    return PlanResult(run.id, RunStatus.PLANNED, summary, None, tuple(problems))


def _supersede(session: Session, run_ids: Collection[int], newer: int) -> None:
    """Older plans whose unfinished changes ``newer`` took over end ``superseded`` once
    nothing of theirs is left to apply (one killed mid-apply stayed ``planned`` forever).
    Failed and approved runs keep their status: it says what happened to them."""
    for run_id in sorted(run_ids):
        old = get_run(session, run_id)
        if old.status in (RunStatus.PLANNED, RunStatus.HELD) and not open_count(session, run_id):
            counts = {**old.counts, "outbox": outbox_counts(session, run_id)}
            finish_run(old, RunStatus.SUPERSEDED, counts, f"superseded by run {newer}: it planned the "
                       f"changes this run had not applied yet (`hr2bi runs show {newer}`)")


def _supported(d: DesiredUser, target: Target) -> DesiredUser:
    """Attributes the target cannot hold are left out rather than refused one by one."""
    names = target.capabilities.attribute_names
    if names is None:
        return d
    return replace(d, attributes={k: v for k, v in d.attributes.items() if k in names})


__all__ = ["EMPTY", "KIND", "PipelineError", "PlanResult", "compute_plan", "managed_attributes", "plan"]
