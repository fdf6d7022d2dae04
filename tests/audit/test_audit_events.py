"""The audit log table: SCIM writes and token changes leave exactly their events, in the
same transaction; the log exports and verifies; PostgreSQL refuses to rewrite it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from scim.schema import PATCH_OP, USER
from sync.audit.bundle import write_bundle
from sync.audit.events import event_leaf_hash
from sync.audit.log import as_exported
from sync.audit.verify import verify_bundle
from sync.cli import main
from sync.models import AuditEvent


def events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))


def test_scim_writes_leave_one_event_each_with_actor_before_and_after(
        client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    created = client.post("/scim/v2/Users", headers=auth,
                          json={"schemas": [USER], "userName": "ann@corp.com", "active": True}).json
    uid = created["id"]
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert client.patch(f"/scim/v2/Users/{uid}", headers=auth, json=patch).status_code == 200
    assert client.patch(f"/scim/v2/Users/{uid}", headers=auth, json=patch).status_code == 200  # no-op
    duplicate = client.post("/scim/v2/Users", headers=auth, json={"userName": "ANN@corp.com"})
    assert duplicate.status_code == 409                                    # refused: no event
    assert client.delete(f"/scim/v2/Users/{uid}", headers=auth).status_code == 204

    logged = events(engine)
    assert [(e.seq, e.action) for e in logged] == [(1, "user.create"), (2, "user.patch"), (3, "user.delete")]
    assert {e.actor for e in logged} == {"token:okta-test"}
    assert all(e.target == {"type": "user", "id": uid, "name": "ann@corp.com"} for e in logged)
    create, deactivate, delete = logged
    assert create.before is None and create.after["active"] is True and "meta" not in create.after
    assert deactivate.before["active"] is True and deactivate.after["active"] is False
    assert delete.before["active"] is False and delete.after is None
    for row in logged:  # the stored leaf hash is over the event exactly as exported
        assert row.leaf_hash == event_leaf_hash(as_exported(row)).hex()


def test_group_membership_changes_are_logged(client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    uid = client.post("/scim/v2/Users", headers=auth, json={"userName": "bo@corp.com"}).json["id"]
    gid = client.post("/scim/v2/Groups", headers=auth, json={"displayName": "Finance"}).json["id"]
    client.patch(f"/scim/v2/Groups/{gid}", headers=auth, json={
        "schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]})
    last = events(engine)[-1]
    assert last.action == "group.patch" and "members" not in last.before
    assert [m["value"] for m in last.after["members"]] == [uid]


def test_token_changes_are_logged(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["tokens", "create", "entra", "--scope", "scim"]).exit_code == 0
    assert runner.invoke(main, ["tokens", "revoke", "entra"]).exit_code == 0
    logged = events(engine)
    assert [(e.action, e.target["name"], e.after) for e in logged] == [
        ("token.create", "entra", {"scope": "scim"}), ("token.revoke", "entra", {"scope": "scim"})]
    assert all(e.actor.startswith("cli:") for e in logged)


def test_the_stored_log_exports_and_verifies(client: FlaskClient, auth: dict[str, str], engine: Engine,
                                             tmp_path: Path) -> None:
    for i in range(5):
        client.post("/scim/v2/Users", headers=auth, json={"userName": f"u{i}@corp.com"})
    rows = events(engine)
    key = Ed25519PrivateKey.generate()
    hashes = [bytes.fromhex(r.leaf_hash) for r in rows]
    write_bundle([as_exported(r) for r in rows[1:4]], tmp_path / "bundle", key,
                 origin="hr2bi test", log_leaf_hashes=hashes)
    report = verify_bundle(tmp_path / "bundle", public_key=key.public_key())
    assert (report.first_seq, report.last_seq) == (2, 4)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the append-only trigger is PostgreSQL's; CI runs the suite there too")
def test_postgresql_refuses_update_and_delete(client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    client.post("/scim/v2/Users", headers=auth, json={"userName": "x@corp.com"})
    for statement in ("UPDATE audit_events SET actor = 'forger'", "DELETE FROM audit_events"):
        with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    assert [e.actor for e in events(engine)] == ["token:okta-test"]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the TRUNCATE trigger is PostgreSQL's; CI runs the suite there too")
def test_postgresql_refuses_truncate_of_the_log_and_its_checkpoints(
        client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    """Row triggers never fire on TRUNCATE: an emptied log was signed afresh (issue 12)."""
    client.post("/scim/v2/Users", headers=auth, json={"userName": "x@corp.com"})
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_checkpoints (size, root, note, created_at) "
                          "VALUES (1, :root, 'note', now())"), {"root": "00" * 32})
    for table in ("audit_events", "audit_checkpoints"):
        with engine.connect() as conn, pytest.raises(DBAPIError, match=f"{table} is append-only: TRUNCATE refused"):
            conn.execute(text(f"TRUNCATE {table} CASCADE"))
    with engine.connect() as conn, pytest.raises(DBAPIError, match="audit_checkpoints is append-only: DELETE"):
        conn.execute(text("DELETE FROM audit_checkpoints"))
    assert [e.actor for e in events(engine)] == ["token:okta-test"]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_checkpoints")) == 1


def test_export_checkpoint_and_verify_from_the_command_line(
        database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    missing_key = runner.invoke(main, ["audit", "checkpoint"])
    assert missing_key.exit_code == 1 and "hr2bi audit keygen" in missing_key.output
    assert runner.invoke(main, ["audit", "keygen", "--out", "keys"]).exit_code == 0
    private = next(p for p in (tmp_path / "keys").iterdir() if "pub" not in p.name)
    public = next(p for p in (tmp_path / "keys").iterdir() if "pub" in p.name)
    monkeypatch.setenv("HR2BI_AUDIT_SIGNING_KEY", str(private))
    for name in ("a", "b"):
        assert runner.invoke(main, ["tokens", "create", name]).exit_code == 0
    first = runner.invoke(main, ["audit", "checkpoint", "--out", "cp1.txt"])
    assert first.exit_code == 0, first.output
    for name in ("c", "d"):
        assert runner.invoke(main, ["tokens", "create", name]).exit_code == 0
    exported = runner.invoke(main, ["audit", "export", "--out", "bundle", "--from-checkpoint", "cp1.txt"])
    assert exported.exit_code == 0, exported.output
    assert "exported events 1..4" in exported.output
    verified = runner.invoke(main, ["audit", "verify", "bundle", "--public-key", str(public),
                                    "--trusted-checkpoint", "cp1.txt"])
    assert verified.exit_code == 0, verified.output
    empty = runner.invoke(main, ["audit", "export", "--out", "none", "--since", "2999-01-01"])
    assert empty.exit_code == 1 and "no audit events" in empty.output


def test_events_appended_in_bulk_continue_the_sequence_and_hash_as_exported(engine) -> None:
    from sqlalchemy import select
    from sqlmodel import Session

    from sync.audit.events import event_leaf_hash
    from sync.audit.log import Event, as_exported, record_event, record_events
    from sync.models import AuditEvent

    with Session(engine) as session:
        record_event(session, actor="a", action="x.one", target={"type": "x", "id": "1"})
        count = record_events(session, (Event("source:hr", "person.add", {"type": "person", "id": str(i)},
                                              after={"i": i}, run=7) for i in range(12001)))
        record_event(session, actor="a", action="x.last", target={"type": "x", "id": "2"})
        session.commit()
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert count == 12001
    assert [row.seq for row in rows] == list(range(1, 12004))
    assert rows[5].after == {"i": 4} and rows[5].run_id == 7
    assert rows[-1].action == "x.last"
    assert all(row.leaf_hash == event_leaf_hash(as_exported(row)).hex() for row in rows)
