"""The test servers' harness (servers.py): a server's output can never stall it, and a
server that does not start says why."""

from __future__ import annotations

import sys

import httpx
import pytest
from servers import free_port, running

# Writes 1 MB of log lines (a pipe nobody reads holds about 64 KB), then serves.
CHATTY = """
import http.server, sys
for n in range(20_000):
    print("log line", n, "x" * 40)
sys.stdout.flush()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def test_a_server_that_logs_a_lot_still_starts_and_answers() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with running([sys.executable, "-c", CHATTY, str(port)], url, {}):
        assert httpx.get(url, timeout=5).status_code == 200


def test_a_server_that_exits_at_once_shows_its_output() -> None:
    command = [sys.executable, "-c", "print('no state file'); raise SystemExit(3)"]
    with pytest.raises(RuntimeError, match=r"exited \(3\): no state file"), \
            running(command, f"http://127.0.0.1:{free_port()}/", {}):
        pass
