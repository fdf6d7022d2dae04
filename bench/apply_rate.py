"""Benchmark: apply about 1,000 changes to the BI sandbox at a set rate limit, with one API
key and with three, and print how close the writer gets to the limit.

    .venv/bin/python bench/apply_rate.py [--people 960] [--rate 600] [--keys 1 3]

For each key count: a fresh SQLite store and a fresh ``hr2bi sandbox`` (a real server on a
free port, ``--rate-limit RATE`` requests per minute per key); an HR export of PEOPLE
synthetic people in a few departments is imported and planned (one create per person,
one create per group with its members, the roles of those groups), then applied with
OmniTarget at RATE per key. Prints:

- achieved write rate / limit: BI calls per minute over the apply / (keys x RATE); target >= 0.95
- 429s as a share of calls (counted by the sandbox's access log); target <= 1%
- BI calls per changed user: (calls - group batches - role calls) / users; target 1.0, plus
  one per group batch
"""

from __future__ import annotations

import argparse
import csv
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from sync.apply.service import apply
from sync.config import load_settings  # noqa: E402
from sync.db import make_engine, migrate  # noqa: E402
from sync.plan.service import plan
from sync.rules import load_dir  # noqa: E402
from sync.sources.csvfeed import CsvOptions, csv_feed  # noqa: E402
from sync.sources.importer import ImportOptions, import_feed  # noqa: E402

HEADER = ["Employee ID", "Work Email", "Preferred First Name", "Legal First Name", "Last Name", "Department",
          "Job Title", "Location", "Cost Center", "Security Level", "Manager ID", "Worker Status",
          "Worker Type", "Hire Date", "Termination Date"]
DEPARTMENTS = ["Finance", "Sales", "Marketing", "Engineering", "Operations", "Legal"]
LOCATIONS = ["New York", "London", "Berlin", "San Francisco"]
STATUS = re.compile(r'HTTP/[\d.]+"\s+(\d{3})')
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def write_export(path: Path, people: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(people):
            writer.writerow([str(10000 + n), f"person{n}@bench.example", "", f"Given{n}", "Bench",
                             DEPARTMENTS[n % len(DEPARTMENTS)], "Associate", LOCATIONS[n % len(LOCATIONS)],
                             "CC-1100", "2", "", "Active", "Regular", "01/15/2020", ""])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(work: Path, rate: int, keys: list[str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port, log = free_port(), work / "sandbox.log"
    command = [sys.executable, "-m", "sync.targets.sandbox", "--port", str(port), "--state",
               str(work / "sandbox.json"), "--rate-limit", str(rate), "--access-log", str(log)]
    for key in keys:
        command += ["--key", key]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/api/v1/user-attributes", timeout=1.0)
            return process, url, log
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


def statuses(log: Path) -> list[str]:
    return [m.group(1) for m in (STATUS.search(ANSI.sub("", line)) for line in log.read_text().splitlines()) if m]


def one_round(people: int, rate: int, key_count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        keys = [f"bench-key-{n}" for n in range(1, key_count + 1)]
        process, url, log = start_sandbox(work, rate, keys)
        try:
            settings = load_settings(database_url=f"sqlite:///{work / 'bench.db'}", migrate_on_start=False,
                                     bi_base_url=url, bi_api_keys=",".join(keys), bi_rate_per_key=float(rate),
                                     mappings_dir=ROOT / "mappings")
            engine = make_engine(settings.database_url)
            migrate(engine)
            export = work / "export.csv"
            write_export(export, people)
            amap = load_dir(settings.mappings_dir).attribute_map
            import_feed(engine, csv_feed(export, "hr", "full", CsvOptions(), amap), amap,
                        ImportOptions(rejects_dir=work / "rejects"))
            planned = plan(engine, settings)
            before = len(statuses(log))
            started = time.perf_counter()
            result = apply(engine, settings, planned.run_id)
            elapsed = time.perf_counter() - started
            seen = statuses(log)[before:]
        finally:
            process.terminate()
            process.wait(timeout=10)
    counts = planned.counts
    calls = len(seen)
    limited = seen.count("429")
    per_minute = (calls - limited) * 60 / elapsed
    limit = rate * key_count
    users = counts["creates"] + counts["updates"] + counts["reactivations"] + counts["deactivations"]
    batches = counts["group_creates"] + counts["membership_changes"]
    per_user = (result.bi_calls - batches - counts["role_changes"] - limited) / max(users, 1)
    print(f"{key_count} key(s) at {rate}/min each: {counts['total']} changes ({users} users, {batches} group "
          f"batches, {counts['role_changes']} role calls) applied={result.applied} failed={result.failed} "
          f"in {elapsed:.1f} s")
    print(f"  achieved write rate / limit: {per_minute:.0f}/{limit} per min = {per_minute / limit:.3f}  (target >= 0.95)")
    print(f"  429s: {limited} of {calls} calls = {100 * limited / max(calls, 1):.2f}%  (target <= 1%)")
    print(f"  BI calls per changed user: {per_user:.3f} (+1 per group batch: {batches} batches)  (target 1.0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=960, help="people (about one change each)")
    parser.add_argument("--rate", type=int, default=600, help="requests per minute per key")
    parser.add_argument("--keys", type=int, nargs="+", default=[1, 3], help="key counts to run")
    args = parser.parse_args()
    for key_count in args.keys:
        one_round(args.people, args.rate, key_count)


if __name__ == "__main__":
    main()
