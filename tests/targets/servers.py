"""Real HTTP servers for the target tests, as subprocesses on free 127.0.0.1 ports."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: Sequence[str], probe_url: str, headers: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait (bounded) until ``probe_url`` answers, stop it afterwards.

    Its output goes to a temporary file, not a pipe: a pipe nobody reads fills up (about
    64 KB on Linux) and the server then blocks on its next log line. The file is read back
    only for the message when the server does not start."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
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
