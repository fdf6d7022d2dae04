"""The browser tests' world: Debian's chromium driven by pytest-playwright, a real local
OpenID provider (the console tests' one, on a thread), a real ``hr2bi sandbox`` (the BI
platform) and a real ``hr2bi serve`` (a subprocess on a free port running this checkout,
configured only by environment variables) over the session's test database, holding the
example company imported and applied, then a plan the safety guard held.

Every page a test visits is saved as a PNG under ``build/test-artifacts/browser/`` (or
``$HR2BI_TEST_ARTIFACTS/browser/``), named by test and step."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests" / "targets")]

from bi_world import example_rows, sandbox_server  # noqa: E402
from browser_world import Console, held_world, staying_finance_person  # noqa: E402
from servers import checkout_env, free_port, hr2bi, running  # noqa: E402

from sync.audit.checkpoint import PUBLIC_KEY_FILE  # noqa: E402
from tests.console.conftest import oidc_issuer  # noqa: E402,F401 (the provider, a fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLIENT_SECRET = "browser-client-secret"
TIMEOUT_MS = 15_000
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, never a browser Playwright downloads. CI installs it (.ci/run);
    only a machine without it skips."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def console(migrated_engine: Engine, database_url: str, oidc_issuer: str,  # noqa: F811
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    work = tmp_path_factory.mktemp("browser")
    with ExitStack() as stack:
        sandbox = stack.enter_context(sandbox_server(work, "--rate-limit", "0"))
        env, run_id = held_world(migrated_engine, database_url, sandbox.url, work)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve_env = checkout_env(
            **env, HR2BI_CONSOLE_OIDC_ISSUER=oidc_issuer, HR2BI_CONSOLE_OIDC_CLIENT_ID="hr2bi-console",
            HR2BI_CONSOLE_OIDC_CLIENT_SECRET=CLIENT_SECRET, HR2BI_CONSOLE_SECRET_KEY="browser-test-secret-key",
            HR2BI_CONSOLE_VIEWER_GROUPS="hr2bi-viewers", HR2BI_CONSOLE_APPROVER_GROUPS="hr2bi-approvers",
            HR2BI_CONSOLE_ADMIN_GROUPS="hr2bi-admins", PYTHONUNBUFFERED="1",  # its log, as it happens
            # The embedded mode: no broker, so a SCIM push is provisioned on a timer thread.
            HR2BI_PROVISION_ON_PUSH="true", HR2BI_PUSH_DELAY_SECONDS="0.2")
        serve_log = work / "serve.log"
        stack.enter_context(running(hr2bi("serve", "--port", str(port)), f"{url}/healthz", {},
                                    env=serve_env, cwd=work, log=serve_log))
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, serve_log.read_text()
        active = [r for r in example_rows() if r["Worker Status"] == "Active"]
        yield Console(url, run_id, active[0]["Work Email"].lower(), staying_finance_person(),
                      work / "keys" / PUBLIC_KEY_FILE, serve_env, work, serve_log)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    base = Path(os.environ.get("HR2BI_TEST_ARTIFACTS") or ROOT / "build" / "test-artifacts")
    folder = base / "browser"
    shutil.rmtree(folder, ignore_errors=True)  # this run's pages only
    folder.mkdir(parents=True)
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so ``shot`` knows whether the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def shot(page: Page, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Path]]:
    """``shot("step")`` saves the page as ``<test>-<nn>-<step>.png``; a failed test also
    saves the page it failed on and prints the tail of the server's log. The page's
    timeouts are short, so a missing element fails in seconds, not in half a minute."""
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    test = request.node.originalname.removeprefix("test_")[:60]
    counter = iter(range(1, 100))

    def save(step: str) -> Path:
        name = re.sub(r"[^A-Za-z0-9_]+", "-", step).strip("-")
        path = artifacts / f"{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    yield save
    call = request.node.stash.get(REPORTS, {}).get("call")
    if call is not None and call.failed:
        print(f"failed on {page.url}: see {save('FAILED')}")
        if "console" in request.fixturenames:
            print("hr2bi serve's log, last lines:\n" + request.getfixturevalue("console").log_tail())
