"""Issue 6, acceptance 4 and 5: apply killed with SIGKILL at random points and re-run
ends in exactly the right state with no duplicates and one audit event per change; a
sandbox answering 429s, 5% 500s and late answers (client timeouts) still converges."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, KEY, MAPPINGS, Sandbox, assert_sandbox_matches, bi_settings, example_rows, import_rows, sandbox_server)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import PlanResult, plan
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange

pytestmark = pytest.mark.slow
ROWS = 60  # a slice of the example export: enough changes for a kill to land anywhere


def _apply_process(database_url: str, sandbox: Sandbox, run_id: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_BI_BASE_URL": sandbox.url,
           "HR2BI_BI_API_KEYS": KEY, "HR2BI_BI_RATE_PER_KEY": "60000", "HR2BI_MAPPINGS_DIR": str(MAPPINGS),
           "HR2BI_MIGRATE_ON_START": "false"}
    hr2bi = str(Path(sys.executable).with_name("hr2bi"))
    return subprocess.Popen([hr2bi, "apply", "--run", str(run_id), "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _open_changes(engine: Engine, run_id: int) -> int:
    with session_scope(engine) as session:
        return len(list(session.scalars(select(OutboxChange.id).where(
            OutboxChange.run_id == run_id, OutboxChange.status.in_(("pending", "failed"))))))


@pytest.mark.parametrize("trial", [1, 2, 3])
def test_apply_killed_at_random_points_then_rerun_applies_everything_exactly_once(
        trial: int, engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rng = random.Random(trial)
    import_rows(engine, tmp_path, example_rows()[:ROWS])
    planned = plan(engine, bi_settings(database_url, bi_sandbox))
    total = planned.counts["total"]
    kills = 0
    for _ in range(4):
        process = _apply_process(database_url, bi_sandbox, planned.run_id)
        # Kill once a random number of changes is done (any point: before the first, or
        # between a call and its commit), whatever the machine's speed.
        done_before = total - _open_changes(engine, planned.run_id)
        stop_at = done_before + rng.randrange(0, max(total - done_before, 1))
        while process.poll() is None and total - _open_changes(engine, planned.run_id) < stop_at:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.02))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        if not _open_changes(engine, planned.run_id):
            break
    final = _apply_process(database_url, bi_sandbox, planned.run_id)
    _, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors.decode()

    assert kills >= 1
    assert _open_changes(engine, planned.run_id) == 0
    assert_sandbox_matches(engine, bi_sandbox)  # includes: no userName twice
    with session_scope(engine) as session:
        done = list(session.scalars(select(OutboxChange).where(OutboxChange.run_id == planned.run_id)))
        events = Counter(session.scalars(select(AuditEvent.reason["change"].as_string()).where(
            AuditEvent.run_id == planned.run_id, AuditEvent.outcome == "applied")))
    assert len(done) == total and {c.status for c in done} == {"done"}
    assert events == Counter({c.name: 1 for c in done})  # one audit event per change, none lost
    again = plan(engine, bi_settings(database_url, bi_sandbox))
    assert again.status == "empty"


def test_apply_converges_through_429s_500s_and_timeouts(engine: Engine, database_url: str, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:ROWS])
    with sandbox_server(tmp_path, "--rate-limit", "15", "--rate-window", "0.5", "--no-retry-after",
                        "--error-rate", "0.05", "--slow-rate", "0.05", "--slow-seconds", "1.2") as sandbox:
        settings = bi_settings(database_url, sandbox, bi_timeout=0.5, apply_backoff_seconds=0.0)
        results = []
        for _ in range(6):  # failed changes go again on the next apply; a new plan mops up
            result = plan_and_apply(engine, settings).last
            results.append(result)
            if isinstance(result, PlanResult) and result.status == "empty":
                break
        statuses = Counter(c.rsplit(" ", 1)[1] for c in sandbox.calls())
        assert isinstance(results[-1], PlanResult) and results[-1].status == "empty"
        assert statuses["429"] > 0 and statuses["500"] > 0
        assert_sandbox_matches(engine, sandbox)
