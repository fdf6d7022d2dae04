"""Configured HR sources: the ``[sources]`` of ``hr2bi.toml`` (the ``sources`` setting).

    [sources]                       # plain keys: defaults for every source
    prehire_lead_days = 7
    [sources.workday-drop]          # a folder where an HR system drops CSV exports
    type = "csv"
    path = "/srv/hr/drop"
    [sources.bamboo]                # an HR REST API
    type = "api"
    preset = "bamboohr-custom-report"
    url = "https://api.bamboohr.com/api/gateway.php/acme/v1/reports/custom"
    auth = { username_env = "BAMBOO_API_KEY" }

Secrets are read from the environment (``token_env``, ``password_env``...), never written
in the file. The README's "HR sources" section documents every key.

Deprecated: without a ``[sources]`` setting, ``./sources.toml`` is still read, in its old
layout (``[defaults]`` and ``[sources.NAME]``), with a warning saying to move it.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from sync.config import DEFAULT_CONFIG_FILE, Settings, env_value, load_settings
from sync.sources.api import PAGING, ApiSource, Paging
from sync.sources.csvfeed import DELIMITERS, CsvOptions
from sync.sources.decoding import check_encoding
from sync.sources.errors import FeedError, SourceConfigError
from sync.sources.feed import MODES
from sync.sources.http import Auth, Retry
from sync.sources.importer import ImportOptions
from sync.sources.presets import PRESETS, with_preset

log = logging.getLogger(__name__)

LEGACY_FILE = Path("sources.toml")
AUTH_TYPES = ("none", "bearer", "basic", "oauth2")
GRANTS = ("client_credentials", "refresh_token")
# RFC 6749 2.3.1: HTTP Basic ("client_secret_basic") or the form body ("client_secret_post").
# The OpenID Connect names (client_secret_basic, client_secret_post) are accepted too.
CLIENT_AUTH = ("basic", "post", "client_secret_basic", "client_secret_post")
_AUTH_SECRETS = ("token", "username", "password", "token_url", "client_id", "client_secret", "scope", "refresh_token")
_OPTION_KEYS = ("mode", "max_shrink", "absences_before_leaver", "prehire_lead_days", "rejects_dir")
_CSV_KEYS = {"type", "path", "glob", "encoding", "delimiter", "optional_columns", *_OPTION_KEYS}
_API_KEYS = {"type", "preset", "url", "method", "params", "headers", "body", "auth", "paging",
             "records_path", "fields", "null_values", "timeout", "retries", "backoff", "max_wait",
             "optional_columns", *_OPTION_KEYS}


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: how to import it, and where from (a path or an API)."""

    name: str
    type: str
    options: ImportOptions
    csv: CsvOptions | None = None
    path: Path | None = None
    api: ApiSource | None = None


Sources = tuple[ImportOptions, dict[str, SourceConfig]]


def load_sources(path: Path | None = None, settings: Settings | None = None) -> Sources:
    """The default import options and every configured source: the ``sources`` setting
    (``[sources]`` in hr2bi.toml), else the deprecated ``./sources.toml`` (or ``path``, a
    file in that old layout). No sources configured means none, with the defaults."""
    settings = settings or load_settings()
    base = ImportOptions(audit_signing_key=settings.audit_signing_key, audit_origin=settings.audit_origin)
    if path is None and settings.sources:
        return parse_sources(settings.sources, base, os.environ.get("HR2BI_CONFIG", DEFAULT_CONFIG_FILE))
    path = path or LEGACY_FILE
    if not path.is_file():
        return base, {}
    log.warning("%s is deprecated: move its [defaults] keys under [sources] and its [sources.NAME] "
                "tables into hr2bi.toml", path)
    document = _read_toml(path)
    sources = _table(document, "sources", path)
    return parse_sources({**_table(document, "defaults", path), **sources}, base, str(path))


