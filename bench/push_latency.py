"""Benchmark: an identity provider's push to the BI platform — SCIM create, deactivate, DELETE
and userName rename, by an Okta-style and an Entra-style client, timed until the sandbox BI
shows the change.

    .venv/bin/python bench/push_latency.py [--users N] [--delay S] [--broker URL]

Runs the real web app (werkzeug, threaded) and the Omni-compatible sandbox (no rate limit,
so no rate-limit waits are in the figures) on free 127.0.0.1 ports, on a fresh SQLite file
holding the sample company (examples/hr, synced first).
Without ``--broker`` pushes are provisioned in the web process (the embedded mode's timer);
with ``--broker redis://...`` (or ``amqp://...``) a real Celery worker is started and the
database is the PostgreSQL one of ``DATABASE_URL`` (it must be empty of SCIM users).

Pushes coalesce adaptively (``push_delay_seconds``, ``--delay``): a push for a person idle
for that long is planned and applied at once; one that follows another push for the same
person within it waits ``--delay`` (the rest of a burst coalesces). Deactivate is timed
right after the same user's create, so it is such a follower and includes the wait; create,
DELETE and rename are pushes on idle people (target p50 <= 0.3 s, issue 17).
Create and deactivate are timed on users created one at a time. DELETE and rename are timed
on users created together beforehand (their creation is not timed) and already in the BI:
DELETE until the user's account is inactive; a PATCH replacing userName until the old name's
account is inactive and the new name's active. A deactivation that has not happened after
30 s is a correctness failure, not a slow push: the script stops with exit status 1.
Targets: p50 under 2 s (issue 7); DELETE and rename within 5 s (issue 11).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.config import Settings, load_settings
from sync.db import engine_for, session_scope
from sync.jobs.nightly import run_sync
from sync.sandbox.app import create_sandbox_app
from sync.sandbox.limits import SandboxConfig, keys_of
from sync.sandbox.state import SandboxStore, load_seed
from sync.tokens import create_token
from sync.web import create_app

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def serve(app: Any) -> str:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def okta_create(name: str) -> dict[str, Any]:
    given, family = name.split(".")
    # Okta sends the enterprise extension when the app's profile maps department.
    return {"schemas": [USER, ENTERPRISE], "userName": f"{name}@northwind.example", "active": True,
            "name": {"givenName": given.title(), "familyName": family.title()},
            "emails": [{"primary": True, "value": f"{name}@northwind.example", "type": "work"}],
            "displayName": f"{given.title()} {family.title()}", "title": "Data Analyst",
            ENTERPRISE: {"department": "Finance"}}


def okta_deactivate() -> dict[str, Any]:
    # Okta: PATCH with a path-less value object.
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}


def okta_rename(user_name: str) -> dict[str, Any]:
    # The path-less value object, as Okta's deactivate (Okta may also PUT the whole user).
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"userName": user_name}}]}


def entra_create(name: str) -> dict[str, Any]:
    given, family = name.split(".")
    return {"schemas": [USER, ENTERPRISE], "externalId": name, "userName": f"{name}@northwind.example",
            "active": True, "displayName": f"{given.title()} {family.title()}",
            "name": {"formatted": f"{given.title()} {family.title()}", "familyName": family.title(),
                     "givenName": given.title()},
            "emails": [{"primary": True, "type": "work", "value": f"{name}@northwind.example"}],
            "title": "Data Analyst", ENTERPRISE: {"department": "Finance"}}


def entra_deactivate() -> dict[str, Any]:
    # Entra: capitalised op, string boolean.
    return {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


def entra_rename(user_name: str) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "userName", "value": user_name}]}


@dataclass(frozen=True)
class ClientStyle:
    create: Callable[[str], dict[str, Any]]
    deactivate: Callable[[], dict[str, Any]]
    rename: Callable[[str], dict[str, Any]]


CLIENTS = {"okta": ClientStyle(okta_create, okta_deactivate, okta_rename),
           "entra": ClientStyle(entra_create, entra_deactivate, entra_rename)}
OPERATIONS = ("create", "deactivate", "delete", "rename")
DEACTIVATION_DEADLINE = 30.0


def bi_active(bi: httpx.Client, user_name: str) -> bool | None:
    """The BI account's ``active``, or None when the BI has no account by that userName."""
    found = bi.get("/api/scim/v2/Users", params={"filter": f'userName eq "{user_name}"'}).json()
    return (found.get("Resources") or [{}])[0].get("active")


def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"timed out after {timeout:g} s: {what} never showed in the BI sandbox")
        time.sleep(0.01)
    return time.perf_counter() - start


def new_name(client: str) -> str:
    return f"{client}.u{uuid.uuid4().hex[:10]}"


def push_once(scim: httpx.Client, bi: httpx.Client, client: str) -> tuple[float, float]:
    """One user created, then deactivated by PATCH: the seconds until the BI shows each."""
    name = new_name(client)
    user_name = f"{name}@northwind.example"
    started = time.perf_counter()
    response = scim.post("/Users", json=CLIENTS[client].create(name))
    response.raise_for_status()
    until(lambda: bi_active(bi, user_name) is not None, f"the create of {user_name}")
    created = time.perf_counter() - started
    started = time.perf_counter()
    scim.patch(f"/Users/{response.json()['id']}", json=CLIENTS[client].deactivate()).raise_for_status()
    until(lambda: bi_active(bi, user_name) is False, f"the deactivation of {user_name}", DEACTIVATION_DEADLINE)
    return created, time.perf_counter() - started


