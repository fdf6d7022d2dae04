"""Benchmark: import a 100,000-row, 20-column HR export into a fresh identity store.

    .venv/bin/python bench/import_100k.py [--rows 100000] [--repeat 3] [--database-url postgresql://...]

Writes the CSV (15 columns the shipped mappings/fields.yaml reads, 5 it does not), imports
it into a fresh SQLite database (or the scratch database named by --database-url, whose
public schema is dropped and migrated first), then imports the same file again past the
ledger (as --force does). Each import writes its audit events (100,000 ``person.add`` the
first time, only the run's event the second). Prints the wall time of each import, the
people marked changed by the second (must be 0), the audit events written, and the peak
RSS of a child process per round (so rounds do not share a peak); with ``--repeat N`` the
best and the median of N rounds. Targets: under 10 s and under 1 GB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text
from sqlmodel import Session

from sync.config import load_settings
from sync.db import make_engine, migrate
from sync.models import AuditEvent
from sync.rules import load_dir
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.importer import ImportOptions, import_feed

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ["Employee ID", "Work Email", "Preferred First Name", "Legal First Name", "Last Name", "Department",
          "Job Title", "Location", "Cost Center", "Security Level", "Manager ID", "Worker Status", "Worker Type",
          "Hire Date", "Termination Date"]
EXTRA = ["Phone", "Division", "Country", "Pay Grade", "Badge Number"]
DEPARTMENTS = ["Finance", "Sales", "R&D", "Human Resources", "Marketing", "Support", "Legal", "Data & Analytics"]
LOCATIONS = ["New York", "San Francisco", "London", "Berlin", "Bengaluru"]
TITLES = ["Analyst", "Engineer", "Manager", "Designer", "Accountant", "Recruiter", "Account Executive", "Director"]
STATUSES = ["Active"] * 18 + ["On Leave", "Terminated"]
TYPES = ["Regular"] * 8 + ["Part-Time", "Contingent"]


def write_export(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(MAPPED + EXTRA) + "\n")
        for n in range(rows):
            eid = 100_000 + n
            manager = "" if n < 10 else str(100_000 + rng.randrange(0, max(10, n // 10)))
            hired = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2000, 2025)}"
            cells = [str(eid), f"person.{eid}@northwind.example", rng.choice(["", "Sam", "Alex"]), f"First{n}",
                     f"Last{n % 5000}", rng.choice(DEPARTMENTS), rng.choice(TITLES), rng.choice(LOCATIONS),
                     f"cc-{rng.randint(1000, 1999)}", str(rng.randint(1, 5)), manager, rng.choice(STATUSES),
                     rng.choice(TYPES), hired, "", f"+1 555 {n:07d}", f"Division {n % 7}", "US",
                     f"P{rng.randint(1, 9)}", f"B{eid}"]
            out.write(",".join(cells) + "\n")


def fresh_engine(url: str | None, workdir: Path):
    if url is None:
        for leftover in workdir.glob("bench.db*"):  # the previous round's database
            leftover.unlink()
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    else:
        engine = make_engine(load_settings(database_url=url).database_url)
        with engine.begin() as conn:  # a clean slate: a scratch database's public schema goes
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    return engine


def timed_import(engine, path: Path, amap, force: bool, workdir: Path):
    start = time.perf_counter()
    feed = csv_feed(path, "bench", "full", CsvOptions(), amap)
    run = import_feed(engine, feed, amap, ImportOptions(source="bench", force=force, rejects_dir=workdir))
    return time.perf_counter() - start, run


def audit_count(engine, run_id: int) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.run_id == run_id)) or 0


def one_round(url: str | None, export: Path, workdir: Path, report) -> None:  # noqa: ANN001
    """First import and re-import into a fresh database; sends the figures to ``report``."""
    amap = load_dir(ROOT / "mappings").attribute_map
    engine = fresh_engine(url, workdir)
    first, run = timed_import(engine, export, amap, False, workdir)
    second, again = timed_import(engine, export, amap, True, workdir)
    figures = {"database": engine.dialect.name, "first": first, "second": second, "added": run.counts["added"],
               "status": run.status, "unchanged": again.counts["unchanged"], "marked": again.counts.get("marked", 0),
               "events_first": audit_count(engine, run.id), "events_second": audit_count(engine, again.id),
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    engine.dispose()
    report.send(figures)


def measure(url: str | None, export: Path, workdir: Path) -> dict:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=one_round, args=(url, export, workdir, sender))
    child.start()
    sender.close()
    try:
        figures = receiver.recv()
    except EOFError:
        sys.exit("the round failed: see the error above")
    finally:
        child.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; best and median are printed")
    parser.add_argument("--database-url", default=None, help="a SCRATCH PostgreSQL database: its public schema is dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        export = workdir / "workers.csv"
        write_export(export, args.rows)
        print(f"export:        {args.rows} rows x {len(MAPPED) + len(EXTRA)} columns, "
              f"{export.stat().st_size / 1e6:.1f} MB")
        rounds = []
        for n in range(args.repeat):
            figures = measure(args.database_url, export, workdir)
            rounds.append(figures)
            print(f"round {n + 1} ({figures['database']}): first import {figures['first']:.2f} s "
                  f"({figures['status']}, added {figures['added']}, {figures['events_first']} audit events); "
                  f"re-import {figures['second']:.2f} s (unchanged {figures['unchanged']}, marked changed "
                  f"{figures['marked']}, {figures['events_second']} audit event); peak {figures['peak_mb']:.0f} MB")
        summarize(rounds, args.rows)


def summarize(rounds: list[dict], rows: int) -> None:
    def stats(key: str, digits: int = 2) -> str:
        values = [r[key] for r in rounds]
        return f"best {min(values):.{digits}f}, median {statistics.median(values):.{digits}f}"

    print(f"database:      {rounds[0]['database']}")
    print(f"first import:  {stats('first')} s ({rows / min(r['first'] for r in rounds):,.0f} rows/s at best)")
    print(f"re-import:     {stats('second')} s, marked changed {max(r['marked'] for r in rounds)}")
    print(f"peak memory:   {stats('peak_mb', 0)} MB (peak RSS of the round's process)")
    ok = (min(r["first"] for r in rounds) < 10 and min(r["second"] for r in rounds) < 10
          and max(r["peak_mb"] for r in rounds) < 1024 and all(r["marked"] == 0 for r in rounds))
    print("targets (< 10 s, < 1 GB, 0 changed on re-import):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
