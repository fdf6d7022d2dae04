"""The admin API's door: bearer tokens by scope, JSON errors, the served OpenAPI document."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.engine import Engine

from sync.db import session_scope
from sync.tokens import create_token, revoke_token


def test_tokens_by_scope_and_clear_json_errors(app: Flask, engine: Engine) -> None:
    with session_scope(engine) as session:
        secrets = {scope: create_token(session, f"t-{scope}", scope) for scope in ("scim", "viewer", "admin")}
        revoked = create_token(session, "t-old", "admin")
        revoke_token(session, "t-old")
    client = app.test_client()
    missing = client.get("/api/v1/whoami")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bearer token" in missing.get_json()["message"]
    for secret in (secrets["scim"], revoked, "hr2bi_x_y"):
        answer = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 401 and secret not in answer.get_data(as_text=True)
    me = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secrets['viewer']}"})
    assert me.status_code == 200 and me.get_json() == {"name": "token:t-viewer", "role": "viewer", "via": "token"}


def test_the_openapi_document_is_served_and_names_the_security(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    operation = spec["paths"]["/api/v1/whoami"]["get"]
    assert {"200", "401", "403"} <= set(operation["responses"])


def test_scim_errors_stay_scim_with_the_api_mounted(app: Flask) -> None:
    answer = app.test_client().get("/scim/v2/NoSuchResource")
    assert answer.status_code == 404
    assert "urn:ietf:params:scim:api:messages:2.0:Error" in answer.get_json()["schemas"]
