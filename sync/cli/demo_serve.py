"""The way into the demo's admin console, and ``hr2bi demo --serve``: the console and the
SCIM endpoint served over the demo's database, the BI sandbox kept up, until Ctrl+C."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.db import session_scope
from sync.tokens import create_token

Say = Callable[[str], None]


class Served(Protocol):
    """What the demo hands over once its story is told (``sync.cli.demo.DemoResult``)."""

    settings: Settings
    engine: Engine
    bi_url: str
    admin_token: str


def admin_token(engine: Engine) -> str:
    """An admin-scope token in the demo's database: it signs in to the console."""
    with session_scope(engine) as session:
        return create_token(session, f"demo-admin-{dt.datetime.now():%H%M%S%f}", "admin")


def console_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/console/"


def say_console(token: str, say: Say, database: str, url: str) -> None:
    """The end of the story: where the console is and how to sign in to it."""
    say("\nThe admin console (runs, people and why they have what they have, the audit trail):")
    say("   hr2bi demo --serve                 the demo, then the console and the sandbox stay up")
    say(f"   or: DATABASE_URL={database} hr2bi serve   then open {url}")
    say(f"   sign in with the demo's admin token: {token}")


def serve_demo(result: Served, host: str, port: int, say: Say) -> None:
    """Serve the console and the SCIM endpoint over the demo's database; each SCIM push is
    provisioned to the sandbox in-process. Returns when interrupted (Ctrl+C)."""
    from sync.serving import serve_dev
    from sync.web import create_app

    with session_scope(result.engine) as session:
        scim_token = create_token(session, f"demo-{dt.datetime.now():%H%M%S%f}", "scim")
    settings = result.settings.model_copy(update={"provision_on_push": True, "console_token_signin": True})
    scim = f"http://{host}:{port}/scim/v2"
    say(f"\nConsole:       {console_url(host, port)}")
    say(f"Admin token:   {result.admin_token}   (paste it on the console's sign-in page)")
    say(f"SCIM base URL: {scim}\nBearer token:  {scim_token}")
    say(f'Try:           curl -H "Authorization: Bearer {scim_token}" \'{scim}/Users?count=5\'')
    say(f"Pushes reach the BI sandbox at {result.bi_url}/api within seconds.  (Ctrl+C to stop)")
    # The demo's sessions live as long as this process: a key of its own, no warning.
    os.environ.setdefault(settings.console_secret_key_env, secrets.token_hex(32))
    serve_dev(create_app(settings, result.engine), host, port, settings.serve_timeout)
