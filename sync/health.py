"""``GET /healthz``: 200 when the database and the broker (if any) answer, else 503 saying
which one does not — for a load balancer or an orchestrator's probe. Nothing secret is in
the body: why the broker is unreachable goes to the log."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from kombu import Connection
from kombu.exceptions import KombuError

from sync.config import Settings
from sync.db import DatabaseUnavailable, check_connection

log = logging.getLogger("hr2bi")

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int] | Response:
    settings, engine = (current_app.extensions["hr2bi"][k] for k in ("settings", "engine"))
    try:
        check_connection(engine)
    except DatabaseUnavailable:
        return jsonify(status="unavailable", database="unreachable"), 503
    problem = broker_problem(settings)
    if problem is not None:  # the detail goes to the log, not the body
        log.warning("healthz: the broker is unreachable: %s", problem)
        return jsonify(status="unavailable", database="ok", broker="unreachable"), 503
    return jsonify(status="ok", database="ok", broker="embedded" if settings.broker_url is None else "ok")


def broker_problem(settings: Settings, timeout: float = 2.0) -> str | None:
    """None when the broker answers (or there is none: embedded mode), else why not,
    without the URL's password."""
    if settings.broker_url is None:
        return None
    try:
        with Connection(settings.broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except (KombuError, OSError) as exc:
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
