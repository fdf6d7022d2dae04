"""Reading a request body, never past the payload limit the endpoint advertises.

werkzeug's ``MAX_CONTENT_LENGTH`` refuses a ``Content-Length`` that is too large, but a
chunked body has none: its stream is cut silently at the limit, and the truncated JSON was
answered 400 ``invalidSyntax`` instead of 413 (RFC 7644 section 3.12).
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge

from scim.errors import InvalidSyntax, PayloadTooLarge

READ_STEP = 64 * 1024


def read_body() -> bytes:
    """The body of the current request; 413 past the limit, 400 if it cannot be read."""
    limit = payload_limit()
    parts, size = [], 0
    try:
        while size <= limit:
            part = request.stream.read(min(READ_STEP, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except RequestEntityTooLarge as exc:  # past the app-wide MAX_CONTENT_LENGTH
        raise too_large(limit) from exc
    except ClientDisconnected as exc:  # werkzeug's word for any body it could not read
        raise InvalidSyntax("the request body could not be read: it is malformed (a bad "
                            "chunk) or the client stopped sending it") from exc
    except BadRequest as exc:  # the server's own reader refused it (sync/gunicorn_worker.py)
        raise InvalidSyntax(str(exc.description)) from exc
    if size > limit:
        raise too_large(limit)
    return b"".join(parts)


def payload_limit() -> int:
    """Bulk requests have their own limit, the ``bulk.maxPayloadSize`` advertised in
    ``/ServiceProviderConfig``; every other request has ``max_payload``."""
    config = current_app.extensions["scim"]
    return int(config.bulk_max_payload if request.endpoint == "scim.bulk" else config.max_payload)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes (maxPayloadSize)")
