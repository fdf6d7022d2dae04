"""Benchmark: the console's people search and a person's page at 100,000 people.

    .venv/bin/python bench/console_people.py [--rows 100000] [--idp 2000] [--requests 40]
                                             [--database-url postgresql://...]

Builds the identity store the way bench/import_100k.py does (its 20-column export,
imported with its 100,000 ``person.add`` audit events), pushes ``--idp`` SCIM users
through the SCIM endpoint (half of them the HR people's own logins, linked by employee
number; half known only to the identity provider), then times, through the Flask test
client with a viewer token, ``GET /api/v1/people?q=`` for a name prefix, a given+family
name, an email prefix, an employee id, an IdP-only login and no match, and
``GET /api/v1/people/{key}`` and ``/console/people/<key>`` for random people. Prints
p50/p95/max per kind of request and the load average. Target: every p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask.testing import FlaskClient  # noqa: E402
from import_100k import fresh_engine, timed_import, write_export  # noqa: E402

from sync.config import load_settings  # noqa: E402
from sync.db import session_scope  # noqa: E402
from sync.rules import load_dir  # noqa: E402
from sync.tokens import create_token  # noqa: E402
from sync.web import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TARGET_MS = 300


def scim_users(client: FlaskClient, token: str, count: int, rows: int) -> None:
    """Half the HR people's own logins (linked by employee number), half IdP-only people."""
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)
    for n in range(count):
        if n % 2 == 0:
            eid = 100_000 + rng.randrange(rows)
            body = {"schemas": [USER, ENTERPRISE], "userName": f"person.{eid}@northwind.example",
                    "name": {"givenName": f"First{eid - 100_000}", "familyName": "Linked"},
                    "emails": [{"value": f"person.{eid}@northwind.example", "primary": True}],
                    ENTERPRISE: {"employeeNumber": str(eid)}}
        else:
            body = {"schemas": [USER], "userName": f"guest.{n}@partner.example",
                    "name": {"givenName": f"Guest{n}", "familyName": "Partner"},
                    "emails": [{"value": f"guest.{n}@partner.example", "primary": True}]}
        answer = client.post("/scim/v2/Users", json=body, headers=auth)
        if answer.status_code not in (201, 409):
            sys.exit(f"SCIM push failed: {answer.status_code} {answer.get_data(as_text=True)[:300]}")


def timed(get: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = get()
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:  # type: ignore[attr-defined]
            sys.exit(f"request failed: {answer.status_code}")  # type: ignore[attr-defined]
    return times


def report(name: str, times: list[float]) -> bool:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    ok = p95 < TARGET_MS
    print(f"  {name:<34} p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  "
          f"max {ordered[-1]:7.1f} ms  {'ok' if ok else 'SLOW'}")
    return ok


def signed_in_console(client: FlaskClient, admin: str) -> None:
    page = client.get("/console/signin").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/console/signin/token", data={"token": admin, "csrf_token": csrf})
    if done.status_code != 302:
        sys.exit(f"console sign-in failed: {done.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--idp", type=int, default=2_000, help="SCIM users pushed")
    parser.add_argument("--requests", type=int, default=40, help="requests per kind")
    parser.add_argument("--database-url", default=None, help="a SCRATCH PostgreSQL database: its public schema is dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        export = workdir / "workers.csv"
        write_export(export, args.rows)
        engine = fresh_engine(args.database_url, workdir)
        amap = load_dir(ROOT / "mappings").attribute_map
        took, run = timed_import(engine, export, amap, False, workdir)
        print(f"store: {run.counts['added']} people imported in {took:.1f} s ({engine.dialect.name})")
        settings = load_settings(database_url=str(engine.url.render_as_string(hide_password=False)),
                                 migrate_on_start=False, mappings_dir=ROOT / "mappings")
        app = create_app(settings, engine)
        with session_scope(engine) as session:
            scim, viewer = create_token(session, "bench-scim", "scim"), create_token(session, "bench-viewer", "viewer")
            admin = create_token(session, "bench-admin", "admin")
        client = app.test_client()
        start = time.perf_counter()
        scim_users(client, scim, args.idp, args.rows)
        print(f"store: {args.idp} SCIM users pushed in {time.perf_counter() - start:.1f} s")
        measure(client, viewer, admin, args)
        engine.dispose()


def measure(client: FlaskClient, viewer: str, admin: str, args: argparse.Namespace) -> None:
    auth = {"Authorization": f"Bearer {viewer}"}
    rng = random.Random(5)
    n = args.requests

    def search(pick: Callable[[], str]) -> Callable[[], object]:
        return lambda: client.get("/api/v1/people", query_string={"q": pick()}, headers=auth)

    def eid() -> str:
        return str(100_000 + rng.randrange(args.rows))

    kinds = {
        "search: family name prefix": search(lambda: f"Last{rng.randrange(5000)}"),
        "search: common given name": search(lambda: rng.choice(["Sam", "Alex", "sam", "ALEX"])),
        "search: given + family name": search(lambda: f"First{rng.randrange(args.rows)} Last"),
        "search: email prefix": search(lambda: f"person.{eid()}@"),
        "search: employee id": search(eid),
        "search: IdP-only login": search(lambda: f"guest.{2 * rng.randrange(args.idp // 2) + 1}@"),
        "search: no match": search(lambda: f"zz-nobody-{rng.randrange(10**6)}"),
        "search: everyone, page 3": lambda: client.get("/api/v1/people?offset=100", headers=auth),
        "person: API": lambda: client.get(f"/api/v1/people/{eid()}", headers=auth),
    }
    console = client.application.test_client()
    signed_in_console(console, admin)
    kinds["person: console page"] = lambda: console.get(f"/console/people/{eid()}")
    kinds["search: console page"] = lambda: console.get("/console/people", query_string={"q": f"Last{rng.randrange(5000)}"})
    for get in kinds.values():  # warm up: the tables' parse, the first connection
        get()
    print(f"timings ({n} requests each, Flask test client, one process):")
    ok = all([report(name, timed(get, n)) for name, get in kinds.items()])
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(f"target (every p95 < {TARGET_MS} ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
