"""``hr2bi demo`` end to end, non-interactively: the sandbox BI ends up holding the sample
company plus the day's changes, and the exported audit log verifies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sync.audit.checkpoint import PUBLIC_KEY_FILE, load_public_key
from sync.audit.verify import verify_bundle
from sync.cli import main
from sync.db import make_engine, session_scope
from sync.tokens import authenticate

pytestmark = pytest.mark.slow


def bi_users(state: Path) -> dict[str, dict[str, Any]]:
    users = json.loads(state.read_text(encoding="utf-8"))["users"].values()
    return {u["userName"]: u for u in users}


def test_the_demo_tells_the_whole_story(tmp_path: Path, repo_root: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)  # the demo reads examples/hr and mappings/ from the checkout
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = tmp_path / "demo-data"
    root.mkdir()
    (root / "hr2bi.db").write_text("an earlier run's database")  # re-runnable: wiped first
    result = CliRunner().invoke(main, ["demo", "--dir", str(root)])
    assert result.exit_code == 0, result.output
    for step in ("1. Import", "2. Plan", "3. Apply", "a joiner", "a mover", "a leaver", "a rehire",
                 "pushes a contractor", "5. Export the audit log", "Where to look next"):
        assert step in result.output
    users = bi_users(root / "bi-sandbox.json")
    assert len(users) == 266 + 2  # the company, the joiner, the contractor the IdP pushed
    assert users["nora.joiner@northwind.example"]["active"]
    assert users["casey.contractor@northwind.example"]["active"]
    # the leaver was deactivated, then reactivated by the rehire: one account, active
    leaver = next(line.split()[-1] for line in result.output.splitlines() if "user.deactivate" in line)
    assert users[leaver]["active"]
    report = verify_bundle(root / "audit-export", load_public_key(root / "keys" / PUBLIC_KEY_FILE))
    assert report.signature_checked and report.first_seq == 1
    assert f"events 1..{report.last_seq}" in result.output
    # It ends with the console: where it is, and an admin token of the demo's database.
    assert "http://127.0.0.1:8000/console/" in result.output.split("The admin console")[-1]
    token = re.search(r"sign in with the demo's admin token: (\S+)", result.output)[1]
    engine = make_engine(f"sqlite:///{root / 'hr2bi.db'}")
    with session_scope(engine) as session:
        assert authenticate(session, token, "admin") is not None
    engine.dispose()


def test_the_demo_outside_a_checkout_says_where_to_run_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "examples/hr/northwind_workers.csv not found" in result.output
    assert "Traceback" not in result.output
