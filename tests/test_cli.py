"""The hr2bi command line: real commands on a real database, clear errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.cli import main
from sync.tokens import authenticate


@pytest.fixture
def runner(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("HR2BI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_tokens_create_list_revoke(runner: CliRunner, engine: Engine) -> None:
    created = runner.invoke(main, ["tokens", "create", "okta-prod", "--scope", "scim"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[0]
    with Session(engine) as session:
        assert authenticate(session, secret, "scim").name == "okta-prod"
    listed = runner.invoke(main, ["tokens", "list", "--json"])
    (entry,) = json.loads(listed.stdout)
    assert entry["name"] == "okta-prod" and entry["scope"] == "scim" and entry["revoked_at"] is None
    assert secret not in listed.stdout
    assert runner.invoke(main, ["tokens", "revoke", "okta-prod"]).exit_code == 0
    with Session(engine) as session:
        assert authenticate(session, secret, "scim") is None
    table = runner.invoke(main, ["tokens", "list"]).stdout
    assert "okta-prod" in table and "revoked" in table


def test_user_errors_exit_1_with_one_clear_line(runner: CliRunner) -> None:
    duplicate = runner.invoke(main, ["tokens", "create", "a"])
    again = runner.invoke(main, ["tokens", "create", "a"])
    assert duplicate.exit_code == 0 and again.exit_code == 1
    assert "already exists" in again.output and "Traceback" not in again.output
    unknown = runner.invoke(main, ["tokens", "revoke", "ghost"])
    assert unknown.exit_code == 1 and "no token named 'ghost'" in unknown.output
    bad_scope = runner.invoke(main, ["tokens", "create", "b", "--scope", "root"])
    assert bad_scope.exit_code == 2 and "root" in bad_scope.output


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    done = subprocess.run([sys.executable, "-m", "sync.cli", "tokens", "list"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert "cannot connect to the database" in done.stderr and "Traceback" not in done.stderr
    assert "127.0.0.1:1" in done.stderr


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "hr2bi.toml").write_text('scim_max_results = "lots"\n')
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "sync.cli", "tokens", "list"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and "scim_max_results" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_command_has_help(runner: CliRunner) -> None:
    for args in (["--help"], ["serve", "--help"], ["tokens", "--help"], ["tokens", "create", "--help"],
                 ["demo", "--help"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize(("args", "line"), [
    (["runs", "show", "999"], "Error: there is no run 999: `hr2bi runs list` shows the runs"),  # RunError
    (["import", "api", "nosuch"], "Error: no api source named 'nosuch' is configured"),  # FeedError
    (["provision", "nobody", "--dry-run"],  # PersonNotFound
     "Error: nobody has the employee id, email, userName or SCIM id 'nobody'"),
    (["mappings", "explain", "nobody"], "Error: nobody has the employee id, email, userName or SCIM id"),
])
def test_each_user_error_family_is_one_line_and_exit_1(runner: CliRunner, repo_root: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        args: list[str], line: str) -> None:
    monkeypatch.setenv("HR2BI_MAPPINGS_DIR", str(repo_root / "mappings"))
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_tables_that_do_not_load_list_every_problem_then_say_what_to_do(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    monkeypatch.setenv("HR2BI_MAPPINGS_DIR", str(broken))
    result = runner.invoke(main, ["plan"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert "groups.csv: is missing: create it (mappings/README.md describes each file)" in lines
    assert lines[-1] == "Error: the mapping tables do not load: fix them first (`hr2bi mappings check`)"


def test_tables_pad_each_column_and_leave_the_last_unpadded(runner: CliRunner) -> None:
    assert runner.invoke(main, ["tokens", "create", "okta-prod"]).exit_code == 0
    header, row = runner.invoke(main, ["tokens", "list"]).stdout.splitlines()
    assert header == ("NAME                     SCOPE  PREFIX    CREATED              LAST USED            "
                      "STATUS")
    assert row.startswith("okta-prod                scim   ") and row.endswith(" -                    active")
