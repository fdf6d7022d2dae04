"""Three `hr2bi apply --run ID` processes sharing one plan on PostgreSQL, with the BI keys'
rate limit shared through Redis: every change applied exactly once, phases in order (no
membership batch before its members exist), nothing left for the next plan, no 429 from
the strict sandbox whose window three separate buckets would overrun."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.engine import Engine
from tasks_harness import REPO, require_postgresql, require_redis
from werkzeug.serving import make_server

from sync.config import Settings, load_settings
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange
from sync.plan.service import plan
from sync.rules import load_dir
from sync.sandbox.app import create_sandbox_app
from sync.sandbox.limits import SandboxConfig
from sync.sandbox.state import SandboxStore, load_seed
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.importer import ImportOptions, import_feed
from sync.statuses import ChangeStatus

KEYS = ("worker-key-1", "worker-key-2")
RATE, WINDOW = 1200, 5.0  # per key: the workers' pace; the sandbox allows 10% more per window


@pytest.fixture
def sandbox() -> Iterator[tuple[str, SandboxStore]]:
    config = SandboxConfig(api_keys=KEYS, rate_limit=int(RATE * WINDOW / 60 * 1.1), window=WINDOW)
    store = SandboxStore.open(None, load_seed())
    server = make_server("127.0.0.1", 0, create_sandbox_app(config, store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", store
    server.shutdown()
    thread.join(5)


def test_three_workers_apply_one_run_once_in_order(engine: Engine, settings: Settings, database_url: str,
                                                   sandbox: tuple[str, SandboxStore], tmp_path: Path) -> None:
    require_postgresql(database_url)
    limit_url = require_redis()
    redis.Redis.from_url(limit_url).flushdb()
    url, store = sandbox
    mine = load_settings(database_url=database_url, migrate_on_start=False, bi_base_url=url,
                         bi_api_keys=",".join(KEYS), bi_rate_per_key=float(RATE),
                         rate_limit_url=limit_url, mappings_dir=REPO / "mappings")
    amap = load_dir(mine.mappings_dir).attribute_map
    feed = csv_feed(REPO / "examples/hr/northwind_workers.csv", "northwind", "full", CsvOptions(), amap)
    import_feed(engine, feed, amap, ImportOptions(rejects_dir=tmp_path / "rejects"))
    planned = plan(engine, mine)
    assert planned.counts["total"] > 300 and planned.counts["group_creates"] > 0
    env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_BI_BASE_URL": url,
           "HR2BI_BI_API_KEYS": ",".join(KEYS), "HR2BI_BI_RATE_PER_KEY": str(RATE),
           "HR2BI_RATE_LIMIT_URL": limit_url, "HR2BI_MAPPINGS_DIR": str(REPO / "mappings"),
           "HR2BI_MIGRATE_ON_START": "false", "PYTHONPATH": str(REPO),
           "HR2BI_ENV_FILE": str(tmp_path / "none.env")}
    command = [sys.executable, "-m", "sync.cli", "apply", "--run", str(planned.run_id)]
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for _ in range(3)]
    outputs = [w.communicate(timeout=300)[0].decode(errors="replace") for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs

    with session_scope(engine) as session:
        rows = list(session.scalars(select(OutboxChange).where(OutboxChange.run_id == planned.run_id)))
        events = collections.Counter(
            e.reason["change"] for e in session.scalars(select(AuditEvent).where(
                AuditEvent.run_id == planned.run_id, AuditEvent.actor.like("system:apply@%")))
            if e.outcome == "applied")
    assert {r.status for r in rows} == {ChangeStatus.DONE}
    assert all(r.attempts == 0 for r in rows), [(r.name, r.last_error) for r in rows if r.attempts]
    assert len({r.claimed_by for r in rows}) >= 2  # the run was shared
    assert events == collections.Counter(r.name for r in rows)  # each change once
    # Phases in order: every change of a phase was done before any of the next phase.
    phases_done = [r.phase for r in sorted(rows, key=lambda r: r.done_at)]
    first_of = {p: phases_done.index(p) for p in set(phases_done)}
    last_of = {p: len(phases_done) - 1 - phases_done[::-1].index(p) for p in set(phases_done)}
    ordered = sorted(first_of)
    assert all(last_of[a] < first_of[b] for a, b in zip(ordered, ordered[1:]))
    assert plan(engine, mine).counts["total"] == 0
    names = collections.Counter(str(u["userName"]).lower() for u in store.state.users.values())
    assert max(names.values()) == 1
