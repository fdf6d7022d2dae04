"""``hr2bi audit keygen`` and ``hr2bi audit verify`` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from audit_samples import checkpoint_of, export, log
from click.testing import CliRunner

from sync.audit.checkpoint import load_private_key
from sync.cli import main


def keygen(runner: CliRunner, out: Path) -> tuple[Path, Path]:
    result = runner.invoke(main, ["audit", "keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "audit-signing-key.pem", out / "audit-signing-key.pub.pem"


def test_keygen_then_verify_an_untouched_bundle(tmp_path: Path) -> None:
    runner = CliRunner()
    private, public = keygen(runner, tmp_path / "keys")
    events = log(9)
    trusted = checkpoint_of(events[:4], load_private_key(private))
    (tmp_path / "trusted.txt").write_text(trusted.note())
    export(tmp_path / "b", events, 3, 9, load_private_key(private), from_checkpoint=trusted)
    result = runner.invoke(main, ["audit", "verify", str(tmp_path / "b"), "--public-key",
                                  str(public), "--trusted-checkpoint", str(tmp_path / "trusted.txt")])
    assert result.exit_code == 0, result.output
    assert "OK: events 3..9" in result.output and "signature verified" in result.output
    assert "trusted checkpoint at size 4" in result.output


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    keygen(runner, tmp_path)
    result = runner.invoke(main, ["audit", "keygen", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output


def test_verify_without_a_key_says_so(tmp_path: Path) -> None:
    runner = CliRunner()
    private, _ = keygen(runner, tmp_path / "keys")
    export(tmp_path / "b", log(3), 1, 3, load_private_key(private))
    result = runner.invoke(main, ["audit", "verify", str(tmp_path / "b")])
    assert result.exit_code == 0 and "signature NOT checked" in result.output


def test_verify_fails_with_the_reason(tmp_path: Path) -> None:
    runner = CliRunner()
    _, public = keygen(runner, tmp_path / "keys")
    other, _ = keygen(runner, tmp_path / "other")
    export(tmp_path / "b", log(8), 1, 8, load_private_key(other))
    result = runner.invoke(main, ["audit", "verify", str(tmp_path / "b"), "--public-key", str(public)])
    assert result.exit_code == 1
    assert "verification FAILED: bad-signature" in result.output
    assert "Traceback" not in result.output
