"""HR sources live in hr2bi.toml (``[sources]``): defaults as plain keys, a table per source,
errors that name the source and the key; ``./sources.toml`` is read only as a deprecated
fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sync.config import ConfigError, load_settings
from sync.sources.config import load_sources
from sync.sources.errors import SourceConfigError

HR2BI_TOML = """
audit_origin = "northwind hr2bi"

[sources]
prehire_lead_days = 7
max_shrink = 0.25

[sources.northwind]
type = "csv"
path = "examples/hr"
glob = "northwind_*.csv"
absences_before_leaver = 3

[sources.bamboo]
type = "api"
preset = "bamboohr-directory"
url = "https://api.bamboohr.example/v1/employees/directory"
auth = { type = "basic", username = "key" }
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write hr2bi.toml and point HR2BI_CONFIG at it; returns the loaded sources."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HR2BI_SOURCES", raising=False)

    def write(text: str):
        path = tmp_path / "hr2bi.toml"
        path.write_text(text)
        monkeypatch.setenv("HR2BI_CONFIG", str(path))
        return load_sources()

    return write


def test_sources_and_their_defaults_come_from_hr2bi_toml(config):
    defaults, sources = config(HR2BI_TOML)
    assert sorted(sources) == ["bamboo", "northwind"]
    northwind = sources["northwind"]
    assert northwind.type == "csv" and northwind.path == Path("examples/hr")
    assert northwind.csv.glob == "northwind_*.csv"
    assert (northwind.options.source, northwind.options.prehire_lead_days, northwind.options.max_shrink,
            northwind.options.absences_before_leaver) == ("northwind", 7, 0.25, 3)
    assert defaults.prehire_lead_days == 7 and defaults.absences_before_leaver == 2
    assert sources["bamboo"].api.url.endswith("/directory")
    # The run's audit checkpoint is signed under the deployment's own log name.
    assert northwind.options.audit_origin == "northwind hr2bi"


@pytest.mark.parametrize(("text", "message"), [
    ('[sources.bamboo]\ntype = "api"\nurll = "https://x.example"\n',
     r"hr2bi.toml \[sources.bamboo\]: unknown key\(s\) urll"),
    ('[sources.drop]\ntype = "csv"\n', r"\[sources.drop\]: 'path' is required"),
    ('[sources.drop]\ntype = "sftp"\npath = "/x"\n', r"\[sources.drop\]: type 'sftp': use one of csv, api"),
    ('[sources.drop]\ntype = "csv"\npath = "/x"\nmax_shrink = 2\n', r"\[sources.drop\]: max_shrink = 2"),
    ('[sources]\nprehire_lead = 7\n', r"hr2bi.toml \[sources\]: unknown key\(s\) prehire_lead"),
])
def test_a_bad_source_table_names_the_source_and_the_key(config, text, message):
    with pytest.raises(SourceConfigError, match=message):
        config(text)


def test_hr2bi_sources_env_holds_the_same_tables_as_json(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HR2BI_CONFIG", raising=False)
    monkeypatch.setenv("HR2BI_SOURCES", '{"drop": {"type": "csv", "path": "/srv/hr"}}')
    assert load_sources()[1]["drop"].path == Path("/srv/hr")
    monkeypatch.setenv("HR2BI_SOURCES", "sources.toml")
    with pytest.raises(ConfigError, match="HR2BI_SOURCES must be a JSON object"):
        load_settings()


def test_a_legacy_sources_toml_is_still_read_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HR2BI_CONFIG", raising=False)
    monkeypatch.delenv("HR2BI_SOURCES", raising=False)
    (tmp_path / "sources.toml").write_text('[defaults]\nprehire_lead_days = 5\n'
                                           '[sources.drop]\ntype = "csv"\npath = "/srv/hr"\n')
    with caplog.at_level(logging.WARNING, logger="sync.sources.config"):
        defaults, sources = load_sources()
    assert defaults.prehire_lead_days == 5 and sources["drop"].options.prehire_lead_days == 5
    assert "sources.toml is deprecated" in caplog.text
    # Once hr2bi.toml has sources, the old file is ignored.
    (tmp_path / "hr2bi.toml").write_text('[sources.other]\ntype = "csv"\npath = "/x"\n')
    assert list(load_sources()[1]) == ["other"]


def test_no_sources_anywhere_means_none(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HR2BI_CONFIG", raising=False)
    monkeypatch.delenv("HR2BI_SOURCES", raising=False)
    defaults, sources = load_sources()
    assert sources == {} and defaults.mode == "full"
