"""``hr2bi demo``: the whole flow on embedded defaults, in its own directory.

It starts the local BI sandbox on a free port (a thread), imports the sample company
(``examples/hr``, 301 people), shows the plan, applies it, then plays a day of changes — a
joiner, a mover, a leaver, a rehire (each a new HR export) and an identity provider's SCIM
push — showing each incremental plan, and ends by exporting the audit log and verifying it
offline with a throwaway signing key. Everything lives in ``--dir`` (``./demo-data``),
wiped at the start, so a re-run starts afresh and the user's ``hr2bi.db`` is never touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from sync.apply.service import apply
from sync.audit.checkpoint import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    generate_key_files,
    load_public_key,
)
from sync.audit.store import export
from sync.audit.verify import verify_bundle
from sync.cli.demo_serve import admin_token, console_url, say_console, serve_demo
from sync.config import Settings, load_settings
from sync.db import engine_for, session_scope
from sync.errors import UserError
from sync.jobs.imports import import_source
from sync.models import OutboxChange
from sync.plan.service import PlanResult, plan
from sync.sandbox.app import create_sandbox_app
from sync.sandbox.limits import SandboxConfig, keys_of
from sync.sandbox.state import SandboxStore, load_seed
from sync.statuses import RunStatus
from sync.tokens import create_token

SAMPLE = Path("examples/hr/northwind_workers.csv")
SOURCE = "northwind"
EXPORT = "northwind_workers_{n:02d}.csv"
Say = Callable[[str], None]


class DemoError(UserError):
    """The demo cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "hr2bi.db"

    @property
    def hr(self) -> Path:
        return self.root / "hr"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def bi_state(self) -> Path:
        return self.root / "bi-sandbox.json"

    @property
    def audit(self) -> Path:
        return self.root / "audit-export"


@dataclass(frozen=True)
class DemoResult:
    settings: Settings
    engine: Engine
    paths: DemoPaths
    bi_url: str
    verified: str
    admin_token: str  # signs in to the console (sync/cli/demo_serve.py)


def demo_settings(paths: DemoPaths, bi_url: str, mappings: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{paths.database}", migrate_on_start=True, mappings_dir=mappings,
        audit_signing_key=paths.keys / PRIVATE_KEY_FILE, audit_origin="hr2bi demo",
        bi_target="omni", bi_base_url=bi_url, bi_api_keys="sandbox-key-1,sandbox-key-2",
        bi_rate_per_key=100_000, broker_url=None, provision_on_push=False,
        sources={SOURCE: {"type": "csv", "path": str(paths.hr), "glob": "northwind_*.csv",
                          "rejects_dir": str(paths.root / "rejects")}})


