"""Real processes for the task tests: the BI sandbox, Celery workers and beats, a private
Redis, a TCP door in front of PostgreSQL that can be shut. Every process is started on a
free 127.0.0.1 port and stopped by its own pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONFIG = """[sources.northwind]
type = "csv"
path = "{repo}/examples/hr"
glob = "northwind_*.csv"
"""
PEOPLE_PROVISIONED = 266  # active people of examples/hr with the shipped mappings
SANDBOX_KEY = "sandbox-key-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("worker tests run on PostgreSQL (several processes share the database): "
                    "set DATABASE_URL=postgresql://... (CI does)")


def require_redis() -> str:
    if not answers("127.0.0.1", 6379):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/15"


def require_rabbitmq() -> str:
    if not answers("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    return "amqp://guest:guest@127.0.0.1:5672//"


def wait_for(condition: Callable[[], Any], timeout: float, what: str, logs: Path | None = None,
             alive: Callable[[], bool] = lambda: True) -> Any:
    """Poll until ``condition()`` is truthy; fail with ``what`` (and the logs) otherwise, or
    as soon as ``alive()`` says a process the wait depends on has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    tail = ""
    if logs is not None:
        tail = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


class Process:
    """A subprocess in its own process group, its output in ``log``."""

    def __init__(self, command: list[str], log: Path, env: Mapping[str, str], cwd: Path) -> None:
        self.log, self.stopped = log, False
        self.handle = open(log, "ab")  # noqa: SIM115 — closed in stop()
        self.popen = subprocess.Popen(command, stdout=self.handle, stderr=subprocess.STDOUT,
                                      env=dict(env), cwd=cwd, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the whole group (a worker and its pool children): a crash, no goodbye."""
        self.stopped = True
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self.handle.close()

    def stop(self) -> None:
        self.stopped = True
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Stack:
    """The processes of one test, all stopped at the end."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str | None) -> None:
        self.tmp, self.processes = tmp, []
        self.bi_port = free_port()
        # hr2bi.toml in the processes' working directory: the sample company as the source.
        (tmp / "hr2bi.toml").write_text(CONFIG.format(repo=REPO), encoding="utf-8")
        self.env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_MIGRATE_ON_START": "false",
                    "HR2BI_MAPPINGS_DIR": str(REPO / "mappings"),
                    "HR2BI_BI_BASE_URL": f"http://127.0.0.1:{self.bi_port}",
                    "HR2BI_BI_RATE_PER_KEY": "100000", "HR2BI_PUSH_DELAY_SECONDS": "0.2",
                    "PYTHONUNBUFFERED": "1"}
        for variable in ("HR2BI_CONFIG", "HR2BI_SOURCES"):
            self.env.pop(variable, None)
        if broker_url:
            self.env["BROKER_URL"] = broker_url

    def start(self, name: str, command: list[str], **env: str) -> Process:
        process = Process(command, self.tmp / f"{name}.log", {**self.env, **env}, self.tmp)
        self.processes.append(process)
        return process

    def sandbox(self, *extra: str) -> Process:
        process = self.start("sandbox", [str(BIN / "hr2bi"), "sandbox", "--port", str(self.bi_port),
                                         "--rate-limit", "0", "--state", str(self.tmp / "bi.json"),
                                         *extra])
        wait_for(lambda: answers("127.0.0.1", self.bi_port), 20, "the BI sandbox", self.tmp)
        return process

    def worker(self, name: str = "worker", concurrency: int = 2, **env: str) -> Process:
        return self.start(name, [str(BIN / "celery"), "-A", "sync.jobs.celery_app", "worker",
                                 "--loglevel", "INFO", "--concurrency", str(concurrency),
                                 "--queues", "hr2bi", "--hostname", f"{name}-{os.getpid()}@%h",
                                 "--without-gossip", "--without-mingle"], **env)

    def beat(self, name: str, **env: str) -> Process:
        return self.start(name, [str(BIN / "celery"), "-A", "sync.jobs.celery_app", "beat",
                                 "--loglevel", "INFO", "--schedule", str(self.tmp / f"{name}.schedule"),
                                 "--max-interval", "1"], **env)

    def bi_users(self) -> list[dict[str, Any]]:
        """Every user the sandbox BI holds (paged through its SCIM API)."""
        users: list[dict[str, Any]] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{self.bi_port}/api/scim/v2",
                          headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=10) as http:
            while True:
                page = http.get("/Users", params={"startIndex": len(users) + 1, "count": 100}).json()
                users += page.get("Resources", [])
                if not page.get("Resources") or len(users) >= page["totalResults"]:
                    return users

    def alive(self) -> bool:
        """Every process started and not stopped on purpose is still running."""
        return all(p.popen.poll() is None for p in self.processes if not p.stopped)

    def wait(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        return wait_for(condition, timeout, what, self.tmp, self.alive)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@contextmanager
def stack(tmp: Path, database_url: str, broker_url: str | None) -> Iterator[Stack]:
    processes = Stack(tmp, database_url, broker_url)
    try:
        yield processes
    finally:
        processes.stop()


class Door:
    """A TCP forwarder to ``target`` that can be shut (connections refused, open ones cut)
    and opened again: a database that goes away and comes back, without touching it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._server: socket.socket | None = None
        self._links: list[socket.socket] = []

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def shut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in self._links:
            link.close()
        self._links.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def private_redis(tmp: Path, port: int) -> Process:
    """A Redis of our own that writes every command to its append-only file before it
    answers, so a restart keeps what was queued (the machine's shared Redis is left alone)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp)]
    process = Process(command, tmp / f"redis-{port}.log", os.environ, tmp)
    wait_for(lambda: answers("127.0.0.1", port), 10, "the private Redis", tmp)
    return process
