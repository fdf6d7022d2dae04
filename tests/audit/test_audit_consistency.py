"""A new checkpoint is signed only over a log that extends the stored ones (issue 12).

Written from the symptom: a row rewritten in place together with its leaf hash was signed
at a new root although ``audit_checkpoints`` still held the old ones, and nothing compared
them. The tampering is done in SQL, as someone with the database's keys would; on
PostgreSQL that needs the superuser's replica role to get past the append-only triggers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from sync.audit.checkpoint import generate_key_files
from sync.audit.consistency import ALERT, StoredHead, prove_extension
from sync.audit.errors import LogRewritten
from sync.audit.events import event_leaf_hash
from sync.audit.log import Event, as_exported, record_events
from sync.audit.merkle import EMPTY_ROOT, leaf_hash, root_hash, verify_consistency
from sync.audit.store import checkpoint_after_run, leaf_hashes
from sync.cli import main
from sync.config import load_settings
from sync.db import session_scope
from sync.metrics import render
from sync.models import AuditCheckpoint, AuditEvent
from sync.tokens import create_token
from sync.web import create_app

ORIGIN = "hr2bi.test/audit"


def append(engine: Engine, count: int) -> None:
    with session_scope(engine) as session:
        record_events(session, [Event("source:workday", "user.create", {"type": "user", "id": f"u{n}"})
                                for n in range(count)])


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(statement), params)


def rewrite_in_place(engine: Engine, seq: int) -> None:
    """Change an event's actor and its leaf hash with it, as a careful forger would."""
    with session_scope(engine) as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.seq == seq)).one()
        forged = {**as_exported(row), "actor": "source:forger"}
    tamper(engine, "UPDATE audit_events SET actor = 'source:forger', leaf_hash = :h WHERE seq = :s",
           h=event_leaf_hash(forged).hex(), s=seq)


def checkpoints(engine: Engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return [(c.size, c.root) for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))]


def alerts(engine: Engine) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == ALERT)
                                    .order_by(AuditEvent.seq)))


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    private, _ = generate_key_files(tmp_path / "keys")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HR2BI_AUDIT_SIGNING_KEY", str(private))
    monkeypatch.setenv("HR2BI_AUDIT_ORIGIN", ORIGIN)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def sign(cli: CliRunner) -> Any:
    return cli.invoke(main, ["audit", "checkpoint"])


def test_a_row_rewritten_with_its_leaf_hash_is_refused_alerted_and_stays_refused(
        engine: Engine, cli: CliRunner, caplog: pytest.LogCaptureFixture) -> None:
    append(engine, 5)
    assert sign(cli).exit_code == 0
    kept = checkpoints(engine)
    rewrite_in_place(engine, 3)
    with caplog.at_level(logging.ERROR, logger="hr2bi.audit"):
        refused = sign(cli)
    assert refused.exit_code == 1 and "checkpoint REFUSED" in refused.output
    assert "does not extend stored checkpoint" in refused.output
    assert any(r.levelno == logging.ERROR and "checkpoint refused" in r.getMessage() for r in caplog.records)
    assert checkpoints(engine) == kept
    [alert] = alerts(engine)
    assert (alert.seq, alert.outcome, alert.before["size"], alert.after["size"]) == (6, "failure", 5, 5)
    # The alert is a new leaf after the rewritten ones: it never makes the log consistent.
    append(engine, 2)
    assert sign(cli).exit_code == 1
    assert checkpoints(engine) == kept and len(alerts(engine)) == 2
    assert "hr2bi_audit_alerts 2.0" in render(engine).decode()


def test_deleted_tail_rows_are_refused_even_once_alerts_refill_the_old_size(
        engine: Engine, cli: CliRunner) -> None:
    append(engine, 6)
    assert sign(cli).exit_code == 0
    kept = checkpoints(engine)
    tamper(engine, "DELETE FROM audit_events WHERE seq > 4")
    for expected_size in (4, 5, 6, 7):  # each refusal appends an alert: 5, 6, 7, 8 events
        refused = sign(cli)
        assert refused.exit_code == 1, refused.output
        assert f"the audit log ({expected_size} events)" in refused.output
    assert checkpoints(engine) == kept


def test_an_emptied_log_is_refused(engine: Engine, cli: CliRunner) -> None:
    append(engine, 3)
    assert sign(cli).exit_code == 0
    tamper(engine, "DELETE FROM audit_events")
    append(engine, 5)  # a fresh log, longer than the old one
    refused = sign(cli)
    assert refused.exit_code == 1 and "rewritten or removed" in refused.output
    assert len(checkpoints(engine)) == 1


def test_a_normal_append_is_signed_with_a_proof_from_the_stored_checkpoint(
        engine: Engine, cli: CliRunner) -> None:
    append(engine, 5)
    assert sign(cli).exit_code == 0
    append(engine, 3)
    signed = sign(cli)
    assert signed.exit_code == 0, signed.output
    assert "consistent with stored checkpoint 1 (size 5)" in signed.stderr
    assert [size for size, _ in checkpoints(engine)] == [5, 8]
    assert alerts(engine) == []
    with session_scope(engine) as session:  # the proof is checkable by anyone with the leaves
        extension = prove_extension(StoredHead(1, 5, bytes.fromhex(checkpoints(engine)[0][1])),
                                    hashes := leaf_hashes(session), root_hash(hashes))
    assert extension is not None and extension.proof
    verify_consistency(5, 8, bytes.fromhex(checkpoints(engine)[0][1]),
                       bytes.fromhex(checkpoints(engine)[1][1]), extension.proof)


