"""Benchmark: an identity provider's push to the BI platform — SCIM create, then deactivate,
by an Okta-style and an Entra-style client, timed until the sandbox BI shows the change.

    .venv/bin/python bench/push_latency.py [--users N] [--delay S] [--broker URL]

Runs the real web app (werkzeug, threaded) and the Omni-compatible sandbox (no rate limit,
so no rate-limit waits are in the figures) on free 127.0.0.1 ports, on a fresh SQLite file
holding the sample company (examples/hr, synced first).
Without ``--broker`` pushes are provisioned in the web process (the embedded mode's timer);
with ``--broker redis://...`` (or ``amqp://...``) a real Celery worker is started and the
database is the PostgreSQL one of ``DATABASE_URL`` (it must be empty of SCIM users).

Each push waits ``--delay`` seconds (``push_delay_seconds``: a burst coalesces) before it is
planned and applied; that wait is part of the latency, as in production.
Target (issue 7): p50 under 2 s.
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
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.config import Settings, load_settings  # noqa: E402
from sync.db import engine_for, session_scope  # noqa: E402
from sync.jobs import run_sync  # noqa: E402
from sync.targets.sandbox.app import create_sandbox_app  # noqa: E402
from sync.targets.sandbox.limits import SandboxConfig, keys_of  # noqa: E402
from sync.targets.sandbox.state import SandboxStore, load_seed  # noqa: E402
from sync.tokens import create_token  # noqa: E402
from sync.web import create_app  # noqa: E402

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


CLIENTS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[[], dict[str, Any]]]] = {
    "okta": (okta_create, okta_deactivate), "entra": (entra_create, entra_deactivate)}


def bi_user(bi: httpx.Client, user_name: str) -> dict[str, Any] | None:
    found = bi.get("/api/scim/v2/Users", params={"filter": f'userName eq "{user_name}"'}).json()
    return (found.get("Resources") or [None])[0]


def until(check: Callable[[], bool], timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out: the push never reached the BI sandbox")
        time.sleep(0.01)
    return time.perf_counter() - start


def push_once(scim: httpx.Client, bi: httpx.Client, client: str) -> tuple[float, float]:
    create, deactivate = CLIENTS[client]
    name = f"{client}.u{uuid.uuid4().hex[:10]}"
    user_name = f"{name}@northwind.example"
    started = time.perf_counter()
    response = scim.post("/Users", json=create(name))
    response.raise_for_status()
    until(lambda: bi_user(bi, user_name) is not None)
    created = time.perf_counter() - started
    started = time.perf_counter()
    scim.patch(f"/Users/{response.json()['id']}", json=deactivate()).raise_for_status()
    until(lambda: (bi_user(bi, user_name) or {}).get("active") is False)
    return created, time.perf_counter() - started


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
    return subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "sync.celery_app",
                             "worker", "--concurrency", "4", "--queues", "hr2bi", "--loglevel", "WARNING"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=15, help="pushes per client style")
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
        print(f"sample company synced: {outcome.apply.get('applied', 0)} changes applied")
        worker = start_worker(settings, tmp) if args.broker else None
        web_url = serve(create_app(settings, engine))
        mode = f"Celery worker via {args.broker.split('@')[-1]}" if args.broker else "embedded (in-process)"
        print(f"push latency: {args.users} pushes per client, push delay {args.delay} s, {mode}")
        try:
            with httpx.Client(base_url=f"{web_url}/scim/v2", timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as scim, \
                 httpx.Client(base_url=bi_url, timeout=30,
                              headers={"Authorization": f"Bearer {seed['api_keys'][0]}"}) as bi:
                push_once(scim, bi, "okta")  # warm-up: imports, first connections
                for client in CLIENTS:
                    results = [push_once(scim, bi, client) for _ in range(args.users)]
                    print(figures(f"{client} create", [r[0] for r in results]))
                    print(figures(f"{client} deactivate", [r[1] for r in results]))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)


if __name__ == "__main__":
    main()
