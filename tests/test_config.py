"""Settings: defaults, environment, hr2bi.toml, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import ConfigError, env_value, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "HR2BI_CONFIG", "HR2BI_DATABASE_URL", "HR2BI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_embedded_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///hr2bi.db"
    assert settings.scim_bulk_max_operations == 250


def test_file_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "hr2bi.toml").write_text('base_url = "https://file.example"\nscim_max_results = 50\n')
    assert load_settings().base_url == "https://file.example"
    monkeypatch.setenv("HR2BI_BASE_URL", "https://env.example")
    settings = load_settings()
    assert settings.base_url == "https://env.example" and settings.scim_max_results == 50


def test_database_url_picks_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/hr2bi")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/hr2bi"


@pytest.mark.parametrize("content,needle", [
    ("scim_max_results = 0\n", "scim_max_results"),
    ("no_such_setting = 1\n", "no_such_setting"),
    ("this is not toml\n", "cannot read configuration"),
])
def test_bad_files_name_the_problem(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "hr2bi.toml").write_text(content)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_missing_explicit_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HR2BI_CONFIG", "/nowhere/hr2bi.toml")
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_dotenv_is_read_below_the_environment_and_above_the_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The same .env honcho reads for the Procfile: the CLI reads it too. PORT is the
    # Procfile's, not a setting, and is left alone.
    (tmp_path / "hr2bi.toml").write_text('base_url = "https://file.example"\nlog_level = "WARNING"\n')
    (tmp_path / ".env").write_text("# production\nHR2BI_BASE_URL=https://dotenv.example\n"
                                   "DATABASE_URL=postgres://u@db/hr2bi\nPORT=8000\nWEB_CONCURRENCY=2\n")
    settings = load_settings()
    assert settings.base_url == "https://dotenv.example"
    assert settings.database_url == "postgresql+psycopg://u@db/hr2bi"
    assert settings.log_level == "WARNING"  # from the file: .env does not set it
    monkeypatch.setenv("HR2BI_BASE_URL", "https://env.example")
    assert load_settings().base_url == "https://env.example"


def test_dotenv_elsewhere_and_the_secrets_settings_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A secret a setting names by variable (an HR API's password_env, the HEC token) may sit
    # in .env beside the settings, as honcho would export it to the Procfile's processes.
    other = tmp_path / "prod.env"
    other.write_text("HR2BI_BASE_URL=https://other.example\nHR2BI_HEC_TOKEN=from-the-file\nBAMBOO_KEY=k1\n")
    monkeypatch.setenv("HR2BI_ENV_FILE", str(other))
    assert load_settings().base_url == "https://other.example"
    assert env_value("HR2BI_HEC_TOKEN") == "from-the-file" and env_value("BAMBOO_KEY") == "k1"
    monkeypatch.setenv("BAMBOO_KEY", "k2")
    assert env_value("BAMBOO_KEY") == "k2"  # the environment wins, as for settings
    assert env_value("NOT_THERE") is None


@pytest.mark.parametrize("url,needle", [
    ("mysql://u:secret@db/hr2bi", "'mysql' databases are not supported"),
    ("mysql+pymysql://u@db/hr2bi", "'mysql' databases are not supported"),
    ("oracle://u@db", "'oracle' databases are not supported"),
    ("hr2bi.db", "not a database URL"),
])
def test_an_unsupported_database_url_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, url: str,
                                                       needle: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert needle in message and "PostgreSQL" in message and "\n" not in message
    assert "secret" not in message


def test_an_unsupported_database_url_through_the_cli(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("HR2BI_")}
    env["DATABASE_URL"] = "mysql://u:secret@db/hr2bi"
    done = subprocess.run([str(Path(sys.executable).parent / "hr2bi"), "tokens", "list"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "'mysql' databases are not supported" in done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
