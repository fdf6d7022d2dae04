"""The browser tests' served world and the steps every test shares: ``hr2bi serve`` over
the session's test database, holding the example company imported and applied, then a
plan the safety guard held (the story of tests/e2e/test_bi_held_review.py); signing in
through the IdP as a browser does; the session's CSRF token."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from click.testing import CliRunner, Result
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # the BI world and the held-plan story

from bi_world import ENTERPRISE, KEY, MAPPINGS, USER, example_rows  # noqa: E402
from test_bi_held_review import LEAVERS, held_plan  # noqa: E402

from sync.audit.checkpoint import PRIVATE_KEY_FILE  # noqa: E402
from sync.cli import main  # noqa: E402
from tests.conftest import empty_tables  # noqa: E402


@dataclass(frozen=True)
class Console:
    """``hr2bi serve`` with its console, the held run, and a person to look up."""

    url: str
    held_run: int
    leaver: str  # the userName of someone the held run deactivates
    person: dict[str, str]  # an HR row (Finance, staying) whose roles come from roles.csv
    public_key: Path
    env: dict[str, str]
    workdir: Path
    serve_log: Path

    def log_tail(self, size: int = 4000) -> str:
        return self.serve_log.read_text(encoding="utf-8", errors="replace")[-size:]


def _cli(env: dict[str, str]) -> Callable[..., Result]:
    """``hr2bi ARGS`` in this process with ``env``, as test_bi_held_review runs it."""
    def run(*args: str, code: int | None = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env=env)
        if code is not None:
            assert result.exit_code == code, result.output
        return result
    return run


def held_world(engine: Engine, database_url: str, bi_url: str, work: Path) -> tuple[dict[str, str], int]:
    """The example company imported and applied by a first sync, then a feed that
    terminates a third of it: the guard holds that plan (tests/e2e/test_bi_held_review.py)."""
    empty_tables(engine)
    feeds = work / "feeds"
    feeds.mkdir()
    config = work / "hr2bi.toml"
    config.write_text(f'[sources]\nrejects_dir = "{work / "rejects"}"\n\n'
                      f'[sources.hr]\ntype = "csv"\npath = "{feeds}"\n')
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(MAPPINGS),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(config),
           "HR2BI_BI_BASE_URL": bi_url, "HR2BI_BI_API_KEYS": KEY, "HR2BI_BI_RATE_PER_KEY": "60000",
           "HR2BI_BI_TIMEOUT": "10"}
    run = _cli(env)
    run("audit", "keygen", "--out", str(work / "keys"))
    env["HR2BI_AUDIT_SIGNING_KEY"] = str(work / "keys" / PRIVATE_KEY_FILE)
    run_id, *_ = held_plan(run, feeds)
    return env, run_id


def staying_finance_person() -> dict[str, str]:
    """Someone in Finance the held run leaves alone (not among its leavers, not its mover),
    a QUERIER of warehouse/finance by the row ``department eq "Finance"``."""
    active = [r for r in example_rows() if r["Worker Status"] == "Active"]
    mover = next(r for r in active[LEAVERS:] if r["Department"] == "Finance")
    return next(r for r in active[LEAVERS:] if r["Department"] == "Finance" and r is not mover
                and "Analyst" not in r["Job Title"])  # an analyst is a MODELER (roles.csv)


def sign_in(page: Page, console: Console, email: str, shot: Callable[[str], Path]) -> None:
    """The browser's journey through the company's IdP: the console's sign-in page, the
    provider's form (pick ``email``), back on the console, signed in."""
    page.goto(f"{console.url}/console/")
    expect(page).to_have_url(re.compile(r"/console/signin"))
    shot("sign-in page")
    page.get_by_text("Sign in with your identity provider").click()
    expect(page.locator(f'button[name="sub"][value="{email}"]')).to_be_visible()
    shot("identity provider")
    page.locator(f'button[name="sub"][value="{email}"]').click()
    expect(page).to_have_url(re.compile(r"/console/?(\?.*)?$"))
    expect(page.locator("header .who")).to_contain_text(email)
    shot(f"signed in as {email}")


def csrf_of(page: Page) -> str:
    """The session's CSRF token, from a form on the page (the sign-out form has one)."""
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert token, "no CSRF token on the page"
    return token


CONTRACTOR = "casey.contractor@northwind.example"


def push_contractor(console: Console) -> None:
    """An IdP (Okta) pushes a contractor HR does not know to the served SCIM endpoint, with
    a SCIM token of its own, as the demo's push does."""
    made = _cli(console.env)("tokens", "create", "okta-browser", "--scope", "scim")
    token = made.stdout.splitlines()[0].strip()  # the secret, then a note
    body = {"schemas": [USER, ENTERPRISE], "userName": CONTRACTOR, "active": True,
            "name": {"givenName": "Casey", "familyName": "Contractor"}, "displayName": "Casey Contractor",
            "title": "Data Analyst", "emails": [{"value": CONTRACTOR, "type": "work", "primary": True}],
            ENTERPRISE: {"department": "Finance"}}
    pushed = httpx.post(f"{console.url}/scim/v2/Users", json=body, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    assert pushed.status_code == 201, pushed.text

