"""The peer compliance suite, scim2-tester, run through scim2-cli's ``scim2 ... test``
against a real ``hr2bi serve`` process (on SQLite, or on PostgreSQL when DATABASE_URL is
set): every check must report SUCCESS."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
RESULT = re.compile(r"^(SUCCESS|COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) (\S+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(database_url: str, engine, tmp_path: Path) -> Iterator[str]:  # noqa: ANN001
    """``hr2bi serve`` on a free port over the test database; yields its SCIM base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_MIGRATE_ON_START": "false"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(BIN / "hr2bi"), "serve", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield f"{base}/scim/v2"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_healthy(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hr2bi serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("hr2bi serve did not become healthy in 30 s")


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
