"""Issue 14, acceptance 3: ``hr2bi doctor`` against a sandbox seeded with five
misconfigurations (a missing attribute definition, a type mismatch, an unknown model, an
unknown connection, a bad key) reports exactly those five, each with its fix, and exits 1;
against the shipped seed it finds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bi_world import KEY, MAPPINGS, sandbox_server
from click.testing import CliRunner

from sync.cli import main
from sync.sandbox import load_seed


def _misconfigured(path: Path) -> Path:
    seed = load_seed()
    seed["user_attributes"] = [a for a in seed["user_attributes"] if a["name"] != "country"]
    for attribute in seed["user_attributes"]:
        if attribute["name"] == "region":
            attribute["type"] = "Number"
    seed["models"] = [m for m in seed["models"] if m["name"] != "marketing"]
    for connection in seed["connections"]:
        if connection["name"] == "hr":
            connection["name"] = "people_db"
    for model in seed["models"]:
        if model["connection"] == "hr":
            model["connection"] = "people_db"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return path


def _doctor(monkeypatch: pytest.MonkeyPatch, url: str, keys: str) -> tuple[int, str]:
    for name, value in {"HR2BI_BI_BASE_URL": url, "HR2BI_BI_API_KEYS": keys,
                        "HR2BI_MAPPINGS_DIR": str(MAPPINGS), "HR2BI_BI_RATE_PER_KEY": "60000"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["doctor"])
    return result.exit_code, result.output


def test_doctor_reports_exactly_the_five_misconfigurations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed = _misconfigured(tmp_path / "seed.json")
    with sandbox_server(tmp_path, "--rate-limit", "0", "--seed", str(seed)) as sandbox:
        code, output = _doctor(monkeypatch, sandbox.url, f"{KEY},not-a-valid-key-9999")
        calls = sandbox.calls()

    problems = [line for line in output.splitlines() if line.startswith("problem: ")]
    assert code == 1, output
    assert len(problems) == 5, output
    expected = ["API key #2 (...9999) is refused", "user attribute 'country'",
                "user attribute 'region'", "model 'marketing' on connection 'warehouse'",
                "connection 'hr'"]
    for fragment in expected:
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert all(" -> fix: " in p for p in problems)
    assert "is a Number" in next(p for p in problems if "'region'" in p)
    assert "roles.csv:" in next(p for p in problems if "connection 'hr'" in p)
    assert "not-a-valid-key" not in output  # a key is never printed
    assert all(c.startswith("GET ") for c in calls)  # read-only
    assert "5 problem(s)" in output and "calls a minute" in output


def test_doctor_finds_nothing_wrong_with_the_shipped_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox_server(tmp_path, "--rate-limit", "0") as sandbox:
        code, output = _doctor(monkeypatch, sandbox.url, KEY)
    assert code == 0, output
    assert "no problems found" in output and "problem: " not in output
