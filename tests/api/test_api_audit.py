"""``/api/v1/audit/...``: search by actor, target, action and time, page by seq; the
export bundle (the same streamed zip as ``/api/audit/export``, which ``hr2bi audit verify``
accepts) and its audit event; the checkpoint history, each signature and consistency
checked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from sync.admin.audit import prefix_roots
from sync.audit.checkpoint import (
    Checkpoint,
    generate_key_files,
    load_private_key,
    load_public_key,
    sign_checkpoint,
)
from sync.audit.log import Event, record_events
from sync.audit.merkle import root_hash
from sync.audit.store import checkpoint_now, leaf_hashes, store_checkpoint
from sync.audit.verify import verify_download
from sync.config import load_settings
from sync.db import session_scope
from sync.models import AuditEvent
from sync.tokens import create_token
from sync.web import create_app

ORIGIN = "hr2bi.test/console-audit"


def seed(engine: Engine) -> None:
    """Nine events: three SCIM writes, two token changes, a run's apply, three sign-ins."""
    rows = [Event("token:okta-prod", "user.create", {"type": "user", "id": "u-1", "name": "Ada@Example.com"}),
            Event("token:okta-prod", "user.patch", {"type": "user", "id": "u-1", "name": "ada@example.com"}),
            Event("token:entra", "group.create", {"type": "group", "id": "g-1", "name": "Finance"}),
            Event("cli:alice", "token.create", {"type": "token", "id": "okta-prod", "name": "okta-prod"}),
            Event("cli:alice", "token.revoke", {"type": "token", "id": "old", "name": "old"}),
            Event("system:apply", "bi.user.create", {"type": "user", "userName": "ada@example.com"}, run=7),
            *(Event(f"console:{who}@example.com", "console.signin",
                    {"type": "console", "id": "oidc", "name": "IdP sign-in"}) for who in ("dana", "dan", "eve"))]
    with session_scope(engine) as session:
        record_events(session, rows)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_key_files(tmp_path / "keys")


@pytest.fixture
def keyed_app(database_url: str, engine: Engine, keys: tuple[Path, Path]) -> Flask:
    return create_app(load_settings(database_url=database_url, migrate_on_start=False,
                                    audit_signing_key=keys[0], audit_origin=ORIGIN), engine)


def bearer(engine: Engine, scope: str = "viewer", name: str = "script") -> dict[str, str]:
    with session_scope(engine) as session:
        return {"Authorization": f"Bearer {create_token(session, name, scope)}"}


def search(app: Flask, headers: dict[str, str], **query: object) -> dict:
    answer = app.test_client().get("/api/v1/audit/events", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def seqs(page: dict) -> list[int]:
    return [e["seq"] for e in page["events"]]


def test_search_by_actor_action_target_and_time(app: Flask, engine: Engine) -> None:
    seed(engine)
    viewer = bearer(engine)
    assert seqs(search(app, viewer)) == list(range(9, 0, -1))  # newest first
    assert seqs(search(app, viewer, actor="token:okta")) == [2, 1]  # a prefix
    assert seqs(search(app, viewer, actor="console:dan")) == [8, 7]
    assert seqs(search(app, viewer, action="token")) == [5, 4]  # a family
    assert seqs(search(app, viewer, action="token.create")) == [4]
    assert seqs(search(app, viewer, action="tok")) == []  # not a substring
    assert seqs(search(app, viewer, target="u-1")) == [2, 1]  # by id
    assert seqs(search(app, viewer, target="ADA@example.com")) == [2, 1]  # by name, any case
    assert seqs(search(app, viewer, target="okta-prod", actor="cli:")) == [4]
    event = search(app, viewer, action="bi.user.create")["events"][0]
    assert event["run"] == 7 and event["actor"] == "system:apply" and event["outcome"] == "success"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert seqs(search(app, viewer, since=future)) == []
    assert len(search(app, viewer, until=future)["events"]) == 9


def test_pages_follow_the_seq_cursor(app: Flask, engine: Engine) -> None:
    seed(engine)
    viewer = bearer(engine)
    first = search(app, viewer, limit=4)
    assert seqs(first) == [9, 8, 7, 6] and first["next_before"] == 6
    second = search(app, viewer, limit=4, before=first["next_before"])
    assert seqs(second) == [5, 4, 3, 2] and second["next_before"] == 2
    last = search(app, viewer, limit=4, before=second["next_before"])
    assert seqs(last) == [1] and last["next_before"] is None


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"before": 0}, {"since": "yesterday"},
                                   {"actor": "a\x00b"}, {"before": "x"}])
def test_bad_filters_are_422_with_the_reason(app: Flask, engine: Engine, query: dict) -> None:
    answer = app.test_client().get("/api/v1/audit/events", query_string=query, headers=bearer(engine))
    assert answer.status_code == 422 and answer.get_json()["errors"]


def test_signed_out_is_401(app: Flask) -> None:
    for path in ("/api/v1/audit/events", "/api/v1/audit/checkpoints", "/api/v1/audit/export"):
        assert app.test_client().get(path).status_code == 401


