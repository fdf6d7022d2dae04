"""Benchmark: SCIM user lookups against the real app under gunicorn, at 1,000 and 100,000 users.

    .venv/bin/python bench/scim_lookup.py [--sizes 1000,100000] [--database-url URL]
        [--workers W] [--concurrency C] [--requests N] [--seconds S]

For each size it loads users into a fresh database (a SQLite file in a temporary directory,
or the PostgreSQL database named by ``--database-url``, which must hold no SCIM users yet),
starts ``gunicorn 'sync.web:wsgi_app()'`` as the Procfile does, and drives a bounded number
of requests (at most N, for at most S seconds) from client threads on 127.0.0.1 for two
queries an identity provider makes:

* lookup: ``GET /Users?filter=userName eq "<a random existing user>"``
* page:   ``GET /Users?filter=emails[type eq "work"] and userName sw "user1"&startIndex=..&count=50``
          (about 11 % of the users match, so the page is drawn from a large result)

Users are bulk-inserted into the real tables (``scim_users``, ``scim_user_values``) in
batches, built by the store's own ``normalize`` and checked against a canary user written
through ``UserStore.create``, so the rows are exactly what the endpoint itself would write.

Targets (from the issue): lookup latency does not grow with the user count; at least 100
requests/s per core; p99 under 50 ms at 100,000 users. The client runs on the same machine
and takes CPU from the server, so requests/s per core is a lower bound.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.resources import normalize
from scim.schema import ENTERPRISE_USER, USER
from scim.sqlstorage import value_row
from scim.store import UserStore
from sync.config import load_settings
from sync.db import make_engine, migrate, session_scope
from sync.models import ScimUser, ScimUserValue
from sync.tokens import create_token

ACTOR = "bench"
BATCH = 5_000
PAGE_PREFIX = "user1"
PAGE_FILTER = f'emails[type eq "work"] and userName sw "{PAGE_PREFIX}"'
PAGE_COUNT = 50
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Linus")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman")
TITLES = ("Analyst", "Senior Analyst", "Engineer", "Manager", "Director", None)
DEPARTMENTS = [f"Dept {i:02d}" for i in range(40)]


# --- synthetic users, stored exactly as the store stores them -------------------------


def user_body(n: int) -> dict[str, Any]:
    """User ``n`` as an identity provider would POST it (mixed-case userName, like Okta)."""
    rng = random.Random(n)
    given, family = rng.choice(FIRST), rng.choice(LAST)
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE_USER], "userName": f"User{n}@Example.com",
        "externalId": f"00u{n:09d}", "displayName": f"{given} {family}",
        "name": {"givenName": given, "familyName": family}, "active": rng.random() < 0.95,
        "emails": [{"value": f"user{n}@example.com", "type": "work", "primary": True}],
        ENTERPRISE_USER: {"department": rng.choice(DEPARTMENTS), "employeeNumber": str(100000 + n)},
    }
    if n % 10 == 9:  # one in ten has only a personal address
        body["emails"] = [{"value": f"{given}.{family}{n}@home.example".lower(), "type": "home"}]
    elif rng.random() < 0.3:
        body["emails"].append({"value": f"u{n}@home.example", "type": "home"})
    title = rng.choice(TITLES)
    if title is not None:
        body["title"] = title
    return body


Row = dict[str, Any]


def user_rows(body: dict[str, Any], user_id: str, when: dt.datetime) -> tuple[Row, list[Row]]:
    """The ``scim_users`` row and ``scim_user_values`` rows ``UserStore.create`` writes for ``body``."""
    stored = normalize(body, UserStore.rtype)
    enterprise = stored.get(ENTERPRISE_USER, {})
    user = {
        "id": user_id, "user_name": stored["userName"], "user_name_key": stored["userName"].lower(),
        "external_id": stored.get("externalId"), "display_name": stored.get("displayName"),
        "active": stored.get("active", True), "employee_number": enterprise.get("employeeNumber"),
        "resource": stored, "version": 1, "created_at": when, "updated_at": when,
        "created_by": ACTOR, "updated_by": ACTOR,
    }
    values = [
        value_row(user_id, attribute.name, element).model_dump(exclude={"id"})
        for attribute in UserStore.rtype.schema.attributes.values()
        if attribute.multi_valued and attribute.name != "groups"
        for element in stored.get(attribute.name, [])
    ]
    return user, values


def check_parity(engine: Engine) -> None:
    """Fail loudly if the bulk loader no longer writes what the store writes."""
    body = user_body(999_999_999)
    with session_scope(engine) as session:
        created = UserStore(session, "http://127.0.0.1").create(body, ACTOR)
        row = session.get(ScimUser, created["id"])
        values = session.scalars(select(ScimUserValue).where(ScimUserValue.user_id == row.id)
                                 .order_by(ScimUserValue.id)).all()
        columns = [c for c in ScimUser.model_fields if c not in ("created_at", "updated_at")]
        actual = ({c: getattr(row, c) for c in columns}, [v.model_dump(exclude={"id"}) for v in values])
        session.delete(row)
    user, value_rows = user_rows(body, created["id"], dt.datetime.now(dt.UTC))
    expected = ({k: v for k, v in user.items() if k not in ("created_at", "updated_at")}, value_rows)
    if actual != expected:
        raise SystemExit(f"bulk rows differ from the store's:\n store: {actual}\n bench: {expected}")


def load_users(engine: Engine, start: int, stop: int) -> None:
    """Insert users ``start``..``stop - 1`` in batches (one executemany per table and batch)."""
    epoch = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for first in range(start, stop, BATCH):
        users, values = [], []
        for n in range(first, min(first + BATCH, stop)):
            user, rows = user_rows(user_body(n), str(uuid.UUID(int=n + 1)), epoch + dt.timedelta(seconds=n))
            users.append(user)
            values.extend(rows)
        with engine.begin() as conn:
            conn.execute(insert(ScimUser), users)
            conn.execute(insert(ScimUserValue), values)


def prepare_database(engine: Engine, size: int) -> None:
    """Bring the database to ``size`` users (sizes grow, so only the difference is loaded)."""
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(ScimUser))
    started = time.perf_counter()
    load_users(engine, have, size)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    print(f"  loaded {size - have:,} users in {time.perf_counter() - started:.1f} s", flush=True)


def fresh_engine(database_url: str | None, workdir: Path) -> Engine:
    url = load_settings(database_url=database_url or f"sqlite:///{workdir / 'bench.db'}").database_url
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(ScimUser)):
            raise SystemExit(f"{engine.url.render_as_string(hide_password=True)} already holds SCIM "
                             "users: give the bench a fresh database")
    check_parity(engine)
    return engine


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(database_url: str, workers: int, log: Path, options: Sequence[str] = ()) -> Server:
    """gunicorn over ``database_url``; ``options`` are more gunicorn flags (a worker class)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_MIGRATE_ON_START": "false",
           "HR2BI_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", *options, "sync.web:wsgi_app()"]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   cwd=Path(__file__).resolve().parents[1])
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"gunicorn did not answer /healthz within 30 s; see {log}")


