"""Settings: defaults, environment, hr2bi.toml, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import ConfigError, load_settings


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
