"""The README's production section, as typed: the checkout's Procfile run by honcho (web,
worker and beat), configured by an env file made from `.env.example`, with no virtualenv
activated, against PostgreSQL and a Redis of its own. An operator's `hr2bi tokens create`
reads the same file; `/healthz` answers 200; an identity provider's push reaches the BI
sandbox through the worker. Then a misconfiguration: each process says what is wrong in
one line, never a traceback.

honcho is given the file with `-e` (the README's `honcho start` reads `./.env`) so the
test never writes a `.env` into the checkout other tests run in."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from tasks_harness import (
    REPO,
    Process,
    free_port,
    private_redis,
    require_postgresql,
    stack,
    wait_for,
)

pytestmark = pytest.mark.slow

VENV_BIN = REPO / ".venv" / "bin"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _bare_environment() -> dict[str, str]:
    """The operator's shell: no hr2bi settings and no virtualenv on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HR2BI_") and k not in ("DATABASE_URL", "BROKER_URL", "VIRTUAL_ENV",
                                                         "PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR")}
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != VENV_BIN.resolve()]
    env["PATH"] = os.pathsep.join(paths or ["/usr/bin", "/bin"])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _env_file(path: Path, values: dict[str, str | None]) -> Path:
    """`.env.example` with the values of this machine filled in (None: the line commented
    out), as an operator would."""
    lines = []
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.startswith("#") else None
        if key in values:
            value = values.pop(key)
            line = f"# {line}" if value is None else f"{key}={value}"
        lines.append(line)
    lines += [f"{k}={v}" for k, v in values.items() if v is not None]  # what the example leaves out
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _honcho(tmp: Path, env_file: Path, name: str, *processes: str) -> Process:
    return Process([str(VENV_BIN / "honcho"), "-e", str(env_file), "start", *processes], tmp / f"{name}.log",
                   _bare_environment(), REPO)


def _stop(process: Process) -> str:
    if process.popen.poll() is None:
        # Ctrl-C's SIGTERM to honcho alone: it stops each process the way they expect (a
        # signal to the whole group would kill the worker's pool children mid-task).
        process.popen.send_signal(signal.SIGTERM)
        try:
            process.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    process.stopped = True
    return process.output()


@pytest.fixture
def checkout_venv() -> Path:
    if not (VENV_BIN / "honcho").exists() or not (VENV_BIN / "celery").exists():
        pytest.skip(f"the Procfile runs from a checkout with its own virtualenv ({VENV_BIN}: `make install`)")
    return VENV_BIN


def test_the_procfile_starts_as_written_and_a_push_reaches_the_bi(
        tmp_path: Path, database_url: str, engine: object, checkout_venv: Path) -> None:
    require_postgresql(database_url)
    redis_port, web_port = free_port(), free_port()
    with stack(tmp_path, database_url, None) as processes:
        processes.processes.append(private_redis(tmp_path, redis_port))
        processes.sandbox()
        env_file = _env_file(tmp_path / "production.env", {
            "DATABASE_URL": database_url, "BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "HR2BI_BASE_URL": f"http://127.0.0.1:{web_port}",
            "HR2BI_BI_BASE_URL": f"http://127.0.0.1:{processes.bi_port}",
            "HR2BI_BI_API_KEYS": "sandbox-key-1", "HR2BI_AUDIT_SIGNING_KEY": None,
            "HR2BI_MAPPINGS_DIR": str(REPO / "mappings"), "HR2BI_BI_RATE_PER_KEY": "100000",
            "HR2BI_PUSH_DELAY_SECONDS": "0.2", "PORT": str(web_port), "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "2", "WORKER_CONCURRENCY": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule"),
        })
        # The operator's token, made with the CLI reading the same file.
        made = subprocess.run([str(checkout_venv / "hr2bi"), "tokens", "create", "okta-prod", "--scope", "scim"],
                              env=_bare_environment() | {"HR2BI_ENV_FILE": str(env_file)}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1].strip()
        honcho = _honcho(tmp_path, env_file, "honcho")
        processes.processes.append(honcho)
        base = f"http://127.0.0.1:{web_port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 60, "/healthz 200 from the Procfile's web", tmp_path,
                 lambda: honcho.popen.poll() is None)
        name = f"procfile-{uuid.uuid4().hex[:8]}@example.com"
        created = httpx.post(f"{base}/scim/v2/Users", timeout=10,
                             headers={"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/scim+json"},
                             json={"schemas": [USER], "userName": name, "active": True,
                                   "displayName": "Procfile Tester",
                                   "emails": [{"primary": True, "type": "work", "value": name}]})
        assert created.status_code == 201, created.text
        wait_for(lambda: any(u["userName"] == name and u.get("active") for u in processes.bi_users()),
                 60, f"{name} in the BI sandbox through the worker", tmp_path,
                 lambda: honcho.popen.poll() is None)
        # Stop once the worker's task is done (honcho's SIGTERM reaches the pool's children
        # too, so a task still running would be cut off, as a Ctrl-C would).
        wait_for(lambda: re.search(r"Task hr2bi\.provision_person\[\S+\] succeeded", honcho.output()),
                 60, "the provisioning task to finish", tmp_path, lambda: honcho.popen.poll() is None)
        output = _stop(honcho)
        for process in ("web", "worker", "beat"):
            assert re.search(rf"^\S+ {process}\.1\s+\|", output, re.MULTILINE), f"{process} never ran:\n{output}"
        assert not re.search(r"exec: \S+: not found", output) and "Traceback" not in output, output[-4000:]
@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_a_configuration_error_is_one_line_in_every_process(tmp_path: Path, checkout_venv: Path,
                                                             process: str) -> None:
    # One process at a time (`honcho start web`): honcho stops the others as soon as one exits.
    env_file = _env_file(tmp_path / "broken.env", {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hr2bi.db'}", "BROKER_URL": "redis://127.0.0.1:1/0",
        "HR2BI_SYNC_SCHEDULE": "every night", "PORT": str(free_port()), "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule"),
    })
    honcho = _honcho(tmp_path, env_file, "honcho", process)
    try:
        honcho.popen.wait(timeout=90)  # the process stops at once, so honcho does
    except subprocess.TimeoutExpired:
        pytest.fail("honcho kept running with a broken configuration:\n" + _stop(honcho)[-4000:])
    output = _stop(honcho)
    said = [line.split("|", 1)[1].strip() for line in output.splitlines()
            if re.match(rf"^\S+ {process}\.1\s+\|", line)]
    assert "Traceback" not in output, output[-6000:]
    errors = [line for line in said if "sync_schedule" in line]
    assert len(errors) == 1 and "invalid configuration" in errors[0], output[-4000:]
    assert re.search(rf"{process}\.1 stopped \(rc=1\)", output), output[-2000:]
