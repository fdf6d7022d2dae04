"""Faults (issue 7, acceptance 4): a worker killed mid-run, a broker restart, the database
away at start, two manual syncs at once."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from sync.cli import main
from sync.config import Settings
from sync.models import OutboxChange
from tasks_harness import (
    BIN,
    PEOPLE_PROVISIONED,
    Door,
    Stack,
    free_port,
    private_redis,
    require_postgresql,
    stack,
)
from test_worker_runs import provisioned, queue_sync, runs

pytestmark = pytest.mark.slow


def applied(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(OutboxChange)
                               .where(OutboxChange.status == "done")) or 0)


def no_duplicates(processes: Stack) -> collections.Counter[str]:
    names = collections.Counter(u["userName"].lower() for u in processes.bi_users())
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]
    return names


def test_a_worker_killed_mid_run_and_restarted_finishes_without_duplicates(
        engine: Engine, settings: Settings, database_url: str, tmp_path: Path) -> None:
    require_postgresql(database_url)
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = private_redis(tmp_path, port)
    # A dead worker's task comes back after the visibility timeout; its lock after the ttl.
    quick = {"HR2BI_BROKER_VISIBILITY_TIMEOUT": "4", "HR2BI_SYNC_LOCK_TTL": "2"}
    try:
        with stack(tmp_path, database_url, broker) as processes:
            processes.sandbox("--slow-rate", "1", "--slow-seconds", "0.03")  # ~10 s of applying
            doomed = processes.worker("doomed", 1, **quick)
            queue_sync(settings, broker)
            processes.wait(lambda: applied(engine) >= 40, 90, "the apply to be under way")
            doomed.kill()
            halfway = applied(engine)
            assert 0 < halfway < PEOPLE_PROVISIONED
            processes.worker("restarted", 1, **quick)
            processes.wait(lambda: runs(engine, "plan", "succeeded") >= 1, 120,
                           "the restarted worker to finish the sync")
            names = no_duplicates(processes)
            assert len(names) == PEOPLE_PROVISIONED
            with engine.connect() as conn:  # nothing left undone: the new plan took over the rest
                left = conn.scalar(select(func.count()).select_from(OutboxChange)
                                   .where(OutboxChange.status.not_in(("done", "superseded"))))
                done = conn.scalar(select(func.count()).select_from(OutboxChange)
                                   .where(OutboxChange.status == "done"))
            assert left == 0
            assert halfway <= done <= 373  # every planned change applied once (plus at most a redo)
    finally:
        redis.stop()


def test_a_broker_restart_loses_no_queued_work(engine: Engine, settings: Settings,
                                               database_url: str, tmp_path: Path) -> None:
    require_postgresql(database_url)
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = private_redis(tmp_path, port)
    try:
        with stack(tmp_path, database_url, broker) as processes:
            processes.sandbox()
            queue_sync(settings, broker)  # no worker yet: the task waits in Redis
            redis.kill()  # a crash, not a clean shutdown
            redis = private_redis(tmp_path, port)
            processes.worker()
            processes.wait(lambda: runs(engine, "plan", "succeeded") == 1, 90,
                           "the sync queued before the restart")
            assert provisioned(processes) == PEOPLE_PROVISIONED
    finally:
        redis.stop()


def test_a_worker_waits_for_an_unreachable_database_and_recovers(
        engine: Engine, settings: Settings, database_url: str, tmp_path: Path) -> None:
    require_postgresql(database_url)
    url = make_url(database_url)
    door = Door((url.host or "127.0.0.1", url.port or 5432))  # shut: nothing listens yet
    through_door = url.set(host="127.0.0.1", port=door.port).render_as_string(hide_password=False)
    broker = f"redis://127.0.0.1:{free_port()}/0"
    redis = private_redis(tmp_path, make_url(broker).port or 0)
    try:
        with stack(tmp_path, database_url, broker) as processes:
            processes.sandbox()
            worker = processes.worker(DATABASE_URL=through_door)
            queue_sync(settings, broker)
            processes.wait(lambda: "cannot connect to the database" in worker.output(), 60,
                           "the worker to say the database is unreachable")
            assert "Check DATABASE_URL" in worker.output()
            assert runs(engine, "plan") == 0
            door.open()
            processes.wait(lambda: runs(engine, "plan", "succeeded") == 1, 120,
                           "the sync once the database is back")
    finally:
        door.shut()
        redis.stop()


def test_hr2bi_sync_with_the_database_down_says_so_in_one_line(tmp_path: Path) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    result = CliRunner().invoke(main, ["sync"], env={"DATABASE_URL": closed})
    assert result.exit_code == 1
    assert "cannot connect to the database" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_two_manual_syncs_at_once_run_one(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with stack(tmp_path, database_url, None) as processes:
        processes.sandbox("--slow-rate", "1", "--slow-seconds", "0.01")
        commands = [processes.start(f"sync-{n}", [str(BIN / "hr2bi"), "sync"]) for n in (1, 2)]
        for command in commands:
            command.popen.wait(timeout=300)
        outputs = [c.output() for c in commands]
        assert [c.popen.returncode for c in commands] == [0, 0], outputs
        assert sum("Another sync is running: skipped" in o for o in outputs) == 1, outputs
        assert runs(engine, "plan") == 1 and runs(engine, "import") == 1
        assert len(no_duplicates(processes)) == PEOPLE_PROVISIONED