# --- the load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    query: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def lookup_params(rng: random.Random, size: int) -> dict[str, str]:
    return {"filter": f'userName eq "User{rng.randrange(size)}@Example.com"'}


def page_params(rng: random.Random, size: int) -> dict[str, str]:
    """A random full page of the users matching ``PAGE_FILTER``, as an IdP paging through them."""
    return {"filter": PAGE_FILTER, "count": str(PAGE_COUNT),
            "startIndex": str(1 + rng.randrange(max(1, page_matches(size) - PAGE_COUNT)))}


@functools.cache
def page_matches(size: int) -> int:
    # Users with a work address (all but n % 10 == 9) whose userName starts with "user1".
    return sum(1 for n in range(size) if str(n).startswith("1") and n % 10 != 9)


def drive(server: Server, token: str, params: list[dict[str, str]], concurrency: int,
          seconds: float, expect: Callable[[dict[str, Any]], bool]) -> tuple[int, float, list[float]]:
    """Send each request once from ``concurrency`` threads, stopping early after ``seconds``;
    return errors, elapsed seconds and the latencies of the requests sent."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    chunks = [params[i::concurrency] for i in range(concurrency)]
    deadline = time.perf_counter() + seconds

    def worker(chunk: list[dict[str, str]]) -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
            for query in chunk:
                began = time.perf_counter()
                if began > deadline:
                    return
                try:
                    response = client.get("/scim/v2/Users", params=query)
                    ok = response.status_code == 200 and expect(response.json())
                except httpx.TransportError:  # a timeout or reset counts as a failed request
                    ok = False
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors, time.perf_counter() - started, latencies


def run_query(server: Server, token: str, name: str, size: int, clients: int, args: argparse.Namespace,
              make: Callable[[random.Random, int], dict[str, str]],
              expect: Callable[[dict[str, Any]], bool]) -> Result:
    rng = random.Random(size)
    warm_up = [make(rng, size) for _ in range(min(100, args.requests))]
    drive(server, token, warm_up, clients, args.seconds / 5, expect)
    errors, seconds, latencies = drive(server, token, [make(rng, size) for _ in range(args.requests)],
                                       clients, args.seconds, expect)
    return Result(name, clients, len(latencies), errors, seconds, latencies)


def bench_size(engine: Engine, size: int, args: argparse.Namespace, workdir: Path) -> Iterator[Result]:
    print(f"{size:,} users:", flush=True)
    prepare_database(engine, size)
    with session_scope(engine) as session:
        token = create_token(session, f"bench-{size}", "scim")
    url = engine.url.render_as_string(hide_password=False)
    server = start_server(url, args.workers, workdir / "gunicorn.log")
    queries = [("lookup", lookup_params, lambda body: body["totalResults"] == 1),
               ("page", page_params, lambda body: len(body["Resources"]) == PAGE_COUNT)]
    try:
        # One client alone gives the latency of a request; several give throughput.
        for name, make, expect in queries:
            for clients in sorted({1, args.concurrency}):
                yield run_query(server, token, name, size, clients, args, make, expect)
    finally:
        server.stop()


# --- the report ---------------------------------------------------------------------------


def print_table(backend: str, rows: list[tuple[int, Result]], cores: int) -> None:
    print(f"\n{backend}, gunicorn sync workers on {cores} cores (client threads on the same machine)")
    print(f"{'users':>9} {'query':<7} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>8} "
          f"{'req/s/core':>10} {'p50 ms':>7} {'p99 ms':>7}")
    for size, r in rows:
        rate = r.requests / r.seconds
        print(f"{size:>9,} {r.query:<7} {r.clients:>7} {r.requests:>8} {r.errors:>6} {rate:>8.0f} "
              f"{rate / cores:>10.0f} {r.percentile(50):>7.1f} {r.percentile(99):>7.1f}")
    for clients in sorted({r.clients for _, r in rows}):
        lookups = [(size, r) for size, r in rows if r.query == "lookup" and r.clients == clients]
        if len(lookups) >= 2:
            (small, first), (large, last) = lookups[0], lookups[-1]
            print(f"lookup p50 with {clients} client(s): {first.percentile(50):.1f} ms at {small:,} -> "
                  f"{last.percentile(50):.1f} ms at {large:,} users "
                  f"(x{last.percentile(50) / first.percentile(50):.2f})")
    print("targets: >= 100 req/s per core; lookup p99 < 50 ms at 100,000 users; flat lookup latency")
    print(f"queries: lookup = userName eq \"User<n>@Example.com\"; page = {PAGE_FILTER}, count={PAGE_COUNT}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000",
                        type=lambda s: sorted(int(x) for x in s.split(",") if x.strip()))
    parser.add_argument("--database-url", help="a fresh PostgreSQL database (default: SQLite in a temp dir)")
    parser.add_argument("--workers", type=int, default=cores, help=f"gunicorn workers (default {cores})")
    parser.add_argument("--concurrency", type=int, default=2 * cores,
                        help="client threads for the throughput runs (latency runs use one)")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per query and size")
    parser.add_argument("--seconds", type=float, default=20,
                        help="stop a query's measurement after this long even if requests remain")
    args = parser.parse_args(argv)
    if min(args.sizes) < PAGE_COUNT * 20:
        parser.error(f"sizes must be at least {PAGE_COUNT * 20} users, so the page query has pages")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="hr2bi-bench-") as tmp:
        engine = fresh_engine(args.database_url, Path(tmp))
        rows = [(size, result) for size in args.sizes for result in bench_size(engine, size, args, Path(tmp))]
        engine.dispose()
        print_table(engine.dialect.name, rows, cores)


if __name__ == "__main__":
    main()
