"""Benchmark: append 1,000,000 audit events, then export them all and verify the bundle.

    .venv/bin/python bench/audit_verify.py [--events 1000000] [--repeat 3]
                                           [--database-url postgresql://.../SCRATCH_DB]

Appends to a fresh SQLite database (or to the scratch PostgreSQL database named by
--database-url: EVERYTHING IN IT IS DROPPED first), in three ways: ``record_event`` one
event per transaction and ten per transaction over a sample (how SCIM writes and BI
changes append), and bulk ``record_events`` (how an import appends) for the rest. Then
runs ``hr2bi audit export`` and ``hr2bi audit verify`` as child processes, --repeat times
each, verify once more in a single process (``--jobs 1``), and the admin API's zip stream once, printing the wall time and peak RSS of each
(best and median: other work shares the machine). Targets: appending adds under 1 ms
to an event's transaction, verifying 1,000,000 events under 60 s, exporting them in under 1 GB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from sync.audit.checkpoint import generate_key_files  # noqa: E402
from sync.audit.consistency import largest_stored_head, prove_extension  # noqa: E402
from sync.audit.log import Event, record_event, record_events  # noqa: E402
from sync.audit.merkle import root_hash  # noqa: E402
from sync.audit.store import (  # noqa: E402
    ProvenLog,
    checkpoint_now,
    leaf_hashes,
    sign_log,
    store_checkpoint,
)
from sync.config import load_settings  # noqa: E402
from sync.db import make_engine, migrate, session_scope  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HR2BI = str(Path(sys.executable).with_name("hr2bi"))
SAMPLE_SINGLE, SAMPLE_TENS = 1000, 100  # events alone; transactions of ten
BULK_TRANSACTION = 10_000
RUN_EVENTS = 1000  # appended between the trusted checkpoint and the proven one
ORIGIN = "bench"
DEPARTMENTS = ["Finance", "Sales", "R&D", "Human Resources", "Marketing", "Support"]


def event(n: int) -> Event:
    """A plausible mix: BI account changes with before/after and the rules that caused them,
    group membership changes, and import person events."""
    who = {"type": "user", "id": f"u-{n}", "name": f"person.{n}@northwind.example"}
    dept = DEPARTMENTS[n % len(DEPARTMENTS)]
    reason = {"rules": [f"mappings/groups.csv:{n % 40 + 2}", f"mappings/roles.csv:{n % 12 + 2}"],
              "tables_version": "sha256:4f1c0a9e", "source": "workday"}
    kind = n % 4
    if kind == 0:
        return Event("source:workday", "person.change", who, before={"department": "Sales"},
                     after={"department": dept, "title": "Analyst"}, reason=reason, run=n // 5000 + 1)
    if kind == 1:
        return Event("token:okta-provisioning", "user.create", who, after={"active": True,
                     "groups": [dept], "attributes": {"cost_center": f"cc-{n % 900 + 1000}"}},
                     reason=reason, run=n // 5000 + 1, outcome="applied")
    if kind == 2:
        return Event("sync", "group.add_member", {"type": "group", "id": f"g-{dept}", "name": dept,
                     "member": who}, reason=reason, run=n // 5000 + 1, outcome="applied")
    return Event("sync", "user.disable", who, before={"active": True}, after={"active": False},
                 reason=reason, run=n // 5000 + 1, outcome="failed" if n % 97 == 0 else "applied")


def fresh_engine(url: str | None, workdir: Path) -> tuple[Engine, str]:
    if url is None:
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        url = load_settings(database_url=url).database_url
        with make_engine(url).begin() as conn:  # a scratch database: start from nothing
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine = make_engine(url)
    migrate(engine)
    return engine, url


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def append_bulk(engine: Engine, count: int) -> None:
    for start in range(0, count, BULK_TRANSACTION):
        with session_scope(engine) as session:
            record_events(session, (event(n) for n in range(start, min(count, start + BULK_TRANSACTION))))


def append_each(engine: Engine, first: int, transactions: int, per_transaction: int) -> tuple[float, float]:
    """(wall time with the commits, time inside record_event): the second is what an event
    adds to the transaction of the decision it records, which commits anyway."""
    inside, start = 0.0, time.perf_counter()
    for t in range(transactions):
        with session_scope(engine) as session:
            session.connection()  # the decision's transaction is open already when it records
            for n in range(first + t * per_transaction, first + (t + 1) * per_transaction):
                e = event(n)
                called = time.perf_counter()
                record_event(session, actor=e.actor, action=e.action, target=e.target, before=e.before,
                             after=e.after, reason=e.reason, run=e.run, outcome=e.outcome)
                inside += time.perf_counter() - called
    return time.perf_counter() - start, inside


def proven_checkpoint(engine: Engine, private: Path, trusted: Path) -> None:
    """Sign a checkpoint of the log (kept as the auditor's trusted one), append a run's
    worth of events, and time each step of the next checkpoint: reading the leaves, their
    root, the consistency proof from the stored checkpoint (made and verified), signing."""
    with session_scope(engine) as session:
        signed = checkpoint_now(session, private, ORIGIN)
        store_checkpoint(session, signed, None)
    trusted.write_text(signed.note())
    append_bulk(engine, RUN_EVENTS)
    with session_scope(engine) as session:
        started = time.perf_counter()
        stored = largest_stored_head(session)
        hashes = leaf_hashes(session)
        read = time.perf_counter()
        root = root_hash(hashes)
        rooted = time.perf_counter()
        extension = prove_extension(stored, hashes, root)
        proved = time.perf_counter()
        store_checkpoint(session, sign_log(ProvenLog(hashes, root, extension), private, ORIGIN), None)
        done = time.perf_counter()
    assert extension is not None
    print(f"checkpoint:    {len(hashes):,} leaves read {read - started:.2f} s, root {rooted - read:.2f} s, "
          f"consistency proof from {extension.old.size:,} ({len(extension.proof)} hashes, made "
          f"and verified) {proved - rooted:.2f} s, sign and store {done - proved:.3f} s")


def child(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a command; its wall time (s) and peak RSS (MB). Exit on failure."""
    start = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(args[:3])} failed:\n{output.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024


def report(label: str, runs: list[tuple[float, float]], events: int) -> float:
    times = [t for t, _ in runs]
    best, median = min(times), statistics.median(times)
    peak = max(m for _, m in runs)
    print(f"{label:<14} best {best:6.1f} s, median {median:6.1f} s over {len(runs)} "
          f"({events / best:,.0f} events/s), peak RSS {peak:,.0f} MB")
    return best


def zip_to(url: str, key: str, out: str) -> None:
    """Child mode: write the admin API's zip stream of the whole log to ``out``."""
    from sqlmodel import Session

    from sync.audit.store import ExportRequest, export_head, stored_events
    from sync.audit.stream import zip_stream

    engine = make_engine(url)
    with Session(engine) as session, open(out, "wb") as handle:
        head = export_head(session, Path(key), "bench", ExportRequest())
        for chunk in zip_stream(head, stored_events(session, head.first_seq, head.last_seq)):
            handle.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="export and verify runs (best, median)")
    parser.add_argument("--database-url", default=None,
                        help="a SCRATCH PostgreSQL database: everything in it is dropped")
    args = parser.parse_args()
    sample = SAMPLE_SINGLE + SAMPLE_TENS * 10
    if args.events <= sample:
        sys.exit(f"--events must exceed the {sample}-event per-transaction sample")
    with tempfile.TemporaryDirectory(prefix="hr2bi-bench-") as tmp:
        workdir = Path(tmp)
        engine, url = fresh_engine(args.database_url, workdir)
        private, public = generate_key_files(workdir / "keys")
        bulk = args.events - sample
        print(f"database:      {engine.dialect.name}, {args.events:,} events")
        took = timed(lambda: append_bulk(engine, bulk))
        print(f"bulk append:   {took:.1f} s for {bulk:,} (record_events, {BULK_TRANSACTION:,} a "
              f"transaction): {took / bulk * 1e3:.3f} ms/event")
        single, single_added = append_each(engine, bulk, SAMPLE_SINGLE, 1)
        print(f"record_event:  {single_added / SAMPLE_SINGLE * 1e3:.3f} ms/event added to its transaction, "
              f"{single / SAMPLE_SINGLE * 1e3:.3f} ms with a commit of its own ({SAMPLE_SINGLE:,} events)")
        tens, tens_added = append_each(engine, bulk + SAMPLE_SINGLE, SAMPLE_TENS, 10)
        print(f"record_event:  {tens_added / (SAMPLE_TENS * 10) * 1e3:.3f} ms/event added, "
              f"{tens / (SAMPLE_TENS * 10) * 1e3:.3f} ms with commits, ten a transaction "
              f"({SAMPLE_TENS * 10:,} events)")
        trusted = workdir / "trusted.txt"
        proven_checkpoint(engine, private, trusted)
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": url, "HR2BI_AUDIT_SIGNING_KEY": str(private),
               "HR2BI_AUDIT_ORIGIN": ORIGIN, "HR2BI_MIGRATE_ON_START": "false",
               "PYTHONPATH": str(ROOT)}  # the children run this checkout's code, not the installed one
        env.pop("HR2BI_CONFIG", None)
        exports = [child([HR2BI, "audit", "export", "--out", str(workdir / f"bundle{i}"),
                          "--from-checkpoint", str(trusted)], env, workdir)
                   for i in range(args.repeat)]
        report("export:", exports, args.events)
        size = sum(f.stat().st_size for f in (workdir / "bundle0").iterdir()) / 1e6
        print(f"bundle:        {size:,.0f} MB on disk")
        verifies = [child([HR2BI, "audit", "verify", str(workdir / f"bundle{i}"), "--public-key",
                           str(public), "--trusted", str(trusted), "--require-trusted"], env, workdir)
                    for i in range(args.repeat)]
        best = report("verify:", verifies, args.events)
        one_process = child([HR2BI, "audit", "verify", str(workdir / "bundle0"), "--jobs", "1"], env, workdir)
        report("verify -j1:", [one_process], args.events)
        zipped = child([sys.executable, __file__, "--zip-child", url, str(private),
                        str(workdir / "audit.zip")], env, workdir)
        report("API zip:", [zipped], args.events)
        print(f"zip:           {(workdir / 'audit.zip').stat().st_size / 1e6:,.0f} MB")
        peak = max(m for _, m in exports + [zipped])
        slowest_append = max(took / bulk, single_added / SAMPLE_SINGLE, tens_added / (SAMPLE_TENS * 10))
        ok = best < 60 * args.events / 1_000_000 and peak < 1024 and slowest_append < 1e-3
        print("targets (append < 1 ms/event, verify 1M < 60 s, export < 1 GB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--zip-child":
        zip_to(*sys.argv[2:])
    else:
        main()
