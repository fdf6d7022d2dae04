"""The Flask app factory: the SCIM endpoint, the admin API and console, and health checks."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scim.service import ScimConfig, register
from sync import api, console
from sync.audit.api import blueprint as audit_api
from sync.audit.record import record_scim_write
from sync.config import Settings, load_settings
from sync.db import engine_for
from sync.errors import or_exit
from sync.health import blueprint as health
from sync.jobs.push import chain
from sync.jobs.push_wiring import scim_write_hook
from sync.metrics import install as install_metrics
from sync.people.linking import relink_on_write
from sync.tokens import authenticate


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """Build the web app. Pass ``engine`` to share one (tests); else it is made from settings
    and migrated when ``migrate_on_start`` is set."""
    settings = settings or load_settings()
    engine = engine or engine_for(settings)
    app = Flask("hr2bi")
    app.config["MAX_CONTENT_LENGTH"] = max(settings.scim_max_payload_bytes,
                                           settings.scim_bulk_max_payload_bytes)
    app.extensions["hr2bi"] = {"settings": settings, "engine": engine}
    logging.getLogger("hr2bi").setLevel(settings.log_level.upper())

    register(app, ScimConfig(
        engine=engine,
        authenticate=lambda secret: _actor(engine, secret, "scim"),
        base_url=settings.base_url,
        max_results=settings.scim_max_results,
        default_count=settings.scim_default_count,
        bulk_max_operations=settings.scim_bulk_max_operations,
        bulk_max_payload=settings.scim_bulk_max_payload_bytes,
        max_payload=settings.scim_max_payload_bytes,
        on_write=chain(record_scim_write, relink_on_write, *filter(None, [scim_write_hook(settings, engine)])),
    ))

    app.register_blueprint(audit_api)
    api.register(app)
    console.register(app, settings)

    app.register_blueprint(health)
    install_metrics(app, engine)

    return app


def _actor(engine: Engine, secret: str, scope: str) -> str | None:
    with Session(engine) as session:
        token = authenticate(session, secret, scope)
        session.commit()  # last_used_at
    return token.name if token else None


def wsgi_app() -> Flask:
    """Entry point for gunicorn: ``gunicorn 'sync.web:wsgi_app()'``. A configuration or
    database error is one line and exit 1 (with ``--preload``, before any worker forks)."""
    return or_exit("web", create_app)
