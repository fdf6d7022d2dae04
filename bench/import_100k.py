"""Benchmark: import a 100,000-row, 20-column HR export into a fresh identity store.

    .venv/bin/python bench/import_100k.py [--rows 100000] [--database-url postgresql://...]

Writes the CSV (15 columns the shipped mappings/fields.yaml reads, 5 it does not), imports
it into a fresh SQLite database (or the empty database named by --database-url, whose
people and runs are dropped and migrated first), then imports the same file again past the
ledger (as --force does). Prints the wall time of each import, the people marked changed
by the second (must be 0) and the process's peak RSS. Targets: under 10 s and under 1 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.config import load_settings
from sync.db import make_engine, migrate
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
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    else:
        engine = make_engine(load_settings(database_url=url).database_url)
        from sqlalchemy import text

        with engine.begin() as conn:  # a clean slate: only this benchmark's tables go
            for table in ("person_events", "people", "run_records", "imported_files", "runs", "alembic_version"):
                conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    migrate(engine)
    return engine


def timed_import(engine, path: Path, amap, force: bool, workdir: Path):
    start = time.perf_counter()
    feed = csv_feed(path, "bench", "full", CsvOptions(), amap)
    run = import_feed(engine, feed, amap, ImportOptions(source="bench", force=force, rejects_dir=workdir))
    return time.perf_counter() - start, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (its hr2bi tables are dropped)")
    args = parser.parse_args()
    amap = load_dir(ROOT / "mappings").attribute_map
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        export = workdir / "workers.csv"
        write_export(export, args.rows)
        engine = fresh_engine(args.database_url, workdir)
        print(f"database:      {engine.dialect.name}")
        print(f"export:        {args.rows} rows x {len(MAPPED) + len(EXTRA)} columns, "
              f"{export.stat().st_size / 1e6:.1f} MB")
        first, run = timed_import(engine, export, amap, False, workdir)
        print(f"first import:  {first:.2f} s ({args.rows / first:,.0f} rows/s): {run.status}, "
              f"added {run.counts['added']}, rejected {run.counts['rejected']}")
        second, again = timed_import(engine, export, amap, True, workdir)
        print(f"second import: {second:.2f} s: unchanged {again.counts['unchanged']}, "
              f"marked changed {again.counts.get('marked', 0)}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory:   {peak:.0f} MB (process peak RSS)")
        engine.dispose()
        ok = first < 10 and second < 10 and peak < 1024 and again.counts.get("marked", 0) == 0
        print("targets (< 10 s, < 1 GB, 0 changed on re-import):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
