"""gunicorn's gthread worker and logger, answering in SCIM and logging no secrets.

Loaded by gunicorn only (sync/gunicorn_conf.py names them); sync/serving.py explains why
the web server's own errors are SCIM error bodies on every path.
"""

from __future__ import annotations

import sys
from typing import Any

from gunicorn import glogging
from gunicorn.http.errors import ParseException
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import BadRequest

from sync.config import load_settings
from sync.serving import CONTENT_TYPE, error_body, reason, redact_logger

SERVER_FAULT = "internal error; the server log has the details"


class ScimThreadWorker(ThreadWorker):
    """gunicorn's gthread worker; its error pages are SCIM error bodies, and a client that
    stalls in the middle of a request is disconnected after ``HR2BI_SERVE_TIMEOUT``."""

    def init_process(self) -> None:
        self.read_timeout = load_settings().serve_timeout
        super().init_process()

    def handle(self, conn: Any) -> Any:
        # gthread waits a few seconds for a new connection's first bytes, then reads the
        # request with a blocking socket and no timeout: a client that sends half a request
        # and stops holds a thread for good (a handful of them stop the worker). The socket
        # is made blocking again on every call, so the timeout is set right after that.
        def init() -> None:
            TConn.init(conn)
            conn.sock.settimeout(self.read_timeout)

        conn.init = init
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        # gunicorn picks the status (414, 431, 400...), logs the error and writes the access
        # line; only the page it then writes through this socket is replaced.
        super().handle_error(req, ScimErrorPage(client, exc), addr, exc)

    def handle_request(self, req: Any, conn: Any) -> bool:
        # A bad chunk surfaces while the app reads the body, as a gunicorn exception Flask
        # does not know (a 500). The app sees it as a 400; gunicorn keeps the raw body, so it
        # still notices the failure and closes the connection.
        body = req.body
        req.body = RequestBody(body)
        try:
            return bool(super().handle_request(req, conn))
        finally:
            req.body = body


class ScimErrorPage:
    """The client socket, as gunicorn's error writer sees it: the HTML error page that
    ``gunicorn.util.write_error`` sends becomes a SCIM error body with the same status."""

    def __init__(self, sock: Any, exc: BaseException) -> None:
        self._sock = sock
        self._exc = exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        status = int(data.split(b" ", 2)[1])  # "HTTP/1.1 414 URI Too Long\r\n..."
        detail = str(self._exc) if status < 500 else SERVER_FAULT
        body = error_body(status, detail)
        head = (f"HTTP/1.1 {status} {reason(status)}\r\nConnection: close\r\n"
                f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n")
        self._sock.sendall(head.encode("latin-1") + body)


class RequestBody:
    """``wsgi.input``: gunicorn's request body, whose parse errors are 400s for Flask."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int | None = None) -> bytes:
        return self._call(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._call(self._body.readline, size)

    def readlines(self, size: int | None = None) -> list[bytes]:
        return self._call(self._body.readlines, size)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    @staticmethod
    def _call(method: Any, size: int | None) -> Any:
        try:
            return method(size)
        except ParseException as exc:
            raise BadRequest(f"the request body is malformed: {exc}") from exc


class RedactingLogger(glogging.Logger):
    """gunicorn's logger; access and error lines carry no query-string secrets."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            redact_logger(logger)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        # A client that timed out (see ScimThreadWorker.handle) is the client's fault and an
        # everyday event on the internet: one line, not a traceback.
        if isinstance(sys.exc_info()[1], TimeoutError):
            self.warning("closed a connection whose client stalled mid-request")
            return
        super().exception(msg, *args, **kwargs)
