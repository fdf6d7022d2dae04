"""The ``hr2bi`` command line. Commands translate arguments, call the core, print results.

User errors (bad configuration, unreachable database, unknown token...) print one clear
line and exit 1; they never show a traceback.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click

from sync.audit.actors import cli_actor
from sync.audit.record import record_token_change
from sync.config import ConfigError, Settings, load_settings
from sync.db import DatabaseUnavailable, engine_for, session_scope
from sync.rules.errors import RulesError
from sync.tokens import SCOPES, TokenError, create_token, list_tokens, revoke_token

USER_ERRORS = (ConfigError, DatabaseUnavailable, TokenError, RulesError)


class Commands(click.Group):
    """The top-level group: a user error from any command is one line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc


def settings() -> Settings:
    return load_settings()


@click.group(cls=Commands, help="hr2bi keeps a BI platform's accounts in step with who works here.")
@click.version_option(package_name="hr2bi")
def main() -> None:
    pass


@main.command(help="Run the SCIM endpoint and admin API (development server; use the "
                   "Procfile's gunicorn line in production).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    from sync.serving import serve_dev
    from sync.web import create_app

    loaded = settings()
    app = create_app(loaded)
    click.echo(f"SCIM endpoint: http://{host}:{port}/scim/v2  (Ctrl+C to stop)")
    serve_dev(app, host, port, loaded.serve_timeout)


@main.group(help="Bearer tokens for the SCIM endpoint and the admin API.")
def tokens() -> None:
    pass


@tokens.command("create", help="Create a token and print it (it is shown only this once).")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), default="scim", show_default=True)
def tokens_create(name: str, scope: str) -> None:
    with session_scope(engine_for(settings())) as session:
        secret = create_token(session, name, scope)
        record_token_change(session, "create", name, scope, by=_operator())
    click.echo(secret)
    click.echo(f"Token {name!r} ({scope}) created. Store it now: it cannot be shown again.",
               err=True)


@tokens.command("list", help="List tokens (names, scopes, prefixes; never the secrets).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tokens_list(as_json: bool) -> None:
    with session_scope(engine_for(settings())) as session:
        rows = list_tokens(session)
    if as_json:
        click.echo(json.dumps([_token_json(t) for t in rows], indent=2))
        return
    if not rows:
        click.echo("No tokens yet: create one with `hr2bi tokens create NAME`.")
        return
    click.echo(f"{'NAME':<24} {'SCOPE':<6} {'PREFIX':<9} {'CREATED':<20} {'LAST USED':<20} STATUS")
    for t in rows:
        status = "revoked" if t.revoked_at else "active"
        click.echo(f"{t.name:<24} {t.scope:<6} {t.prefix:<9} {_when(t.created_at):<20} "
                   f"{_when(t.last_used_at):<20} {status}")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _token_json(token: Any) -> dict[str, Any]:
    return {
        "name": token.name, "scope": token.scope, "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@tokens.command("revoke", help="Revoke a token: it stops working at once.")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    with session_scope(engine_for(settings())) as session:
        token = revoke_token(session, name)
        record_token_change(session, "revoke", name, token.scope, by=_operator())
    click.echo(f"Token {name!r} revoked.")


def _operator() -> str:
    """Who ran the command, for the audit log: the operating-system account."""
    try:
        return cli_actor(getpass.getuser())
    except (KeyError, OSError):  # no passwd entry (some containers)
        return cli_actor(None)


@main.command(help="The whole flow on embedded defaults, in its own directory: the BI sandbox, "
                   "the sample company imported, planned and applied, a day of changes, the "
                   "audit log exported and verified. Re-runnable: --dir is wiped at the start.")
@click.option("--dir", "root", default="demo-data", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The demo's own directory.")
@click.option("--serve", is_flag=True, help="Then serve the SCIM endpoint (pushes reach the sandbox).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(root: Path, serve: bool, host: str, port: int) -> None:
    from sync.demo import FAILURES, run_demo, serve_scim

    keep = (lambda result: serve_scim(result, host, port, click.echo)) if serve else None
    try:
        run_demo(root, click.echo, keep=keep)
    except FAILURES as exc:
        raise click.ClickException(f"the demo stopped: {exc}") from exc


def _register_command_groups() -> None:
    """Command groups that live beside the code they drive (one line each)."""
    from sync.rules.cli import mappings

    main.add_command(mappings)
    from sync.sources.cli import import_group
    main.add_command(import_group)
    from sync.people.cli import people
    main.add_command(people)
    from sync.runs_cli import runs
    main.add_command(runs)
    main.add_command(__import__("sync.targets.sandbox.cli", fromlist=["sandbox"]).sandbox)
    main.add_command(__import__("sync.audit.cli", fromlist=["audit"]).audit)
    main.add_command(__import__("sync.sync_cli", fromlist=["sync_command"]).sync_command)
    main.add_command(__import__("sync.doctor_cli", fromlist=["doctor"]).doctor)
    from sync.plan.cli import (
        apply_command,
        plan_command,
        provision_command,
        reconcile_command,
    )
    for command in (plan_command, apply_command, reconcile_command, provision_command):
        main.add_command(command)


_register_command_groups()


if __name__ == "__main__":
    main()
