"""Signing in to the console, sessions, and who may see and do what.

Two ways in: OpenID Connect against the company's IdP (Authlib; the role comes from the
person's IdP groups, ``sync.admin.access.role_from_groups``), and, for the embedded mode, an
admin-scope token typed into the sign-in page. The session is a signed cookie (HttpOnly,
SameSite=Lax, Secure behind HTTPS) holding the principal and the time of the last request;
a session idle longer than ``console_idle_minutes`` ends. Every unsafe request carries the
session's CSRF token (a form field or the ``X-CSRFToken`` header htmx sends), or is refused.
Signing in, signing out and refused sign-ins are audit events.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from authlib.integrations.flask_client import OAuth
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from sync.admin import context
from sync.admin.access import Principal, Role, role_from_groups, token_signin_enabled
from sync.audit.actors import console_actor
from sync.audit.record import record_console_action
from sync.config import Settings, env_value
from sync.console.blueprint import bp
from sync.tokens import authenticate

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("hr2bi.console")
csrf = CSRFProtect()
IDP = "idp"
# Views anyone may reach: the sign-in page and the ways in, and the static files.
PUBLIC = {"console.signin", "console.signin_token", "console.signin_oidc", "console.oidc_callback",
          "console.static"}


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # only the console's forms: SCIM and the API use bearer tokens
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session (which idles out)
    )
    csrf.init_app(app)
    if settings.console_oidc_issuer:
        oauth = OAuth(app)  # one per app: each app its own IdP settings
        app.extensions[IDP] = oauth
        secret = env_value(settings.console_oidc_client_secret_env)
        kwargs: dict[str, Any] = {"scope": "openid email profile", "code_challenge_method": "S256"}
        if not secret:  # a public client: PKCE alone proves the code is ours
            kwargs["token_endpoint_auth_method"] = "none"
        oauth.register(
            IDP,
            server_metadata_url=settings.console_oidc_issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_id=settings.console_oidc_client_id,
            client_secret=secret,
            client_kwargs=kwargs,
        )


def _idp() -> Any:
    return current_app.extensions[IDP].create_client(IDP)


def principal() -> Principal:
    """The signed-in person (only inside a console view)."""
    return g.principal


def actor() -> str:
    """The signed-in person as the audit log's actor."""
    return console_actor(principal().name)


def requires(role: Role) -> Callable[[F], F]:
    """A view only people with ``role`` (or higher) may use; others get a 403 page."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not principal().may(role):
                return render_template("console/forbidden.html", needed=role.label), 403
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


@bp.before_request
def _gate() -> Any:
    """Sign-in, idle timeout and CSRF, before any console view."""
    if request.endpoint in PUBLIC:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        return None
    user = _session_principal()
    if user is None:
        return _to_signin()
    g.principal = user
    session["seen"] = int(time.time())
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return None


def _session_principal() -> Principal | None:
    name, role, via, seen = (session.get(k) for k in ("user", "role", "via", "seen"))
    if not name or Role.named(role or "") is None:
        return None
    idle = context.settings().console_idle_minutes * 60
    if not isinstance(seen, int) or time.time() - seen > idle:
        session.clear()
        flash(f"Your session ended after {idle // 60} minutes without activity: sign in again.")
        return None
    return Principal(name, Role.named(role), via)  # type: ignore[arg-type]


def _to_signin() -> Response:
    target = url_for("console.signin", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):  # htmx: make the whole page go to the sign-in page
        response = Response("sign in first", status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return url_for("console.overview")


def _start_session(user: Principal) -> None:
    session.clear()
    session.permanent = True
    session.update(user=user.name, role=user.role.name, via=user.via, seen=int(time.time()))


@bp.get("/signin")
def signin() -> Any:
    settings = context.settings()
    if request.args.get("next"):
        session["next"] = _safe_next(request.args.get("next"))
    return render_template("console/signin.html", oidc=bool(settings.console_oidc_issuer),
                           token_signin=token_signin_enabled(settings))


@bp.post("/signin/token")
def signin_token() -> Any:
    settings = context.settings()
    if not token_signin_enabled(settings):
        abort(404)
    secret = request.form.get("token", "").strip()
    with context.session() as db:
        token = authenticate(db, secret, "admin") if secret else None
        if token is None:
            record_console_action(db, actor=console_actor("unknown"), action="console.signin",
                                  target={"type": "console", "id": "token", "name": "token sign-in"},
                                  outcome="failure", reason={"detail": "not a live admin-scope token"})
        else:
            user = Principal(f"token:{token.name}", Role.ADMIN, "token")
            record_console_action(db, actor=console_actor(user.name), action="console.signin",
                                  target={"type": "console", "id": "token", "name": "token sign-in"},
                                  after={"role": user.role.label, "via": "token"})
    if token is None:
        flash("That is not a live admin-scope token (hr2bi tokens create NAME --scope admin).")
        return render_template("console/signin.html", oidc=bool(settings.console_oidc_issuer),
                               token_signin=True), 401
    nxt = session.get("next")
    _start_session(user)
    return redirect(_safe_next(nxt))


@bp.get("/signin/oidc")
def signin_oidc() -> Any:
    if not context.settings().console_oidc_issuer:
        abort(404)
    return _idp().authorize_redirect(url_for("console.oidc_callback", _external=True))


@bp.get("/oidc/callback")
def oidc_callback() -> Any:
    settings = context.settings()
    if not settings.console_oidc_issuer:
        abort(404)
    client = _idp()
    try:
        token = client.authorize_access_token()
    except Exception as exc:  # noqa: BLE001  (a refused or forged callback: say so, never a 500)
        log.warning("OIDC sign-in failed: %s", type(exc).__name__)
        flash("The identity provider's answer could not be used; sign in again.")
        return render_template("console/signin.html", oidc=True,
                               token_signin=token_signin_enabled(settings)), 400
    claims = dict(token.get("userinfo") or {})
    groups = claims.get(settings.console_oidc_groups_claim)
    if groups is None:
        claims = {**dict(client.userinfo(token=token)), **claims}
        groups = claims.get(settings.console_oidc_groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    name = str(claims.get("email") or claims.get("preferred_username") or claims.get("sub"))
    role = role_from_groups(groups, settings)
    with context.session() as db:
        record_console_action(db, actor=console_actor(name), action="console.signin",
                              target={"type": "console", "id": "oidc", "name": "IdP sign-in"},
                              after={"role": role.label if role else None, "via": "oidc"},
                              outcome="success" if role else "failure",
                              reason=None if role else {"detail": "in no console group"})
    if role is None:
        flash(f"{name} is in none of the console's groups: ask an admin to add you to one.")
        return render_template("console/signin.html", oidc=True,
                               token_signin=token_signin_enabled(settings)), 403
    nxt = session.get("next")
    _start_session(Principal(name, role, "oidc"))
    return redirect(_safe_next(nxt))


@bp.post("/signout")
def signout() -> Any:
    with context.session() as db:
        record_console_action(db, actor=actor(), action="console.signout",
                              target={"type": "console", "id": principal().via, "name": "sign-out"})
    session.clear()
    flash("Signed out.")
    return redirect(url_for("console.signin"))


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError) -> Any:
    return render_template("console/error.html", title="Form refused",
                           message="This form was sent without the console's CSRF token (or "
                           "with an old one): reload the page and send it again."), 400


@bp.route("/<path:rest>", methods=["GET", "POST"])
def not_found(rest: str) -> Any:
    """Any other console URL: after the gate (so a signed-out request sees only the sign-in
    page), a 404 page."""
    return render_template("console/error.html", title="Not found",
                           message="There is no such page in the console."), 404
