"""Benchmark: several worker processes applying one plan together, sharing BI keys' rate
limit through Redis, one of them killed mid-run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/scale_out.py [--workers 3] [--keys 3] [--rate 300] [--people 900]

Needs PostgreSQL (workers claim outbox rows with SKIP LOCKED; the script makes and drops
its own database on the server of DATABASE_URL) and Redis (``--redis``, default
redis://127.0.0.1:6379/12). The BI is the strict sandbox, served in this process with
RATE requests per minute per key over a ``--window`` second sliding window (60, as Omni)
and a gate that records every request's time, key and answer. PEOPLE synthetic people are
imported and planned once; WORKERS processes run ``hr2bi apply --run ID`` at once, the
shared limiter on (HR2BI_RATE_LIMIT_URL); after ``--kill-after`` seconds one of them gets
SIGKILL and a replacement starts. Prints, with the load average:

- aggregate rate / limit per key: successful calls per key per minute over the apply,
  / RATE (target >= 0.95)
- the largest share of any key's limit used in any window (target <= 1.0)
- 429s as a share of calls (target <= 1%)
- duplicates: userNames created twice in the BI (target 0); lost: changes not done, and
  what a fresh plan still finds to do (target 0)
"""

from __future__ import annotations

import argparse
import bisect
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench.apply_rate import write_export  # noqa: E402
from sync.config import load_settings  # noqa: E402
from sync.db import make_engine, migrate, session_scope  # noqa: E402
from sync.models import OutboxChange  # noqa: E402
from sync.plan.service import plan  # noqa: E402
from sync.rules import load_dir  # noqa: E402
from sync.sandbox.app import create_sandbox_app  # noqa: E402
from sync.sandbox.limits import Gate, SandboxConfig  # noqa: E402
from sync.sandbox.state import (  # noqa: E402
    SandboxError,  # noqa: E402
    SandboxStore,
    load_seed,
)
from sync.sources.csvfeed import CsvOptions, csv_feed  # noqa: E402
from sync.sources.importer import ImportOptions, import_feed  # noqa: E402
from sync.statuses import ChangeStatus  # noqa: E402