@contextmanager
def sandbox(paths: DemoPaths) -> Iterator[str]:
    """The Omni-compatible BI sandbox on a free port, in a thread of this process."""
    seed = load_seed(None)
    store = SandboxStore.open(paths.bi_state, seed)
    config = SandboxConfig(api_keys=keys_of(seed.get("api_keys", [])), rate_limit=0)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per BI request
    server: BaseWSGIServer = make_server("127.0.0.1", 0, create_sandbox_app(config, store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bi-sandbox", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def prepare(root: Path) -> DemoPaths:
    """A fresh demo directory: the sample export as the first HR drop, a throwaway key."""
    paths = DemoPaths(root.resolve())
    if paths.root.exists():
        shutil.rmtree(paths.root)
    paths.hr.mkdir(parents=True)
    if not SAMPLE.is_file():
        raise DemoError(f"{SAMPLE} not found: run the demo from the hr2bi checkout's top folder")
    shutil.copyfile(SAMPLE, paths.hr / EXPORT.format(n=0))
    generate_key_files(paths.keys)
    return paths


def run_demo(root: Path, say: Say, *, mappings: Path = Path("mappings"),
             bi: Callable[[DemoPaths], Any] = sandbox, keep: Callable[[DemoResult], None] | None = None,
             console: str = console_url("127.0.0.1", 8000)) -> DemoResult:
    """The whole story; ``keep`` runs while the sandbox is still up (to serve the console
    and SCIM); ``console`` is where the console will be, for the closing lines."""
    paths = prepare(root)
    with bi(paths) as bi_url:
        settings = demo_settings(paths, bi_url, mappings.resolve())
        engine = engine_for(settings)
        say(f"Demo directory:  {paths.root}  (wiped at each run; your hr2bi.db is not touched)")
        say(f"BI sandbox:      {bi_url}/api  (Omni-compatible, state in {paths.bi_state.name})\n")
        _first_sync(engine, settings, paths, say)
        _a_day_of_changes(engine, settings, paths, say)
        verified = _audit(engine, settings, paths, say)
        result = DemoResult(settings, engine, paths, bi_url, verified, admin_token(engine))
        _next_steps(paths, say)
        say_console(result.admin_token, say, f"sqlite:///{paths.database}", console)
        if keep is not None:
            keep(result)
    return result


def _first_sync(engine: Engine, settings: Settings, paths: DemoPaths, say: Say) -> None:
    say("1. Import the HR export (examples/hr: Northwind, 301 people)")
    _import(engine, settings, say)
    say("2. Plan: what the BI platform must get")
    planned = plan(engine, settings)
    _show_plan(engine, planned, say, limit=6)
    say("3. Apply it to the BI sandbox")
    _apply(engine, settings, planned, say, progress=True)


def _a_day_of_changes(engine: Engine, settings: Settings, paths: DemoPaths, say: Say) -> None:
    say("4. A day of changes, each through its own incremental plan")
    rows, header = _read(paths.hr / EXPORT.format(n=0))
    today = dt.date.today().strftime("%m/%d/%Y")
    steps = [
        ("a joiner", lambda r: r.append(_joiner(r, today))),
        ("a mover (Finance -> Sales)", lambda r: _move(r, "Finance", "Sales", "Account Executive")),
        ("a leaver (terminated today)", lambda r: _leave(r, today)),
        ("a rehire (the leaver is hired back)", lambda r: _rehire(r, today)),
    ]
    for number, (what, change) in enumerate(steps, start=1):
        say(f"\n   HR export #{number}: {what}")
        change(rows)
        _write(paths.hr / EXPORT.format(n=number), header, rows)
        _import(engine, settings, say)
        planned = plan(engine, settings)
        _show_plan(engine, planned, say)
        _apply(engine, settings, planned, say)
    say("\n   An identity provider (Okta) pushes a contractor to the SCIM endpoint")
    user_id = _scim_push(engine, settings)
    planned = plan(engine, settings, scim_users=[user_id])
    _show_plan(engine, planned, say)
    _apply(engine, settings, planned, say)


def _import(engine: Engine, settings: Settings, say: Say) -> None:
    outcome = import_source(engine, settings, SOURCE)
    if outcome.status != RunStatus.SUCCEEDED:
        raise DemoError(f"the demo's import {outcome.status}: {outcome.reason}")
    say(f"   import run {outcome.run_id}: {outcome.status}")


def _show_plan(engine: Engine, planned: PlanResult, say: Say, limit: int = 4) -> None:
    counts = {k: v for k, v in planned.counts.items() if v and k not in ("total", "active_accounts")}
    say(f"   plan run {planned.run_id}: {planned.status}  " +
        ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    with session_scope(engine) as session:
        rows = list(session.scalars(select(OutboxChange).where(OutboxChange.run_id == planned.run_id)
                                    .order_by(OutboxChange.phase, OutboxChange.id)))
    for row in rows[:limit]:
        say(f"     {row.kind:<20} {row.subject}")
    if len(rows) > limit:
        say(f"     ... and {len(rows) - limit} more (`hr2bi runs show {planned.run_id}`)")


def _apply(engine: Engine, settings: Settings, planned: PlanResult, say: Say,
           progress: bool = False) -> None:
    if planned.status != RunStatus.PLANNED:
        say(f"   nothing to apply ({planned.status})")
        return
    result = apply(engine, settings, planned.run_id, progress=progress)
    say(f"   applied {result.applied}, failed {result.failed} ({result.bi_calls} BI API calls)")


def _scim_push(engine: Engine, settings: Settings) -> str:
    """A real SCIM request through the web app, as Okta sends it."""
    # The web app (Celery, metrics) is imported only when the demo runs: not by `hr2bi --help`.
    from sync.web import create_app

    with session_scope(engine) as session:
        token = create_token(session, "okta-demo", "scim")
    client = create_app(settings, engine).test_client()
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "casey.contractor@northwind.example", "active": True,
            "name": {"givenName": "Casey", "familyName": "Contractor"},
            "displayName": "Casey Contractor", "title": "Data Analyst",
            "emails": [{"value": "casey.contractor@northwind.example", "type": "work", "primary": True}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance"}}
    response = client.post("/scim/v2/Users", json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 201:
        raise DemoError(f"the SCIM push failed: {response.status_code} {response.get_data(as_text=True)}")
    return str(response.get_json()["id"])


def _audit(engine: Engine, settings: Settings, paths: DemoPaths, say: Say) -> str:
    say("\n5. Export the audit log and verify it offline")
    with session_scope(engine) as session:
        summary = export(session, paths.audit, settings.audit_signing_key, settings.audit_origin)
    report = verify_bundle(paths.audit, load_public_key(paths.keys / PUBLIC_KEY_FILE))
    say(f"   exported events {summary.first_seq}..{summary.last_seq} to {paths.audit}")
    verified = report.summary()
    say("   " + verified.replace("\n", "\n   "))
    return verified


def _next_steps(paths: DemoPaths, say: Say) -> None:
    env = f"DATABASE_URL=sqlite:///{paths.database}"
    say("\nWhere to look next:")
    say(f"   {env} hr2bi runs list            every import, plan and apply")
    say(f"   {env} hr2bi people show 1001     one person, field by field, with history")
    say(f"   hr2bi audit verify {paths.audit} --public-key {paths.keys / PUBLIC_KEY_FILE}")
    say(f"   {paths.bi_state}   what the BI sandbox holds now")


# --- the sample company, changed -------------------------------------------------------------

def _read(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader), list(reader.fieldnames or [])


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _joiner(rows: list[dict[str, str]], today: str) -> dict[str, str]:
    template = next(r for r in rows if r["Department"] == "Finance" and r["Worker Status"] == "Active")
    number = max(int(r["Employee ID"]) for r in rows if r["Employee ID"].isdigit()) + 1
    return {**template, "Employee ID": str(number), "Work Email": "nora.joiner@northwind.example",
            "Preferred First Name": "", "Legal First Name": "Nora", "Last Name": "Joiner",
            "Job Title": "Financial Analyst", "Hire Date": today, "Termination Date": ""}


def _active(rows: list[dict[str, str]], department: str) -> dict[str, str]:
    """The first active employee of a department with a manager (never today's joiner)."""
    return next(r for r in rows if r["Department"] == department and r["Worker Status"] == "Active"
                and r["Manager ID"] and r["Hire Date"] != dt.date.today().strftime("%m/%d/%Y"))


def _move(rows: list[dict[str, str]], source: str, target: str, title: str) -> None:
    _active(rows, source).update({"Department": target, "Job Title": title})


def _leave(rows: list[dict[str, str]], today: str) -> None:
    _active(rows, "Marketing").update({"Worker Status": "Terminated", "Termination Date": today})


def _rehire(rows: list[dict[str, str]], today: str) -> None:
    gone = next(r for r in rows if r["Worker Status"] == "Terminated")
    gone.update({"Worker Status": "Active", "Hire Date": today, "Termination Date": ""})


# --- the command -----------------------------------------------------------------------------

@click.command(help="The whole flow on embedded defaults, in its own directory: the BI sandbox, "
                    "the sample company imported, planned and applied, a day of changes, the "
                    "audit log exported and verified. Re-runnable: --dir is wiped at the start.")
@click.option("--dir", "root", default="demo-data", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The demo's own directory.")
@click.option("--serve", is_flag=True, help="Then keep the admin console, the SCIM endpoint (pushes "
              "reach the sandbox) and the sandbox up until Ctrl+C.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(root: Path, serve: bool, host: str, port: int) -> None:
    keep = (lambda result: serve_demo(result, host, port, click.echo)) if serve else None
    try:
        run_demo(root, click.echo, keep=keep, console=console_url(host, port))
    except (UserError, OSError) as exc:
        raise click.ClickException(f"the demo stopped: {exc}") from exc
