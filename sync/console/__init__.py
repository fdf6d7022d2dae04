"""The admin console: server-rendered pages (Jinja, htmx for the interactive parts, no
JavaScript build step) under ``/console``, over the same ``sync.admin`` functions the admin
API serves. ``auth.py`` signs people in and guards every page; each other module is one
area of the console, adding its views to the one blueprint (``blueprint.py``).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import secrets
from typing import Any

from flask import Flask, redirect, url_for

from sync.admin.access import Role
from sync.config import Settings, env_value
from sync.console import auth
from sync.console.blueprint import NAV, bp

log = logging.getLogger("hr2bi.console")
# The areas' modules; importing one adds its views to the blueprint.
AREAS: tuple[str, ...] = ("overview", "runs", "provision", "people", "mappings", "provisioning", "audit",
                          "tokens")


def register(app: Flask, settings: Settings) -> None:
    key = env_value(settings.console_secret_key_env)
    if not key:
        log.warning("%s is not set: console sessions are signed with a random key and end "
                    "when this process restarts", settings.console_secret_key_env)
    app.secret_key = key or secrets.token_hex(32)
    secure = settings.console_secure_cookies
    if secure is None:
        secure = bool(settings.base_url and settings.base_url.startswith("https://"))
    app.config.update(
        SESSION_COOKIE_NAME="hr2bi_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        # The cookie's own lifetime is the absolute limit; the idle timeout is auth.py's
        # (so the sign-in page can say why the session ended).
        PERMANENT_SESSION_LIFETIME=max(dt.timedelta(hours=12),
                                       dt.timedelta(minutes=2 * settings.console_idle_minutes)),
    )
    auth.init_app(app, settings)
    for area in AREAS:
        importlib.import_module(f"sync.console.{area}")
    app.register_blueprint(bp)
    app.add_url_rule("/", "root", lambda: redirect(url_for("console.overview")))

    @app.context_processor
    def _console_globals() -> dict[str, Any]:
        return {"Role": Role, "nav_items": [item[1:] for item in NAV]}