def configured_source(name: str, kind: str, required: bool) -> SourceConfig | None:
    """The source ``name`` of type ``kind`` (``csv``, ``api``), or None when it is not
    configured and not ``required``; a source of another type is always an error."""
    _defaults, sources = load_sources()
    config = sources.get(name)
    if config is None and required:
        known = ", ".join(s for s, c in sources.items() if c.type == kind) or "none yet"
        raise FeedError(f"no {kind} source named {name!r} is configured (configured: {known}): "
                        "add a [sources.NAME] table to hr2bi.toml (see the README's HR sources section)")
    if config is not None and config.type != kind:
        raise FeedError(f"the source {name!r} is a {config.type} source: use `hr2bi import {config.type}`")
    return config


def import_options(config: SourceConfig | None, name: str, mode: str | None, force: bool) -> ImportOptions:
    """How to import a feed of ``name``: its source's options (the defaults without one),
    with ``mode`` (None: the source's own) and ``force``."""
    defaults, _sources = load_sources()
    options = config.options if config else replace(defaults, source=name)
    return replace(options, mode=options.mode if mode is None else mode, force=force)


def source_options(name: str | None) -> ImportOptions:
    """The import options of the configured source ``name``, else the defaults."""
    defaults, sources = load_sources()
    return sources[name].options if name in sources else defaults


def parse_sources(table: Mapping[str, Any], base: ImportOptions, where: str) -> Sources:
    """``[sources]``: its plain keys are the defaults, each sub-table a source."""
    defaults = {key: value for key, value in table.items() if not isinstance(value, dict)}
    unknown = sorted(set(defaults) - set(_OPTION_KEYS))
    if unknown:
        raise SourceConfigError(f"{where} [sources]: unknown key(s) {', '.join(unknown)}: the defaults for "
                                f"every source are {', '.join(_OPTION_KEYS)}; a source is a table "
                                f"([sources.NAME] with type = \"csv\" or \"api\")")
    base = _options(base, defaults, f"{where} [sources]")
    sources = {name: _source(name, value, base, f"{where} [sources.{name}]")
               for name, value in table.items() if isinstance(value, dict)}
    return base, sources


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceConfigError(f"{path}: cannot read it: {exc}") from exc


def _table(document: Mapping[str, Any], key: str, where: Any) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise SourceConfigError(f"{where}: '{key}' must be a table ([{key}])")
    return value


