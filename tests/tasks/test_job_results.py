"""The jobs' typed results as the dicts Celery tasks return, the one policy for a person
someone else is provisioning, and approval routed by a run's kind."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.config import Settings
from sync.db import session_scope
from sync.jobs.approve import approve
from sync.jobs.plan_apply import PlanApplyResult
from sync.jobs.push import marker, person_lock, provision_person
from sync.jobs.results import SourceOutcome, SyncOutcome, as_dict
from sync.locks import acquire, held, holder_of, new_holder
from sync.plan.service import PlanResult
from sync.runs import RunError, start_run
from sync.statuses import RunStatus, SyncStatus


def test_a_skipped_sync_is_a_status_and_nothing_else() -> None:
    assert as_dict(SyncOutcome(SyncStatus.SKIPPED)) == {"status": "skipped", "imports": [], "plan": {}, "apply": {}}


def test_a_held_plan_has_no_apply_and_says_why() -> None:
    plan = PlanResult(7, RunStatus.HELD, {"total": 120}, "held as run 7: too many", ("row 3: no email",))
    outcome = SyncOutcome(SyncStatus.DONE, (SourceOutcome("hr", RunStatus.SUCCEEDED, 6),), plan)
    assert outcome.held
    assert as_dict(outcome) == {
        "status": "done",
        "imports": [{"source": "hr", "status": "succeeded", "run_id": 6, "reason": None}],
        "plan": {"run_id": 7, "status": "held", "counts": {"total": 120}, "reason": "held as run 7: too many",
                 "problems": ("row 3: no email",)},
        "apply": {}}


def test_a_push_result_has_the_plan_and_its_apply() -> None:
    done = PlanApplyResult(PlanResult(3, RunStatus.PLANNED, {"total": 1}), ApplyResult(3, 1, 0, 0, False, 2))
    assert done.last == done.applied
    assert as_dict(done) == {
        "plan": {"run_id": 3, "status": "planned", "counts": {"total": 1}, "reason": None, "problems": ()},
        "apply": {"run_id": 3, "applied": 1, "failed": 0, "quarantined": 0, "held": False, "bi_calls": 2,
                  "error": None, "superseded": None, "rejected": None}}


@pytest.mark.parametrize(("delay", "countdown"), [(0.2, 1.0), (5.0, 5.0)])
def test_a_person_another_worker_is_provisioning_is_retried_after_the_push_delay(
        settings: Settings, engine: Engine, delay: float, countdown: float) -> None:
    assert acquire(engine, marker("u1"), new_holder("push"), 60) is not None  # the queued push's marker
    retried: list[float] = []
    with held(engine, person_lock("u1"), 30, label="another worker") as lease:
        assert lease is not None
        changed = settings.model_copy(update={"push_delay_seconds": delay})
        assert provision_person(engine, changed, "u1", retried.append) is None
    assert retried == [countdown]
    assert holder_of(engine, marker("u1")) is None  # so a write meanwhile queues a new push


def test_only_import_and_plan_runs_are_approved(settings: Settings, engine: Engine) -> None:
    with session_scope(engine) as session:
        run = start_run(session, "export", None, None)
        run.status = RunStatus.HELD
        run_id = run.id
    with pytest.raises(RunError, match=f"run {run_id} is a export run: only import and plan runs"):
        approve(engine, settings, run_id, "ciso@example.com")
