"""``hr2bi tokens create | list | revoke``: bearer tokens for the SCIM endpoint and admin API."""

from __future__ import annotations

import getpass
from typing import Any

import click

from sync.audit.actors import cli_actor
from sync.audit.record import record_token_change
from sync.cli.output import Column, json_option, print_json, print_table
from sync.config import load_settings
from sync.db import engine_for, session_scope
from sync.tokens import SCOPES, create_token, list_tokens, revoke_token

COLUMNS = (Column("NAME", 24), Column("SCOPE", 6), Column("PREFIX", 9), Column("CREATED", 20),
           Column("LAST USED", 20), Column("STATUS"))


@click.group(help="Bearer tokens for the SCIM endpoint and the admin API.")
def tokens() -> None:
    pass


@tokens.command("create", help="Create a token and print it (it is shown only this once).")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), default="scim", show_default=True)
def tokens_create(name: str, scope: str) -> None:
    with session_scope(engine_for(load_settings())) as session:
        secret = create_token(session, name, scope)
        record_token_change(session, "create", name, scope, by=_operator())
    click.echo(secret)
    click.echo(f"Token {name!r} ({scope}) created. Store it now: it cannot be shown again.",
               err=True)


@tokens.command("list", help="List tokens (names, scopes, prefixes; never the secrets).")
@json_option
def tokens_list(as_json: bool) -> None:
    with session_scope(engine_for(load_settings())) as session:
        rows = list_tokens(session)
    if as_json:
        print_json([_token_json(t) for t in rows])
        return
    if not rows:
        click.echo("No tokens yet: create one with `hr2bi tokens create NAME`.")
        return
    print_table(COLUMNS, ((t.name, t.scope, t.prefix, _when(t.created_at), _when(t.last_used_at),
                           "revoked" if t.revoked_at else "active") for t in rows))


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
    with session_scope(engine_for(load_settings())) as session:
        token = revoke_token(session, name)
        record_token_change(session, "revoke", name, token.scope, by=_operator())
    click.echo(f"Token {name!r} revoked.")


def _operator() -> str:
    """Who ran the command, for the audit log: the operating-system account."""
    try:
        return cli_actor(getpass.getuser())
    except (KeyError, OSError):  # no passwd entry (some containers)
        return cli_actor(None)
