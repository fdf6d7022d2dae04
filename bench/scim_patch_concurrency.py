"""Benchmark: SCIM PATCH throughput with concurrent clients writing to one group.

    .venv/bin/python bench/scim_patch_concurrency.py [--database-url URL] [--clients 8]
        [--members 200] [--workers 4] [--threads 4] [--requests N] [--seconds S]

It loads ``--members`` users into a fresh database (a SQLite file in a temporary directory,
or the PostgreSQL database named by ``--database-url``, which must hold no SCIM users yet)
and one group holding them all, starts gunicorn with threaded workers as the Procfile does,
and has ``--clients`` threads PATCH that one group at once, as an identity provider's group
push does: each client adds its own user, removes it, adds it again... so the group stays
the same size and every request is a real write (a new version and an audit event).

It prints requests/s, p50/p99 latency and the load average, and checks the outcome: the
group's version must have grown by exactly the number of 200s (a lost update is a write
answered 200 whose change another write overwrote) and must end with exactly its members.
Run it on the code before and after a change to the write path to know what locking costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.schema import GROUP, PATCH_OP
from scim.store import GroupStore
from scim_lookup import Result, Server, fresh_engine, load_users, start_server
from sync.db import session_scope
from sync.models import ScimGroup
from sync.tokens import create_token


def user_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1))  # the ids scim_lookup.load_users gives


def prepare(engine: Engine, members: int, clients: int) -> tuple[str, str]:
    """The group (holding users 0..members-1) and a token; users past them are the clients'."""
    load_users(engine, 0, members + clients)
    with session_scope(engine) as session:
        group = GroupStore(session, "http://127.0.0.1").create(
            {"schemas": [GROUP], "displayName": "Bench group",
             "members": [{"value": user_id(n)} for n in range(members)]}, "bench")
        token = create_token(session, "bench-patch", "scim")
    return group["id"], token


def patch_body(op: str, member: str) -> dict[str, Any]:
    operation = ({"op": "add", "path": "members", "value": [{"value": member}]} if op == "add"
                 else {"op": "remove", "path": f'members[value eq "{member}"]'})
    return {"schemas": [PATCH_OP], "Operations": [operation]}


def drive(server: Server, token: str, group_id: str, first_member: int, clients: int,
          requests: int, seconds: float) -> tuple[Result, int]:
    """Each client alternates add/remove of its own user; returns the result and the 200s."""
    latencies: list[float] = []
    ok = errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def client(n: int) -> None:
        nonlocal ok, errors
        member = user_id(first_member + n)
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as http:
            for sent in range(requests // clients):
                began = time.perf_counter()
                if began > deadline and sent % 2 == 0:  # stop after a remove: the group is whole
                    return
                response = http.patch(f"/scim/v2/Groups/{group_id}",
                                      json=patch_body("add" if sent % 2 == 0 else "remove", member))
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)
                    ok += response.status_code == 200
                    errors += response.status_code != 200

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result("patch", clients, len(latencies), errors, time.perf_counter() - started, latencies), ok


def group_state(engine: Engine, group_id: str) -> tuple[int, int]:
    with session_scope(engine) as session:
        row = session.get(ScimGroup, group_id)
        count = len(GroupStore(session, "http://127.0.0.1").computed([group_id]).get(group_id, {})
                    .get("members", []))
        return row.version, count


def report(engine: Engine, result: Result, oks: int, version: tuple[int, int],
           after: tuple[int, int], members: int, load: tuple[float, float, float]) -> None:
    rate = result.requests / result.seconds
    print(f"\n{engine.dialect.name}: {result.clients} clients PATCHing one group of {members} members")
    print(f"{'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  load average (1/5/15 min)")
    print(f"{result.requests:>8} {result.errors:>6} {rate:>7.1f} {result.percentile(50):>7.1f} "
          f"{result.percentile(99):>7.1f}  {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    lost = oks - (after[0] - version[0])
    print(f"group version {version[0]} -> {after[0]} after {oks} successful PATCHes: "
          f"{lost} lost update(s); members at the end {after[1]} (expected {members})")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a fresh PostgreSQL database (default: SQLite in a temp dir)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--members", type=int, default=200, help="members the group holds (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes (Procfile: 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per process (Procfile: 4)")
    parser.add_argument("--requests", type=int, default=4000, help="measured PATCHes at most")
    parser.add_argument("--seconds", type=float, default=20, help="stop measuring after this long")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hr2bi-bench-") as tmp:
        engine = fresh_engine(args.database_url, Path(tmp))
        group_id, token = prepare(engine, args.members, args.clients)
        url = engine.url.render_as_string(hide_password=False)
        server = start_server(url, args.workers, Path(tmp) / "gunicorn.log",
                              ["--worker-class", "gthread", "--threads", str(args.threads)])
        try:
            drive(server, token, group_id, args.members, args.clients, 20 * args.clients, args.seconds / 4)
            before = group_state(engine, group_id)
            result, oks = drive(server, token, group_id, args.members, args.clients,
                                args.requests, args.seconds)
            load = os.getloadavg()
        finally:
            server.stop()
        report(engine, result, oks, before, group_state(engine, group_id), args.members, load)
        engine.dispose()


if __name__ == "__main__":
    main()
