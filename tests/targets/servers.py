"""Real HTTP servers for the target tests, as subprocesses on free 127.0.0.1 ports."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: Sequence[str], probe_url: str, headers: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait (bounded) until ``probe_url`` answers, stop it afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):  # at most ~20 s
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"{command[0]} exited: {output}")
            try:
                httpx.get(probe_url, headers=headers, timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{command[0]} did not answer at {probe_url}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
