"""The BI writer's test world: a real ``hr2bi sandbox`` server (a subprocess on a free
port, its state in a JSON file the tests read back), settings pointing the pipeline at it,
the example HR export, and the check that the sandbox holds exactly what the mapping
tables want."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "targets"))
sys.path.insert(0, str(ROOT / "tests" / "people"))

from hr_export import run_import  # noqa: E402
from servers import free_port, running  # noqa: E402

from sync.config import Settings, load_settings  # noqa: E402
from sync.db import session_scope  # noqa: E402
from sync.models import StoredPerson  # noqa: E402
from sync.plan.desired import Scope, desired_users  # noqa: E402
from sync.plan.values import DesiredUser  # noqa: E402
from sync.rules import load_dir  # noqa: E402
from sync.rules.tables import Role  # noqa: E402

KEY = "e2e-sandbox-key"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines
_REQUEST = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
EXAMPLE = ROOT / "examples" / "hr" / "northwind_workers.csv"
MAPPINGS = ROOT / "mappings"


@dataclass(frozen=True)
class Sandbox:
    url: str
    state_path: Path
    log_path: Path
    process: Any

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text(encoding="utf-8"))

    def calls(self) -> list[str]:
        """Every request the sandbox answered, as ``METHOD /path STATUS``, less the 401s
        of the start-up probe (every test request carries a valid key)."""
        if not self.log_path.exists():
            return []
        found = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            match = _REQUEST.search(_ANSI.sub("", line))
            if match:
                found.append(f"{match['method']} {match['path'].split('?')[0]} {match['status']}")
        return [c for c in found if not c.endswith(" 401")]


@contextmanager
def sandbox_server(tmp_path: Path, *options: str) -> Iterator[Sandbox]:
    port, state, log = free_port(), tmp_path / "bi-sandbox.json", tmp_path / "bi-sandbox.log"
    command = [sys.executable, "-m", "sync.cli.sandbox", "--port", str(port), "--state", str(state),
               "--key", KEY, "--access-log", str(log), *options]
    with running(command, f"http://127.0.0.1:{port}/api/v1/user-attributes",
                 {"Authorization": "Bearer not-a-key"}) as process:  # the probe's 401 is not counted
        yield Sandbox(f"http://127.0.0.1:{port}", state, log, process)


def bi_settings(database_url: str, sandbox: Sandbox, **overrides: Any) -> Settings:
    values = {"database_url": database_url, "migrate_on_start": False, "bi_base_url": sandbox.url,
              "bi_api_keys": KEY, "bi_rate_per_key": 60000.0, "bi_timeout": 10.0,
              "mappings_dir": MAPPINGS, **overrides}
    return load_settings(**values)


def example_rows() -> list[dict[str, str]]:
    with EXAMPLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def import_rows(engine: Engine, tmp_path: Path, rows: Sequence[dict[str, str]], **options: Any) -> Any:
    """Import ``rows`` as a fresh full HR export (the people tests' helper)."""
    return run_import(engine, tmp_path, rows, **options)


def okta_user(row: dict[str, str]) -> dict[str, Any]:
    """What Okta POSTs for an HR person: the enterprise extension's employeeNumber."""
    email = row["Work Email"]
    return {"schemas": [USER, ENTERPRISE], "userName": email, "active": True,
            "name": {"givenName": row["Legal First Name"], "familyName": row["Last Name"]},
            "emails": [{"primary": True, "value": email, "type": "work"}],
            ENTERPRISE: {"employeeNumber": row["Employee ID"]},
            "groups": []}


def entra_user(row: dict[str, str]) -> dict[str, Any]:
    """What Entra POSTs for an HR person with the default mappings: no employee number, so
    only the email can match them."""
    email = row["Work Email"]
    return {"schemas": [USER], "externalId": f"entra-{row['Employee ID']}", "userName": email,
            "active": True, "displayName": f"{row['Legal First Name']} {row['Last Name']}",
            "emails": [{"primary": True, "type": "work", "value": email}]}


def linked_scim_user(engine: Engine, employee_id: str) -> str | None:
    """The SCIM user the HR person with ``employee_id`` is linked to."""
    with session_scope(engine) as session:
        return session.scalars(select(StoredPerson.scim_user_id).where(
            StoredPerson.employee_id == employee_id)).one()


def desired(engine: Engine) -> dict[str, DesiredUser]:
    with session_scope(engine) as session:
        found, _ = desired_users(session, load_dir(MAPPINGS), Scope())
    return {d.user_name.lower(): d for d in found}


def effective_roles(state: dict[str, Any], user_id: str) -> dict[str, str]:
    """What a user can do on each model, as Omni works it out: the highest of their direct
    roles, their groups' roles and a connection admin role."""
    models = {m["id"]: m for m in state["models"]}
    connections = {c["id"]: c["name"] for c in state["connections"]}
    holders = [state["user_roles"].get(user_id, {})]
    holders += [state["group_roles"].get(g["id"], {}) for g in state["groups"].values()
                if user_id in g["members"]]
    best: dict[str, str] = {}
    for roles in holders:
        for where, role in roles.items():
            kind, _, ident = where.partition(":")
            key = (f"{connections[models[ident]['connectionId']]}/{models[ident]['name']}"
                   if kind == "model" else connections[ident])
            if key not in best or Role[role] > Role[best[key]]:
                best[key] = role
    return best


def assert_sandbox_matches(engine: Engine, sandbox: Sandbox, strangers: frozenset[str] = frozenset()) -> None:
    """The sandbox holds exactly the desired accounts: one user per userName, active as
    wanted, names, attributes, group memberships and effective roles as the rules say.
    ``strangers``: users made by hand in the BI platform, which must be inactive."""
    state, wanted = sandbox.state(), desired(engine)
    for user in state["users"].values():
        assert user["userName"] not in strangers or user["active"] is False, user["userName"]
    users = [u for u in state["users"].values() if u["userName"] not in strangers]
    names = [u["userName"].lower() for u in users]
    assert len(names) == len(set(names)), "a userName appears twice in the BI platform"
    by_name = {u["userName"].lower(): u for u in users}
    assert set(by_name) <= set(wanted), f"unexpected users: {sorted(set(by_name) - set(wanted))[:5]}"
    for key, d in wanted.items():
        user = by_name.get(key)
        if not d.active:
            assert user is None or user["active"] is False, f"{key} should be inactive"
            continue
        assert user is not None, f"{key} is missing from the BI platform"
        assert_account(state, user, d)


def groups_of(state: dict[str, Any], user_id: str) -> set[str]:
    """The names of the BI groups a user is a member of."""
    return {g["displayName"] for g in state["groups"].values() if user_id in g["members"]}


def assert_account(state: dict[str, Any], user: dict[str, Any], d: DesiredUser) -> None:
    """One active BI account as the rules want it: name, attributes, exactly the desired
    groups, and on each model the desired role as the effective one."""
    key = d.user_name
    assert user["active"] is True and user["displayName"] == d.display_name, key
    assert _plain(user["attributes"]) == _plain(d.attributes), key
    assert groups_of(state, user["id"]) == set(d.groups), (key, sorted(groups_of(state, user["id"])))
    effective = effective_roles(state, user["id"])
    for role_key, role in d.roles.items():
        assert effective.get(role_key) == role, (key, role_key, effective.get(role_key), role)


def _plain(attributes: Any) -> dict[str, Any]:
    return {k: sorted(v) if isinstance(v, list) else v for k, v in dict(attributes).items()}


@pytest.fixture
def bi_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox server with no rate limit, fresh for each test. (A fixture here, not in a
    conftest.py: tests/targets imports its own conftest by name.)"""
    with sandbox_server(tmp_path, "--rate-limit", "0") as sandbox:
        yield sandbox
