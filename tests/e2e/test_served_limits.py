"""Issue 12, "Responses": what the web server itself answers, through real servers.

gunicorn started by the Procfile's own web line (one worker, two threads) and ``hr2bi serve``,
each on a free port; raw requests over a socket, since an HTTP client refuses to send most of
them. Every refusal must be a SCIM error body (RFC 7644 section 3.12), never an HTML page or a
500; a long filter must fit in a GET; a token in the query string must not reach the log.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.tokens import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "targets"))
from servers import ROOT, checkout_env, free_port, hr2bi, running

pytestmark = pytest.mark.slow

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVE_TIMEOUT = 1.0
GUNICORN_FIRST_BYTES = 5.0 + 2.0 + 1.0  # gthread's data wait, keep-alive, its loop's tick


@dataclass(frozen=True)
class Served:
    kind: str  # "gunicorn" or "hr2bi serve"
    port: int
    token: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def procfile_web_line() -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    return line.removeprefix("web:").strip()


@pytest.fixture(scope="module", params=["gunicorn", "hr2bi serve"])
def served(request: pytest.FixtureRequest, migrated_engine: Engine, database_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with session_scope(migrated_engine) as session:
        token = create_token(session, f"limits-{request.param.replace(' ', '-')}", "scim")
    port, workdir = free_port(), tmp_path_factory.mktemp("served")
    env = checkout_env(DATABASE_URL=database_url, HR2BI_MIGRATE_ON_START="false",
                       HR2BI_SERVE_TIMEOUT=str(SERVE_TIMEOUT), PORT=str(port),
                       PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if request.param == "gunicorn":
        env |= {"WEB_CONCURRENCY": "1", "WEB_THREADS": "2",
                "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics")}  # the Procfile makes it
        command, cwd = ["sh", "-c", procfile_web_line()], ROOT
    else:
        command, cwd = hr2bi("serve", "--port", str(port)), workdir
    log = workdir / "server.log"
    with running(command, f"http://127.0.0.1:{port}/healthz", {}, env=env, cwd=cwd, log=log):
        yield Served(request.param, port, token, log)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def scim_error(self) -> dict[str, Any]:
        assert self.content_type == "application/scim+json", (self.content_type, self.body[:300])
        error = json.loads(self.body)
        assert error["schemas"] == [ERROR] and error["status"] == str(self.status), error
        assert error["detail"], error
        return dict(error)


def exchange(served: Served, head: bytes, body: Iterable[bytes] = ()) -> Answer:
    """Send ``head`` then ``body`` (from a thread: the server may answer and hang up before
    it is all sent) on a fresh connection; the response."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(head)
        sender = threading.Thread(target=_send_all, args=(sock, body), daemon=True)
        sender.start()
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = Answer(response.status, response.getheader("Content-Type", ""), response.read())
        sender.join(timeout=30)
        return answer


def _send_all(sock: socket.socket, parts: Iterable[bytes]) -> None:
    try:
        for part in parts:
            sock.sendall(part)
    except OSError:  # the server refused the body and closed: the test reads its answer
        pass


def request_head(served: Served, method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{served.port}",
             f"Authorization: Bearer {served.token}", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode()


def chunked(*parts: bytes) -> Iterator[bytes]:
    for part in parts:
        yield b"%x\r\n%s\r\n" % (len(part), part)
    yield b"0\r\n\r\n"


def test_the_longest_advertised_filter_fits_in_a_get(served: Served) -> None:
    # 4,096 characters (scim/filters.py MAX_FILTER_LENGTH), about 5,700 once URL-encoded:
    # past gunicorn's default 4,094-byte request line.
    value = ("abcd " * 1000)[:4096 - len('userName eq ""')]
    text = f'userName eq "{value}"'
    assert len(text) == 4096
    target = f"/scim/v2/Users?filter={quote(text)}"
    assert len(target) > 5000

    answer = exchange(served, request_head(served, "GET", target))

    assert answer.status == 200, answer.body[:500]
    assert json.loads(answer.body)["totalResults"] == 0


def test_a_20_kb_url_is_a_scim_414(served: Served) -> None:
    answer = exchange(served, request_head(served, "GET", "/scim/v2/Users?filter=" + "a" * 20_000))

    assert answer.status == 414
    answer.scim_error()


def test_a_20_kb_header_is_a_scim_431(served: Served) -> None:
    answer = exchange(served, request_head(served, "GET", "/scim/v2/Users", "X-Padding: " + "a" * 20_000))

    assert answer.status == 431
    answer.scim_error()


def test_a_20_mb_chunked_body_is_a_scim_413_with_the_advertised_limit(served: Served) -> None:
    limit = exchange(served, request_head(served, "GET", "/scim/v2/ServiceProviderConfig"))
    max_payload = json.loads(limit.body)["bulk"]["maxPayloadSize"]
    head = request_head(served, "POST", "/scim/v2/Users", "Content-Type: application/scim+json",
                        "Transfer-Encoding: chunked")
    filler = [b"a" * 65_536] * 320  # 20 MiB, with no Content-Length to refuse up front

    answer = exchange(served, head, chunked(b'{"userName": "', *filler, b'"}'))

    assert answer.status == 413
    assert str(max_payload) in answer.scim_error()["detail"]


def test_a_bad_chunk_size_is_a_scim_400(served: Served) -> None:
    head = request_head(served, "POST", "/scim/v2/Users", "Content-Type: application/scim+json",
                        "Transfer-Encoding: chunked")

    answer = exchange(served, head, iter([b"zz\r\n{}\r\n0\r\n\r\n"]))

    assert answer.status == 400
    assert answer.scim_error()["scimType"] == "invalidSyntax"


def test_a_token_in_the_query_string_is_refused_and_never_logged(served: Served) -> None:
    for name in ("access_token", "token", "api_key"):
        target = f"/scim/v2/Users?{name}={served.token}&count=1"
        head = request_head(served, "GET", target).replace(
            f"Authorization: Bearer {served.token}\r\n".encode(), b"")

        answer = exchange(served, head)

        assert answer.status == 401
        answer.scim_error()
    _wait_for(lambda: served.log_text().count("[REDACTED]") >= 3, served)
    assert served.token not in served.log_text()


@pytest.mark.parametrize("sent", [b"", b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n"],
                         ids=["nothing", "half a request"])
def test_a_silent_client_is_disconnected(served: Served, sent: bytes) -> None:
    """After ``HR2BI_SERVE_TIMEOUT``; gunicorn first waits 5 s for a new connection's first
    bytes (then its keep-alive, 2 s), so a connection that sent nothing lasts longer there."""
    patience = 5 * SERVE_TIMEOUT + (GUNICORN_FIRST_BYTES if served.kind == "gunicorn" and not sent else 0)
    with socket.create_connection(("127.0.0.1", served.port), timeout=2 * patience) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # the server hung up instead of waiting forever
        assert time.monotonic() - started < patience


def _wait_for(condition: Any, served: Served, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"the log never showed it:\n{served.log_text()[-3000:]}")
        time.sleep(0.05)
