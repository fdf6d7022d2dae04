"""Real HTTP servers for the tests, as subprocesses on free 127.0.0.1 ports: the fakes the
target tests talk to, and hr2bi's own ``sandbox`` and ``serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hr2bi(*args: str) -> list[str]:
    """The ``hr2bi`` command of this checkout (run it with :func:`checkout_env`): the
    virtualenv's ``hr2bi`` script imports whichever checkout it was installed from."""
    return [sys.executable, "-m", "sync.cli", *args]


def checkout_env(**variables: str) -> dict[str, str]:
    """This environment without its hr2bi settings, this checkout first on PYTHONPATH, and
    ``variables`` (``DATABASE_URL=...``, ``HR2BI_...=...``): a process configured only by them."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith("HR2BI_") and k not in ("DATABASE_URL", "BROKER_URL", "PYTHONPATH")}
    return inherited | {"PYTHONPATH": str(ROOT)} | variables


@contextmanager
def running(command: Sequence[str], probe_url: str, headers: dict[str, str], *,
            env: Mapping[str, str] | None = None, cwd: Path | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (in ``cwd``, with ``env`` when given), wait (bounded) until
    ``probe_url`` answers, stop it afterwards, even when the block fails.

    Its output goes to a file (``log``, or a temporary one), not a pipe: a pipe nobody reads
    fills up (about 64 KB on Linux) and the server then blocks on its next log line. The file
    is read back for the message when the server does not start; a test that keeps ``log``
    can show it when it fails later."""
    with (log.open("w+b") if log is not None else tempfile.TemporaryFile()) as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            _wait_until_up(process, command, probe_url, headers, output)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen[bytes], command: Sequence[str], probe_url: str,
                   headers: dict[str, str], output: IO[bytes]) -> None:
    for _ in range(200):  # at most ~20 s
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited ({process.returncode}): {_tail(output)}")
        try:
            httpx.get(probe_url, headers=headers, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{command[0]} did not answer at {probe_url}: {_tail(output)}")


def _tail(output: IO[bytes], size: int = 4000) -> str:
    output.seek(0, 2)
    output.seek(max(output.tell() - size, 0))
    return output.read().decode(errors="replace")
