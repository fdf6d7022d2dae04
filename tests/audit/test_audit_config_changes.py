"""``record_settings_changes``: configuration and mapping-table changes are audited, once,
naming what changed and never carrying a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.audit.config_state import changed_names, settings_state
from sync.audit.record import record_settings_changes
from sync.config import load_settings
from sync.db import session_scope
from sync.models import AuditEvent

PASSWORD = "pw-Zq81-never-logged"
API_KEY = "omni-key-Yk27-never-logged"


class SourceSettings(BaseModel):
    """Settings shaped like a deployment with secrets in every place they hide."""

    database_url: str = f"postgresql+psycopg://hr2bi:{PASSWORD}@db.internal:5432/hr2bi"
    bi_api_keys: SecretStr = SecretStr(API_KEY)
    audit_signing_key: Path | None = Path("/etc/hr2bi/audit/key.pem")
    scim_max_results: int = 1000
    sources: dict[str, Any] = {"workday": {"url": "https://wd.example/api", "api_token": API_KEY,
                                           "headers": [{"Authorization": f"Bearer {API_KEY}"}]}}


def record(engine: Engine, settings: BaseModel, version: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return record_settings_changes(session, settings, version)


def logged_text(engine: Engine) -> str:
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        return " ".join(f"{r.target} {r.before} {r.after} {r.reason}" for r in rows)


def test_the_first_call_records_the_baseline_and_a_repeat_nothing(engine: Engine, database_url: str) -> None:
    settings = load_settings(database_url=database_url, migrate_on_start=False)
    first = record(engine, settings, "sha256:aaa")
    assert [e["action"] for e in first] == ["config.change", "tables.change"]
    assert first[0]["before"]["fingerprint"] is None
    assert first[0]["after"]["settings"]["scim_max_results"] == settings.scim_max_results
    assert first[1]["before"] == {"tables_version": None}
    assert first[1]["after"] == {"tables_version": "sha256:aaa"}
    assert record(engine, settings, "sha256:aaa") == []
    assert record(engine, load_settings(database_url=database_url, migrate_on_start=False), "sha256:aaa") == []


def test_a_new_tables_version_is_one_tables_event(engine: Engine, database_url: str) -> None:
    settings = load_settings(database_url=database_url, migrate_on_start=False)
    record(engine, settings, "sha256:aaa")
    events = record(engine, settings, "sha256:bbb")
    assert [e["action"] for e in events] == ["tables.change"]
    assert events[0]["before"] == {"tables_version": "sha256:aaa"}
    assert events[0]["after"] == {"tables_version": "sha256:bbb"}
    assert events[0]["seq"] == 3 and events[0]["actor"] == "system:config"


def test_a_changed_setting_is_named_with_its_old_and_new_value(engine: Engine, database_url: str) -> None:
    record(engine, load_settings(database_url=database_url, migrate_on_start=False), "v1")
    changed = load_settings(database_url=database_url, migrate_on_start=False, scim_max_results=250,
                            base_url="https://hr2bi.example.com")
    events = record(engine, changed, "v1")
    assert [e["action"] for e in events] == ["config.change"]
    assert events[0]["reason"]["changed"] == ["base_url", "scim_max_results"]
    assert events[0]["before"]["settings"] == {"base_url": None, "scim_max_results": 1000}
    assert events[0]["after"]["settings"]["scim_max_results"] == 250
    assert events[0]["before"]["fingerprint"] != events[0]["after"]["fingerprint"]


def test_secrets_are_named_but_never_recorded(engine: Engine) -> None:
    events = record(engine, SourceSettings(), "v1")
    text = logged_text(engine)
    assert PASSWORD not in text and API_KEY not in text
    config = events[0]
    assert config["after"]["settings"]["database_url"] == \
        "postgresql+psycopg://hr2bi:***@db.internal:5432/hr2bi"
    assert config["after"]["settings"]["sources.workday.url"] == "https://wd.example/api"
    assert config["after"]["settings"]["sources.workday.headers"] == [{"Authorization": "***"}]
    assert config["reason"]["secrets_not_recorded"] == ["audit_signing_key", "bi_api_keys",
                                                        "sources.workday.api_token"]


def test_a_changed_secret_alone_records_nothing_and_a_password_change_is_not_seen(engine: Engine) -> None:
    record(engine, SourceSettings(), "v1")
    rotated = SourceSettings(bi_api_keys=SecretStr("another-key"),
                             database_url="postgresql+psycopg://hr2bi:other@db.internal:5432/hr2bi")
    assert record(engine, rotated, "v1") == []
    moved = SourceSettings(database_url=f"postgresql+psycopg://hr2bi:{PASSWORD}@db2.internal:5432/hr2bi")
    events = record(engine, moved, "v1")
    assert events[0]["reason"]["changed"] == ["database_url"]
    assert PASSWORD not in logged_text(engine)


def test_settings_state_is_pure_and_stable() -> None:
    first, again = settings_state(SourceSettings()), settings_state(SourceSettings())
    assert first == again and first.fingerprint.startswith("sha256:")
    other = settings_state(SourceSettings(scim_max_results=5))
    assert other.fingerprint != first.fingerprint
    assert changed_names(first.values, other.values) == ["scim_max_results"]
    assert changed_names({"a": 1}, {"b": 1}) == ["a", "b"]


def test_an_unparseable_url_is_masked_whole(engine: Engine) -> None:
    state = settings_state(SourceSettings(database_url="postgresql://user:pw@[bad-host/db"))
    assert state.values["database_url"] == "***"