def _known(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SourceConfigError(f"{where}: unknown key(s) {', '.join(unknown)}: the keys are "
                                f"{', '.join(sorted(allowed))}")


def _options(base: ImportOptions, table: Mapping[str, Any], where: str) -> ImportOptions:
    changes: dict[str, Any] = {}
    if "mode" in table:
        changes["mode"] = _choice(table["mode"], MODES, "mode", where)
    if "max_shrink" in table:
        changes["max_shrink"] = _number(table["max_shrink"], "max_shrink", where, 0.0, 1.0)
    for key in ("absences_before_leaver", "prehire_lead_days"):
        if key in table:
            changes[key] = int(_number(table[key], key, where, 0 if key != "absences_before_leaver" else 1, 3650))
    if "rejects_dir" in table:
        changes["rejects_dir"] = Path(str(table["rejects_dir"]))
    if "optional_columns" in table:
        changes["optional_columns"] = tuple(str(c) for c in table["optional_columns"])
    return replace(base, **changes)


def _source(name: str, raw: Any, base: ImportOptions, where: str) -> SourceConfig:
    if not isinstance(raw, dict):
        raise SourceConfigError(f"{where}: must be a table of settings")
    kind = _choice(raw.get("type", "csv"), ("csv", "api"), "type", where)
    if kind == "csv":
        _known(raw, _CSV_KEYS, where)
        options = replace(_options(base, raw, where), source=name)
        return SourceConfig(name, kind, options, _csv(raw, where), _path(raw, where))
    preset = raw.get("preset")
    if preset is not None and preset not in PRESETS:
        raise SourceConfigError(f"{where}: unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    table = with_preset(preset, raw)
    _known(table, _API_KEYS, where)
    options = replace(_options(base, table, where), source=name)
    return SourceConfig(name, kind, options, api=_api(name, table, where))


def _csv(raw: Mapping[str, Any], where: str) -> CsvOptions:
    delimiter = raw.get("delimiter")
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter) if isinstance(delimiter, str) else delimiter
    if delimiter is not None and delimiter not in DELIMITERS:
        raise SourceConfigError(f"{where}: delimiter {delimiter!r}: use one of , ; tab |  (or leave it out to sniff)")
    return CsvOptions(check_encoding(str(raw.get("encoding", "utf-8"))), delimiter, str(raw.get("glob", "*.csv")))


def _path(raw: Mapping[str, Any], where: str) -> Path:
    if not isinstance(raw.get("path"), str):
        raise SourceConfigError(f"{where}: 'path' is required: the export file, or the folder it is dropped in")
    return Path(raw["path"])


def _api(name: str, table: Mapping[str, Any], where: str) -> ApiSource:
    if not isinstance(table.get("url"), str):
        raise SourceConfigError(f"{where}: 'url' is required: the HR API's address")
    return ApiSource(
        name=name, url=table["url"], method=str(table.get("method", "GET")).upper(),
        params=dict(table.get("params", {})), headers={k: str(v) for k, v in table.get("headers", {}).items()},
        body=table.get("body"), auth=_auth(table.get("auth", {}), where), paging=_paging(table.get("paging", {}), where),
        records_path=str(table.get("records_path", "")), fields={str(k): str(v) for k, v in table.get("fields", {}).items()},
        null_values=tuple(str(v) for v in table.get("null_values", ())),
        timeout=_number(table.get("timeout", 30), "timeout", where, 0.1, 600),
        retry=Retry(int(_number(table.get("retries", 4), "retries", where, 0, 20)) + 1,
                    _number(table.get("backoff", 1.0), "backoff", where, 0, 60),
                    _number(table.get("max_wait", 120), "max_wait", where, 0, 3600)))


def _auth(raw: Any, where: str) -> Auth:
    if not isinstance(raw, dict):
        raise SourceConfigError(f"{where}: 'auth' must be a table, e.g. auth = {{ type = \"bearer\", token_env = \"HR_TOKEN\" }}")
    kind = _choice(raw.get("type", "none"), AUTH_TYPES, "auth type", where)
    problems: list[str] = []
    values = {key: _secret(raw, key, where, problems) for key in _AUTH_SECRETS}
    grant = _choice(raw.get("grant", "refresh_token" if _given(raw, "refresh_token") else "client_credentials"),
                    GRANTS, "oauth2 grant", where)
    client_auth = _choice(raw.get("client_auth", "basic"), CLIENT_AUTH, "client_auth", where).removeprefix("client_secret_")
    needed = {"bearer": ("token",), "basic": ("username",),
              "oauth2": ("token_url", "client_id", "client_secret") + (("refresh_token",) if grant == "refresh_token" else ())}
    for key in needed.get(kind, ()):
        if not values[key] and f"{key}_env" not in raw:
            raise SourceConfigError(f"{where}: {kind} auth needs '{key}' (or '{key}_env' naming an environment variable)")
    return Auth(kind, **values, grant=grant, client_auth=client_auth, problems=tuple(problems))


def _given(raw: Mapping[str, Any], key: str) -> bool:
    return raw.get(key) is not None or raw.get(f"{key}_env") is not None


def _secret(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    variable = raw.get(f"{key}_env")
    if variable is None:
        return None if raw.get(key) is None else str(raw[key])
    value = env_value(str(variable))
    if not value:
        problems.append(f"{where}: the environment variable {variable} ({key}) is not set: export it")
    return value


def _paging(raw: Any, where: str) -> Paging:
    if not isinstance(raw, dict):
        raise SourceConfigError(f"{where}: 'paging' must be a table, e.g. paging = {{ type = \"cursor\" }}")
    _choice(raw.get("type", "none"), PAGING, "paging type", where)
    allowed = {f.name for f in fields(Paging)}
    _known(raw, allowed, f"{where} paging")
    return Paging(**raw)


def _choice(value: Any, allowed: tuple[str, ...], what: str, where: str) -> str:
    if value not in allowed:
        raise SourceConfigError(f"{where}: {what} {value!r}: use one of {', '.join(allowed)}")
    return str(value)


def _number(value: Any, what: str, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SourceConfigError(f"{where}: {what} = {value!r}: give a number from {low:g} to {high:g}")
    return float(value)
