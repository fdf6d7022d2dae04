"""What both web servers share, and the development server (``hr2bi serve``).

Some requests never reach Flask: the server refuses them while it reads the request line,
the headers or a chunked body. Those errors are answered here as SCIM error bodies (RFC 7644
section 3.12) on every path, since the request line may be too long or too broken to tell the
path, and JSON is what every client of this service reads. The same limits hold under both
servers; gunicorn's side is sync/gunicorn_conf.py and sync/gunicorn_worker.py.

Access logs hold the full request line, so a token a client put in the query string
(``?access_token=...``) is redacted before any log line is written.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler, run_simple

from scim.errors import ERROR_SCHEMA

CONTENT_TYPE = "application/scim+json"
# gunicorn's largest request line (8,190 bytes, its MAX_REQUEST_LINE): a 4,096-character
# filter fits in a GET unless URL-encoding more than doubles it; POST .search has no such limit.
MAX_REQUEST_LINE = 8190
MAX_HEADER_FIELD = 8190  # bytes in one header line, name and value (gunicorn's default)
MAX_HEADER_FIELDS = 100

# A query parameter whose name says it carries a secret; its value becomes [REDACTED].
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:[\w.-]*(?:token|secret|password|passwd|api[_-]?key|apikey|signature)"
    r"|key|auth|authorization|code|sig)=)[^&;\s\"']*")


def redact(text: str) -> str:
    """``text`` (a request line, a URL, a log message) with query-string secrets removed."""
    return _SECRET_PARAMETER.sub(r"\1[REDACTED]", text)


class RedactSecrets(logging.Filter):
    """Redacts query-string secrets from every record of the logger it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redact_logger(logger: logging.Logger) -> None:
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())


def error_body(status: int, detail: str) -> bytes:
    """A SCIM error body for an error the web server itself answers."""
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if status == 400:
        body["scimType"] = "invalidSyntax"
    return json.dumps(body).encode()


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ScimRequestHandler(WSGIRequestHandler):
    """werkzeug's handler with gunicorn's limits, SCIM error bodies and redacted logs.

    ``timeout`` (seconds, set by :func:`request_handler`) bounds every read: a client that
    connects and sends nothing, or stops halfway, is disconnected instead of holding a thread.
    """

    def parse_request(self) -> bool:
        if len(self.raw_requestline.rstrip(b"\r\n")) > MAX_REQUEST_LINE:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(414, None, f"the request line is longer than {MAX_REQUEST_LINE} "
                            "bytes; send a long filter with POST .search")
            return False
        if not super().parse_request():
            return False
        return self._headers_fit()

    def _headers_fit(self) -> bool:
        lines = self.headers.items()
        if len(lines) > MAX_HEADER_FIELDS:
            self.send_error(431, None, f"more than {MAX_HEADER_FIELDS} header fields")
            return False
        if any(len(name) + len(value) + 2 > MAX_HEADER_FIELD for name, value in lines):
            self.send_error(431, None, f"a header field is longer than {MAX_HEADER_FIELD} bytes")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's error reply, with a SCIM body instead of its HTML page."""
        detail = explain or message or reason(code)
        self.log_error("code %d, message %s", code, detail)
        body = error_body(code, detail)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def request_handler(timeout: float) -> type[ScimRequestHandler]:
    return type("ScimRequestHandler", (ScimRequestHandler,), {"timeout": timeout})


def serve_dev(app: Any, host: str, port: int, timeout: float) -> None:
    """Run ``app`` on werkzeug's threaded development server until interrupted."""
    redact_logger(logging.getLogger("werkzeug"))
    run_simple(host, port, app, threaded=True, use_reloader=False,
               request_handler=request_handler(timeout))