class RecordingGate(Gate):
    """The sandbox's gate, noting (time, key, status) of every request it admits or refuses."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.seen: list[tuple[float, str, int]] = []
        self._note = threading.Lock()

    def admit(self, authorization: str | None) -> None:
        key = (authorization or "").partition(" ")[2]
        try:
            super().admit(authorization)
        except SandboxError as exc:
            with self._note:
                self.seen.append((time.monotonic(), key, exc.status))
            raise
        with self._note:
            self.seen.append((time.monotonic(), key, 200))


def max_window_share(times: list[float], window: float, limit: int) -> float:
    """The most requests any ``window`` seconds held, as a share of ``limit``."""
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + window) - i)
    return best / limit


def database(url: str) -> tuple[str, Callable[[], None]]:
    base = make_url(load_settings(database_url=url).database_url)
    name = f"hr2bi_scale_out_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--rate", type=int, default=300, help="requests per minute per key")
    parser.add_argument("--window", type=float, default=60.0, help="the limit's window, seconds")
    parser.add_argument("--people", type=int, default=900)
    parser.add_argument("--kill-after", type=float, default=20.0, help="seconds; 0: kill none")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (workers claim with SKIP LOCKED)")
    url, drop = database(os.environ["DATABASE_URL"])
    keys = [f"scale-key-{n}-{uuid.uuid4().hex[:6]}" for n in range(args.keys)]
    per_window = max(1, round(args.rate * args.window / 60))  # the sandbox counts per window
    config = SandboxConfig(api_keys=tuple(keys), rate_limit=per_window, window=args.window)
    gate = RecordingGate(config)
    store = SandboxStore.open(None, load_seed())
    server = make_server("127.0.0.1", 0, create_sandbox_app(config, store, gate=gate), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bi = f"http://127.0.0.1:{server.server_port}"
    rate_limit = args.redis
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            env = {**os.environ, "DATABASE_URL": url, "HR2BI_BI_BASE_URL": bi,
                   "HR2BI_BI_API_KEYS": ",".join(keys), "HR2BI_BI_RATE_PER_KEY": str(args.rate),
                   "HR2BI_RATE_LIMIT_URL": rate_limit, "HR2BI_MAPPINGS_DIR": str(ROOT / "mappings"),
                   "PYTHONPATH": str(ROOT), "HR2BI_ENV_FILE": str(work / "none.env")}
            settings = load_settings(database_url=url, bi_base_url=bi, bi_api_keys=",".join(keys),
                                     bi_rate_per_key=float(args.rate), rate_limit_url=rate_limit,
                                     mappings_dir=ROOT / "mappings")
            engine = make_engine(settings.database_url)
            migrate(engine)
            export = work / "export.csv"
            write_export(export, args.people)
            amap = load_dir(settings.mappings_dir).attribute_map
            import_feed(engine, csv_feed(export, "hr", "full", CsvOptions(), amap), amap,
                        ImportOptions(rejects_dir=work / "rejects"))
            planned = plan(engine, settings)
            redis.Redis.from_url(rate_limit).flushdb()
            command = [sys.executable, "-m", "sync.cli", "apply", "--run", str(planned.run_id)]
            start_seen = len(gate.seen)
            started = time.monotonic()
            workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT) for _ in range(args.workers)]
            killed = None
            if args.kill_after > 0:
                time.sleep(args.kill_after)
                if workers[0].poll() is None:
                    workers[0].send_signal(signal.SIGKILL)
                    killed = workers[0].pid
                    workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT))
            errors = []
            for process in workers:
                err, _ = process.communicate(timeout=3600)
                if process.returncode not in (0, -signal.SIGKILL):
                    lines = [line for line in err.decode(errors="replace").replace("\r", "\n").splitlines()
                             if line.strip() and "ETA" not in line]
                    errors.append(f"rc {process.returncode}: " + " | ".join(lines[-3:]))
            elapsed = time.monotonic() - started
            with session_scope(engine) as session:
                open_rows = session.scalar(select(func.count()).select_from(OutboxChange).where(
                    OutboxChange.run_id == planned.run_id, OutboxChange.status != ChangeStatus.DONE))
            again = plan(engine, settings)  # what is still to do after the apply
            engine.dispose()
        seen = gate.seen[start_seen:]
        per_key: dict[str, list[float]] = defaultdict(list)
        for moment, key, status in seen:
            if status == 200:
                per_key[key].append(moment)
        limited = sum(1 for _, _, status in seen if status == 429)
        names = Counter(str(u["userName"]).lower() for u in store.state.users.values())
        duplicates = sum(n - 1 for n in names.values() if n > 1)
        load = os.getloadavg()
        print(f"scale-out: {args.workers} workers x {args.keys} keys at {args.rate}/min per key "
              f"({args.window:.0f} s window), {planned.counts.get('total')} changes, "
              f"{'a worker killed after %.0f s' % args.kill_after if killed else 'no worker killed'}, "
              f"{elapsed:.1f} s")
        for key in keys:
            times = sorted(per_key[key])
            share = max_window_share(times, args.window, per_window)
            per_minute = len(times) * 60 / elapsed
            print(f"  key {key[:11]}: {len(times)} calls, {per_minute:.0f}/min = {per_minute / args.rate:.3f} "
                  f"of the limit (target >= 0.95), largest window share {share:.3f} (target <= 1.0)")
        print(f"  429s: {limited} of {len(seen)} = {100 * limited / max(len(seen), 1):.2f}% (target <= 1%)")
        print(f"  duplicates: {duplicates} userNames created twice (target 0); changes not done: "
              f"{open_rows}, a fresh plan finds {again.counts.get('total', 0)} (target 0)")
        if errors:
            print("  worker errors:\n" + "\n".join(errors))
        print(f"  load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        server.shutdown()
        drop()


if __name__ == "__main__":
    main()
