"""The tokens page (admins only): list, create (the secret is shown on the answer to the
creation, once, never stored in the session or a URL) and revoke."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from sync.admin import context
from sync.admin.access import Role
from sync.admin.tokens import SCOPES, TokenError, UnknownToken, create, revoke, tokens
from sync.console import auth
from sync.console.blueprint import bp, nav

nav(70, "console.tokens", "Tokens", Role.ADMIN)


def _page(status: int = 200, created: dict[str, Any] | None = None, problem: str | None = None) -> Any:
    with context.session() as session:
        listed = tokens(session)
    page = render_template("console/tokens/tokens.html", tokens=listed, scopes=SCOPES,
                           created=created, problem=problem, form=request.form)
    # A page showing a secret must not be kept by the browser or a proxy.
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/tokens", endpoint="tokens")
@auth.requires(Role.ADMIN)
def tokens_page() -> Any:
    return _page()


@bp.post("/tokens")
@auth.requires(Role.ADMIN)
def tokens_create() -> Any:
    name, scope = request.form.get("name", "").strip(), request.form.get("scope", "")
    if not name:
        return _page(400, problem="Give the token a name.")
    try:
        with context.session() as session:
            made = create(session, name, scope, auth.actor())
    except TokenError as refused:
        return _page(400, problem=str(refused))
    return _page(201, created=made)


@bp.post("/tokens/<name>/revoke")
@auth.requires(Role.ADMIN)
def tokens_revoke(name: str) -> Any:
    try:
        with context.session() as session:
            revoke(session, name, auth.actor())
    except UnknownToken as refused:
        return _page(404, problem=str(refused))
    flash(f"Token {name} revoked: it stops working at once.")
    return redirect(url_for("console.tokens"))