def test_a_run_over_a_rewritten_log_keeps_its_changes_and_records_the_alert(
        engine: Engine, tmp_path: Path) -> None:
    private, _ = generate_key_files(tmp_path)
    append(engine, 4)
    with session_scope(engine) as session:
        assert checkpoint_after_run(session, private, ORIGIN, run_id=1) is not None
    rewrite_in_place(engine, 1)
    with session_scope(engine) as session:
        record_events(session, [Event("source:workday", "user.disable", {"type": "user", "id": "u1"}, run=2)])
        assert checkpoint_after_run(session, private, ORIGIN, run_id=2) is None
    [alert] = alerts(engine)
    assert (alert.seq, alert.run_id) == (6, 2)  # after the run's own event, which stands
    assert [size for size, _ in checkpoints(engine)] == [4]


def test_export_over_a_rewritten_log_is_refused_on_the_cli_and_the_api(
        engine: Engine, cli: CliRunner, database_url: str, tmp_path: Path) -> None:
    append(engine, 4)
    assert sign(cli).exit_code == 0
    rewrite_in_place(engine, 2)
    refused = cli.invoke(main, ["audit", "export", "--out", "bundle"])
    assert refused.exit_code == 1 and "export REFUSED" in refused.output
    assert not (tmp_path / "bundle").exists()
    settings = load_settings(database_url=database_url, migrate_on_start=False, audit_origin=ORIGIN,
                             audit_signing_key=next((tmp_path / "keys").glob("*key.pem")))
    app: Flask = create_app(settings, engine)
    with session_scope(engine) as session:
        admin = {"Authorization": f"Bearer {create_token(session, 'auditor', 'admin')}"}
    response = app.test_client().get("/api/audit/export", headers=admin)
    assert response.status_code == 503 and "stored checkpoints" in response.get_json()["error"]
    assert len(alerts(engine)) == 2


def test_prove_extension_edge_cases() -> None:
    hashes = [leaf_hash(bytes([n])) for n in range(3)]
    assert prove_extension(None, hashes, root_hash(hashes)) is None
    assert prove_extension(StoredHead(1, 0, EMPTY_ROOT), hashes, root_hash(hashes)) is not None
    with pytest.raises(LogRewritten, match="not the empty tree"):
        prove_extension(StoredHead(1, 0, root_hash(hashes)), hashes, root_hash(hashes))
    with pytest.raises(LogRewritten, match="fewer events"):
        prove_extension(StoredHead(1, 4, root_hash(hashes)), hashes, root_hash(hashes))
    same = prove_extension(StoredHead(1, 3, root_hash(hashes)), hashes, root_hash(hashes))
    assert same is not None and same.proof == []


def test_verify_takes_the_trusted_checkpoint_from_its_default_file_and_warns_without_one(
        engine: Engine, cli: CliRunner, tmp_path: Path) -> None:
    public = str(tmp_path / "keys" / "audit-signing-key.pub.pem")
    append(engine, 5)
    assert cli.invoke(main, ["audit", "export", "--out", "b1"]).exit_code == 0
    first = cli.invoke(main, ["audit", "verify", "b1", "--public-key", public])
    assert first.exit_code == 0 and "trusted checkpoint: NONE" in first.stdout
    assert "WARNING: no trusted checkpoint (audit-trusted-checkpoint.txt not found)" in first.stderr
    strict = cli.invoke(main, ["audit", "verify", "b1", "--public-key", public, "--require-trusted"])
    assert strict.exit_code == 3
    unchecked = cli.invoke(main, ["audit", "verify", "b1", "--save-trusted"])
    assert unchecked.exit_code == 2 and "needs --public-key" in unchecked.output
    saved = cli.invoke(main, ["audit", "verify", "b1", "--public-key", public, "--save-trusted"])
    assert saved.exit_code == 0 and "trusted checkpoint saved: audit-trusted-checkpoint.txt (size 5)" in saved.stdout
    append(engine, 3)
    assert cli.invoke(main, ["audit", "export", "--out", "b2", "--from-checkpoint",
                             "audit-trusted-checkpoint.txt"]).exit_code == 0
    second = cli.invoke(main, ["audit", "verify", "b2", "--public-key", public, "--require-trusted"])
    assert second.exit_code == 0, second.output
    assert "consistent with the trusted checkpoint at size 5" in second.stdout and second.stderr == ""
    unproven = cli.invoke(main, ["audit", "verify", "b1", "--public-key", public])  # same size: fine
    assert unproven.exit_code == 0 and "at size 5" in unproven.stdout


def test_verify_catches_a_log_emptied_together_with_its_checkpoints(
        engine: Engine, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server can no longer compare (its checkpoints are gone too), but the auditor's
    kept checkpoint, named by HR2BI_AUDIT_TRUSTED_CHECKPOINT, still does."""
    public = str(tmp_path / "keys" / "audit-signing-key.pub.pem")
    monkeypatch.setenv("HR2BI_AUDIT_TRUSTED_CHECKPOINT", str(tmp_path / "kept.txt"))
    append(engine, 4)
    assert cli.invoke(main, ["audit", "export", "--out", "b1"]).exit_code == 0
    assert cli.invoke(main, ["audit", "verify", "b1", "--public-key", public, "--save-trusted"]).exit_code == 0
    tamper(engine, "DELETE FROM audit_checkpoints")
    tamper(engine, "DELETE FROM audit_events")
    append(engine, 6)
    assert cli.invoke(main, ["audit", "export", "--out", "b2", "--from-checkpoint", "kept.txt"]).exit_code == 0
    caught = cli.invoke(main, ["audit", "verify", "b2", "--public-key", public])
    assert caught.exit_code == 1 and "history-rewritten" in caught.output
