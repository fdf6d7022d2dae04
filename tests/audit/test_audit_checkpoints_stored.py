"""Checkpoints kept in the database: after every run, on demand, and listed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.audit.checkpoint import generate_key_files, load_public_key, parse_checkpoint, verify_checkpoint
from sync.audit.log import Event, record_events
from sync.audit.merkle import root_hash
from sync.audit.store import checkpoint_after_run, leaf_hashes
from sync.cli import main
from sync.db import session_scope
from sync.models import AuditCheckpoint

ORIGIN = "hr2bi.test/audit"


def append(engine: Engine, count: int) -> None:
    with session_scope(engine) as session:
        record_events(session, [Event("sync", "user.create", {"type": "user", "id": f"u{n}"})
                                for n in range(count)])


def stored(engine: Engine) -> list[AuditCheckpoint]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))


def test_a_run_leaves_a_stored_checkpoint_whose_note_verifies(engine: Engine, tmp_path: Path) -> None:
    private, public = generate_key_files(tmp_path)
    append(engine, 7)
    with session_scope(engine) as session:
        record_events(session, [Event("sync", "user.disable", {"type": "user", "id": "u1"})])
        signed = checkpoint_after_run(session, private, ORIGIN, run_id=42)  # same transaction
        hashes = leaf_hashes(session)
    assert signed is not None and signed.checkpoint.size == 8  # counts the event this transaction added
    [row] = stored(engine)
    assert (row.size, row.run_id, row.root) == (8, 42, root_hash(hashes).hex())
    parsed = parse_checkpoint(row.note)
    verify_checkpoint(parsed, load_public_key(public))
    assert parsed.checkpoint.root == root_hash(hashes) and parsed.checkpoint.origin == ORIGIN


def test_without_a_key_a_run_takes_no_checkpoint(engine: Engine) -> None:
    append(engine, 3)
    with session_scope(engine) as session:
        assert checkpoint_after_run(session, None, ORIGIN, run_id=1) is None
    assert stored(engine) == []


def test_a_run_that_rolls_back_keeps_no_checkpoint(engine: Engine, tmp_path: Path) -> None:
    private, _ = generate_key_files(tmp_path)
    append(engine, 2)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        checkpoint_after_run(session, private, ORIGIN, run_id=3)
        raise RuntimeError("the run failed after its checkpoint")
    assert stored(engine) == []


def test_checkpoint_command_stores_and_checkpoints_lists(database_url: str, engine: Engine,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    private, public = generate_key_files(tmp_path / "keys")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HR2BI_AUDIT_SIGNING_KEY", str(private))
    monkeypatch.setenv("HR2BI_AUDIT_ORIGIN", ORIGIN)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    empty = runner.invoke(main, ["audit", "checkpoints"])
    assert empty.exit_code == 0 and "No checkpoints stored yet" in empty.output
    append(engine, 4)
    assert runner.invoke(main, ["audit", "checkpoint"]).exit_code == 0
    append(engine, 2)
    result = runner.invoke(main, ["audit", "checkpoint", "--out", "cp.txt"])
    assert result.exit_code == 0, result.output
    assert [(r.size, r.run_id) for r in stored(engine)] == [(4, None), (6, None)]
    listed = runner.invoke(main, ["audit", "checkpoints", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["size"] for r in rows] == [6, 4]  # newest first
    assert rows[0]["note"] == (tmp_path / "cp.txt").read_text()
    assert base64.b64decode(rows[0]["root_base64"]) == parse_checkpoint(rows[0]["note"]).checkpoint.root
    verify_checkpoint(parse_checkpoint(rows[1]["note"]), load_public_key(public))
    text = runner.invoke(main, ["audit", "checkpoints", "--limit", "1"])
    assert text.exit_code == 0 and "size          6" in text.output and "on demand" in text.output
    assert len(text.output.strip().splitlines()) == 1


def test_an_event_with_integral_floats_exports_and_verifies(engine: Engine, tmp_path: Path) -> None:
    """RFC 8785 writes the float 60.0 as 60: the views must be built from the events as the
    bundle carries them, or an honest export fails verification (a config.change event
    with `bi_timeout = 30.0` did, in the demo)."""
    from sync.audit.store import export
    from sync.audit.verify import verify_bundle

    private, public = generate_key_files(tmp_path / "keys")
    with session_scope(engine) as session:
        record_events(session, [Event("system:hr2bi", "config.change", {"type": "config", "id": "settings"},
                                      after={"timeout": 30.0, "share": 0.2, "nested": [1.0, {"x": -0.0}]})])
    with session_scope(engine) as session:
        export(session, tmp_path / "bundle", private, "test log")
    report = verify_bundle(tmp_path / "bundle", load_public_key(public))
    assert report.signature_checked and report.last_seq == 1
