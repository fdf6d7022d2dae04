"""The peer compliance suite, scim2-tester, run through scim2-cli's ``scim2 ... test``
against a real ``hr2bi serve`` process (on SQLite, or on PostgreSQL when DATABASE_URL is
set): every check must report SUCCESS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "targets"))
from servers import checkout_env, free_port, hr2bi, running

BIN = Path(sys.executable).parent
RESULT = re.compile(r"^(SUCCESS|COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) (\S+)$")


@pytest.fixture
def served(database_url: str, engine, tmp_path: Path) -> Iterator[str]:  # noqa: ANN001
    """``hr2bi serve`` (this checkout's) on a free port over the test database; yields its
    SCIM base URL."""
    port = free_port()
    base, env = f"http://127.0.0.1:{port}", checkout_env(DATABASE_URL=database_url, HR2BI_MIGRATE_ON_START="false")
    with running(hr2bi("serve", "--port", str(port)), f"{base}/healthz", {},
                 env=env, cwd=tmp_path, log=tmp_path / "serve.log"):
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200, (tmp_path / "serve.log").read_text(errors="replace")[-4000:]
        yield f"{base}/scim/v2"


@pytest.mark.slow
def test_scim2_tester_reports_every_check_success(served: str, scim_token: str) -> None:
    env = {**os.environ, "SCIM_CLI_HEADERS": f"Authorization: Bearer {scim_token}"}
    done = subprocess.run([str(BIN / "scim2"), "-u", served, "test"], env=env,
                          capture_output=True, text=True, timeout=600)
    results = [m.groups() for m in map(RESULT.match, done.stdout.splitlines()) if m]
    failures = [f"{status} {title}" for status, title in results if status != "SUCCESS"]
    assert not failures, done.stdout[-5000:]
    # The suite ran for real: discovery, CRUD and PATCH checks for Users and Groups.
    assert len(results) >= 130, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
