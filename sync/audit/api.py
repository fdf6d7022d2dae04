"""``GET /api/audit/export``: the audit log's export bundle for an admin-scope token.

The answer is a zip of the same bundle ``hr2bi audit export`` writes (unzip it, then
``hr2bi audit verify DIR``; or verify the zip file directly), streamed while it is made
(see ``stream.py``). Everything that can be refused is refused before the first byte —
the token, the parameters, the signing key, an empty range — with a JSON error body that
says what is wrong and never repeats a secret.

Query parameters (all optional):

    since, until   ISO 8601 date or time, UTC unless it carries an offset; events in
                   [since, until)
    format         jsonl, csv, ocsf, cef (comma-separated or repeated): every bundle carries
                   all four views, so this only checks the request is one the bundle serves
    from_size      the size of the checkpoint the auditor trusts: the bundle then carries the
                   consistency proof ``verify --trusted-checkpoint`` needs
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.audit.bundle import BundleHead
from sync.audit.consistency import record_rewrite_alert
from sync.audit.errors import (
    AuditError,
    LogRewritten,
    NoSigningKey,
    NothingToExport,
    SigningKeyError,
)
from sync.audit.store import ExportRequest, export_head, stored_events
from sync.audit.stream import zip_stream
from sync.config import Settings
from sync.db import session_scope
from sync.tokens import authenticate

log = logging.getLogger("hr2bi.audit")
blueprint = Blueprint("audit_api", __name__, url_prefix="/api/audit")
FORMATS = ("jsonl", "csv", "ocsf", "cef")
PARAMETERS = {"since", "until", "format", "from_size"}


class ApiError(Exception):
    """A refused request: the HTTP status and a message fit to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ExportQuery:
    request: ExportRequest
    formats: tuple[str, ...]


def parse_export_query(args: Mapping[str, list[str]]) -> ExportQuery:
    """Validate the query string (each name with all its values) or raise ApiError 400."""
    unknown = sorted(set(args) - PARAMETERS)
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}: use {', '.join(sorted(PARAMETERS))}")
    for name in ("since", "until", "from_size"):
        if len(args.get(name, [])) > 1:
            raise ApiError(400, f"{name} is given more than once")
    since, until = (_time(args, name) for name in ("since", "until"))
    if since is not None and until is not None and since >= until:
        raise ApiError(400, f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    return ExportQuery(ExportRequest(since, until, from_size=_from_size(args)), _formats(args))


def _time(args: Mapping[str, list[str]], name: str) -> dt.datetime | None:
    if name not in args:
        return None
    text = args[name][0]
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name}={text[:40]!r} is not an ISO 8601 date or time "
                       "(for example 2026-11-01 or 2026-11-01T09:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _from_size(args: Mapping[str, list[str]]) -> int | None:
    if "from_size" not in args:
        return None
    text = args["from_size"][0]
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses; the length
    # bound keeps int() under Python's 4,300-digit limit (a ValueError, not a 400, past it).
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise ApiError(400, f"from_size={text[:40]!r} must be a positive integer: the size "
                       "of the checkpoint you trust")
    return int(text)


def _formats(args: Mapping[str, list[str]]) -> tuple[str, ...]:
    names = [n.strip() for value in args.get("format", []) for n in value.split(",")]
    bad = [n for n in names if n not in FORMATS]
    if bad:
        raise ApiError(400, f"unknown format {bad[0][:40]!r}: choose from {', '.join(FORMATS)}")
    return tuple(names) or FORMATS


@blueprint.errorhandler(ApiError)
def _refused(error: ApiError) -> tuple[Response, int]:
    response = jsonify(error=error.message, status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hr2bi admin"'
    return response, error.status


@blueprint.get("/export")
def export() -> Response:
    engine: Engine = current_app.extensions["hr2bi"]["engine"]
    settings = current_app.extensions["hr2bi"]["settings"]
    admin = _admin(engine)
    query = parse_export_query(request.args.to_dict(flat=False))
    download = prepare_export(engine, settings, query.request)
    log.info("audit export of events %s..%s for token %s", download.head.first_seq,
             download.head.last_seq, admin)
    return download.response()


@dataclass(frozen=True)
class ExportDownload:
    """An export ready to stream: its head is signed (so nothing can be refused any more),
    its body is read from a session of its own as the response is sent."""

    engine: Engine
    head: BundleHead

    @property
    def filename(self) -> str:
        return f"hr2bi-audit-{self.head.first_seq}-{self.head.last_seq}.zip"

    def response(self) -> Response:
        head = self.head
        return Response(_body(self.engine, head), mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{self.filename}"',
            "X-Audit-First-Seq": str(head.first_seq), "X-Audit-Last-Seq": str(head.last_seq),
            "X-Audit-Tree-Size": str(head.checkpoint.checkpoint.size),
        })


def prepare_export(engine: Engine, settings: Settings, wanted: ExportRequest) -> ExportDownload:
    """The one way an export is served over HTTP (this API and the admin console's
    download): everything that can be refused is, here, with ApiError, before the response
    starts."""
    return ExportDownload(engine, _export_head(engine, settings, wanted))


def _export_head(engine: Engine, settings: Settings, wanted: ExportRequest) -> BundleHead:
    """Everything that can be refused is, here, before the response starts."""
    with Session(engine) as session:
        try:
            return export_head(session, settings.audit_signing_key, settings.audit_origin, wanted)
        except NoSigningKey as exc:
            raise ApiError(503, "audit export is not configured on this server: it has no "
                           "signing key (HR2BI_AUDIT_SIGNING_KEY)") from exc
        except SigningKeyError as exc:
            log.error("audit export refused: %s", exc)  # the key's path is for the operator
            raise ApiError(503, "the server's audit signing key is not usable; "
                           "see the server log") from exc
        except NothingToExport as exc:
            raise ApiError(404, str(exc)) from exc
        except LogRewritten as exc:
            session.rollback()
            with session_scope(engine) as alerting:
                record_rewrite_alert(alerting, exc, settings.audit_origin)
            raise ApiError(503, "the audit log does not extend its stored checkpoints: "
                           "nothing is signed or exported; see the server log") from exc
        except AuditError as exc:  # a request the log cannot answer (from_size too large)
            raise ApiError(400, str(exc)) from exc


def _body(engine: Engine, head: BundleHead) -> Iterator[bytes]:
    """The zip, from a session of its own: it runs after the view has returned."""
    with Session(engine) as session:
        try:
            yield from zip_stream(head, stored_events(session, head.first_seq, head.last_seq))
        except AuditError as exc:
            log.error("audit export of %s..%s stopped midway: %s", head.first_seq,
                      head.last_seq, exc)
            raise


def _admin(engine: Engine) -> str:
    """The admin token's name, or ApiError 401 (no or bad token) / 403 (not admin scope)."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "send an admin token as 'Authorization: Bearer <token>' "
                       "(hr2bi tokens create NAME --scope admin)")
    with Session(engine) as session:
        token = authenticate(session, secret.strip(), "admin")
        other = None if token else authenticate(session, secret.strip(), "scim")
        session.commit()  # last_used_at
    if token is not None:
        return token.name
    if other is not None:
        raise ApiError(403, f"token {other.name!r} has scope 'scim'; the audit export needs "
                       "an admin-scope token")
    raise ApiError(401, "the bearer token is unknown or revoked")