def provision(scim: httpx.Client, bi: httpx.Client, client: str, count: int) -> list[tuple[str, str]]:
    """``count`` users created in one burst, once all are active in the BI: (SCIM id, userName)."""
    users = []
    for name in (new_name(client) for _ in range(count)):
        response = scim.post("/Users", json=CLIENTS[client].create(name))
        response.raise_for_status()
        users.append((response.json()["id"], f"{name}@northwind.example"))
    for _, user_name in users:
        until(lambda: bi_active(bi, user_name) is True, f"the create of {user_name}")  # noqa: B023 — called before the loop moves on
    return users


def delete_once(scim: httpx.Client, bi: httpx.Client, user_id: str, user_name: str) -> float:
    started = time.perf_counter()
    scim.delete(f"/Users/{user_id}").raise_for_status()
    until(lambda: bi_active(bi, user_name) is False,
          f"the deactivation of {user_name} after its SCIM DELETE", DEACTIVATION_DEADLINE)
    return time.perf_counter() - started


def rename_once(scim: httpx.Client, bi: httpx.Client, client: str, user_id: str, user_name: str) -> float:
    renamed = f"{new_name(client)}@northwind.example"
    started = time.perf_counter()
    scim.patch(f"/Users/{user_id}", json=CLIENTS[client].rename(renamed)).raise_for_status()
    until(lambda: bi_active(bi, user_name) is False,
          f"the deactivation of {user_name} after its rename to {renamed}", DEACTIVATION_DEADLINE)
    until(lambda: bi_active(bi, renamed) is True, f"the account of {renamed} (renamed from {user_name})",
          DEACTIVATION_DEADLINE)
    return time.perf_counter() - started


def measure(scim: httpx.Client, bi: httpx.Client, client: str, users: int) -> dict[str, list[float]]:
    """Seconds per operation, ``users`` of each, for one client style."""
    pushed = [push_once(scim, bi, client) for _ in range(users)]
    doomed = provision(scim, bi, client, 2 * users)
    return {"create": [p[0] for p in pushed], "deactivate": [p[1] for p in pushed],
            "delete": [delete_once(scim, bi, *user) for user in doomed[:users]],
            "rename": [rename_once(scim, bi, client, *user) for user in doomed[users:]]}


def figures(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (f"{label:<18} n={len(values):<3} p50 {statistics.median(values):6.2f} s   "
            f"p90 {p90:6.2f} s   max {ordered[-1]:6.2f} s")


def settings_for(tmp: Path, bi_url: str, args: argparse.Namespace) -> Settings:
    database = os.environ.get("DATABASE_URL") if args.broker else f"sqlite:///{tmp / 'bench.db'}"
    return load_settings(database_url=database, bi_base_url=bi_url, bi_rate_per_key=100_000,
                         mappings_dir=ROOT / "mappings", provision_on_push=True,
                         push_delay_seconds=args.delay, broker_url=args.broker,
                         sources={"northwind": {"type": "csv", "path": str(ROOT / "examples/hr"),
                                                "glob": "northwind_*.csv",
                                                "rejects_dir": str(tmp / "rejects")}})


def start_worker(settings: Settings, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "BROKER_URL": settings.broker_url or "",
           "HR2BI_BI_BASE_URL": settings.bi_base_url, "HR2BI_BI_RATE_PER_KEY": "100000",
           "HR2BI_MAPPINGS_DIR": str(ROOT / "mappings"), "HR2BI_MIGRATE_ON_START": "false"}
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 — lives as long as the worker
    return subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "sync.jobs.celery_app",
                             "worker", "--concurrency", "4", "--queues", "hr2bi", "--loglevel", "WARNING"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8, help="pushes per client style and operation")
    parser.add_argument("--delay", type=float, default=1.0, help="push_delay_seconds")
    parser.add_argument("--broker", default=None, help="BROKER_URL for a real worker")
    args = parser.parse_args()
    if args.broker and not (os.environ.get("DATABASE_URL") or "").startswith("postgres"):
        raise SystemExit("--broker needs DATABASE_URL=postgresql://... (the worker's database)")
    with tempfile.TemporaryDirectory(prefix="hr2bi-push-") as tmp_name:
        tmp = Path(tmp_name)
        seed = load_seed(None)
        bi_url = serve(create_sandbox_app(SandboxConfig(api_keys=keys_of(seed["api_keys"]), rate_limit=0),
                                          SandboxStore.open(tmp / "bi.json", seed)))
        settings = settings_for(tmp, bi_url, args)
        engine = engine_for(settings)
        with session_scope(engine) as session:
            token = create_token(session, f"bench-{uuid.uuid4().hex[:6]}", "scim")
        # The sample company first: a BI with a few hundred accounts, as in production (the
        # safety guard holds any deactivation while there are only a handful).
        outcome = run_sync(engine, settings)
        print(f"sample company synced: {outcome.apply.applied if outcome.apply else 0} changes applied")
        worker = start_worker(settings, tmp) if args.broker else None
        web_url = serve(create_app(settings, engine))
        mode = f"Celery worker via {args.broker.split('@')[-1]}" if args.broker else "embedded (in-process)"
        print(f"push latency: {args.users} pushes per client, push delay {args.delay} s, {mode}")
        try:
            with httpx.Client(base_url=f"{web_url}/scim/v2", timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as scim, \
                 httpx.Client(base_url=bi_url, timeout=30,
                              headers={"Authorization": f"Bearer {seed['api_keys'][0]}"}) as bi:
                measure(scim, bi, "okta", 1)  # warm-up: imports, first connections, every code path
                for client in CLIENTS:
                    seconds = measure(scim, bi, client, args.users)
                    for operation in OPERATIONS:
                        print(figures(f"{client} {operation}", seconds[operation]))
                load = os.getloadavg()
                print(f"load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)


if __name__ == "__main__":
    main()