def test_the_export_verifies_and_is_itself_audited(keyed_app: Flask, engine: Engine,
                                                   keys: tuple[Path, Path], tmp_path: Path) -> None:
    seed(engine)
    answer = keyed_app.test_client().get("/api/v1/audit/export", headers=bearer(engine))
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="hr2bi-audit-1-9.zip"'
    (tmp_path / "audit.zip").write_bytes(answer.get_data())
    report = verify_download(tmp_path / "audit.zip", load_public_key(keys[1]))
    assert (report.first_seq, report.last_seq) == (1, 9) and report.signature_checked
    with session_scope(engine) as session:
        export = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).one()
    assert export.actor == "console:token:script"
    assert export.after["first_seq"] == 1 and export.after["last_seq"] == 9
    # The old export API streams the same bundle.
    old = keyed_app.test_client().get("/api/audit/export", headers=bearer(engine, "admin", "old"))
    assert old.status_code == 200 and old.headers["X-Audit-Last-Seq"] == "10"


def test_no_signing_key_says_so_and_an_empty_range_is_404(app: Flask, keyed_app: Flask,
                                                          engine: Engine) -> None:
    seed(engine)
    viewer = bearer(engine)
    unkeyed = app.test_client().get("/api/v1/audit/export", headers=viewer)
    assert unkeyed.status_code == 503 and "no signing key" in unkeyed.get_json()["message"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    empty = keyed_app.test_client().get("/api/v1/audit/export", query_string={"since": future}, headers=viewer)
    assert empty.status_code == 404 and "nothing to export" in empty.get_json()["message"]
    backwards = keyed_app.test_client().get("/api/v1/audit/export", headers=viewer,
                                            query_string={"since": future, "until": "2020-01-01T00:00:00Z"})
    assert backwards.status_code == 404 and "nothing to export" in backwards.get_json()["message"]
    with session_scope(engine) as session:
        refused = list(session.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "audit.export")))
    assert refused == ["failure", "failure", "failure"]


def test_checkpoints_are_verified_and_checked_for_consistency(keyed_app: Flask, engine: Engine,
                                                              keys: tuple[Path, Path], tmp_path: Path) -> None:
    seed(engine)
    with session_scope(engine) as session:
        store_checkpoint(session, checkpoint_now(session, keys[0], ORIGIN), None)
    with session_scope(engine) as session:
        record_events(session, [Event("cli:bob", "token.create", {"type": "token", "id": "b", "name": "b"})])
        store_checkpoint(session, checkpoint_now(session, keys[0], ORIGIN), None)
        # A checkpoint signed by some other key is shown as such, not trusted.
        other = generate_key_files(tmp_path / "other")[0]
        store_checkpoint(session, checkpoint_now(session, other, ORIGIN), None)
    answer = keyed_app.test_client().get("/api/v1/audit/checkpoints", headers=bearer(engine))
    assert answer.status_code == 200, answer.get_json()
    history = answer.get_json()
    assert history["signing_key"] is True and history["log_size"] == 10
    rows = [(c["size"], c["signature"], c["consistent"]) for c in history["checkpoints"]]
    assert rows == [(10, "invalid", True), (10, "valid", True), (9, "valid", None)]
    assert "different key" in history["checkpoints"][0]["signature_detail"]


def test_a_rewritten_log_shows_as_inconsistent(keyed_app: Flask, engine: Engine,
                                               keys: tuple[Path, Path]) -> None:
    seed(engine)
    with session_scope(engine) as session:
        store_checkpoint(session, checkpoint_now(session, keys[0], ORIGIN), None)
    if engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL's trigger refuses the rewrite itself (migration 0003)")
    with engine.begin() as conn:  # an event and its leaf hash changed together
        conn.execute(text("UPDATE audit_events SET leaf_hash = :h WHERE seq = 3"), {"h": "00" * 32})
    with session_scope(engine) as session:
        hashes = leaf_hashes(session)
        signed = sign_checkpoint(Checkpoint(ORIGIN, len(hashes), root_hash(hashes), dt.datetime.now(dt.UTC)),
                                 load_private_key(keys[0]))
        store_checkpoint(session, signed, None)
    history = keyed_app.test_client().get("/api/v1/audit/checkpoints", headers=bearer(engine)).get_json()
    newest = history["checkpoints"][0]
    assert newest["signature"] == "valid" and newest["consistent"] is False
    assert "rewritten" in newest["consistency_detail"]


def test_a_target_name_json_writes_escaped_is_still_found(app: Flask, engine: Engine) -> None:
    with session_scope(engine) as session:
        record_events(session, [Event("token:okta", "group.create", {"type": "group", "id": "g-9", "name": 'Zoë "Z" Team'}),
                                Event("token:okta", "group.create", {"type": "group", "id": "g-10", "name": "100%_done"})])
    viewer = bearer(engine)
    assert seqs(search(app, viewer, target='zoë "z" team')) == [1]
    assert seqs(search(app, viewer, target="100%_done")) == [2]
    assert seqs(search(app, viewer, target="100")) == []  # a whole id or name, not a part


def test_prefix_roots_are_the_roots_of_each_prefix() -> None:
    hashes = [bytes([n]) * 32 for n in range(37)]
    sizes = [0, 1, 2, 3, 5, 7, 8, 16, 17, 31, 36, 37, 99]
    assert prefix_roots(hashes, sizes) == {n: root_hash(hashes[:n]) for n in sizes if n <= 37}
