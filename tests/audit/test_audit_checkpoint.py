"""Signed checkpoints: the note format, signatures, key files and their permissions."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.checkpoint import (
    Checkpoint,
    generate_key_files,
    load_private_key,
    load_public_key,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from sync.audit.errors import CheckpointError, SigningKeyError

WHEN = datetime(2026, 11, 23, 4, 20, tzinfo=UTC)
ROOT = bytes(range(32))


def test_note_is_readable_and_round_trips() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_checkpoint(Checkpoint("hr2bi.example.com/audit", 42, ROOT, WHEN), key)
    note = signed.note()
    body, _, signature = note.partition("\n\n")
    assert body.split("\n") == ["hr2bi.example.com/audit", "42", base64.b64encode(ROOT).decode(),
                                "timestamp 2026-11-23T04:20:00Z"]
    assert signature.startswith("\u2014 hr2bi.example.com/audit ") and signature.endswith("\n")
    parsed = parse_checkpoint(note)
    assert parsed == signed
    verify_checkpoint(parsed, key.public_key())


def test_another_key_or_an_edited_note_fails() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint("log", 3, ROOT, WHEN), key).note()
    with pytest.raises(CheckpointError, match="different key"):
        verify_checkpoint(parse_checkpoint(note), other.public_key())
    with pytest.raises(CheckpointError, match="altered"):
        verify_checkpoint(parse_checkpoint(note.replace("\n3\n", "\n4\n")), key.public_key())


@pytest.mark.parametrize("note", [
    "", "log\n3\n", "log\nthree\nAAAA\ntimestamp 2026-11-23T04:20:00Z\n\n\u2014 log AAAA\n",
    "log\n3\n" + base64.b64encode(ROOT).decode() + "\ntimestamp 2026-11-23T04:20:00Z\n\n- log AAAA\n",
    "log\n3\n" + base64.b64encode(ROOT).decode() + "\ntimestamp 2026-11-23T04:20:00Z\n\n\u2014 log !!\n",
])
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(note)


def test_checkpoint_fields_are_checked() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint("two\nlines", 1, ROOT, WHEN)
    with pytest.raises(CheckpointError):
        Checkpoint("log", 1, b"short", WHEN)
    with pytest.raises(CheckpointError):
        Checkpoint("log", 1, ROOT, datetime(2026, 1, 1))


def test_key_files_are_private_and_load_back(tmp_path: Path) -> None:
    private_path, public_path = generate_key_files(tmp_path / "keys")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private_path.read_bytes()
    key, public = load_private_key(private_path), load_public_key(public_path)
    signed = sign_checkpoint(Checkpoint("log", 1, ROOT, WHEN), key)
    verify_checkpoint(signed, public)
    with pytest.raises(SigningKeyError, match="already exists"):
        generate_key_files(tmp_path / "keys")


def test_bad_key_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SigningKeyError):
        load_private_key(tmp_path / "junk.pem")
    with pytest.raises(SigningKeyError):
        load_public_key(tmp_path / "missing.pem")
