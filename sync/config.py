"""Settings: one object, read from the environment (``HR2BI_*``, ``DATABASE_URL``,
``BROKER_URL``), an optional ``.env`` file (``./.env``, or the path in ``HR2BI_ENV_FILE``;
the same file ``honcho start`` reads for the Procfile) and an optional TOML file
(``./hr2bi.toml``, or the path in ``HR2BI_CONFIG``).

Environment variables win over ``.env``, ``.env`` over the TOML file, the file over the
defaults. Nothing here connects to anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from sync.errors import UserError

DEFAULT_CONFIG_FILE = "hr2bi.toml"
DEFAULT_ENV_FILE = ".env"
# The database engines hr2bi is built and tested for (sync/db.py, the migrations).
DATABASES = {"sqlite": "SQLite (sqlite:///hr2bi.db)", "postgresql": "PostgreSQL (postgresql://user@host/db)"}


class ConfigError(UserError):
    """The configuration is unusable; the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HR2BI_", extra="forbid", frozen=True)

    database_url: str = Field(
        default="sqlite:///hr2bi.db",
        validation_alias=AliasChoices("DATABASE_URL", "HR2BI_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; postgres:// and postgresql:// use the psycopg 3 driver.",
    )
    base_url: str | None = Field(
        default=None,
        description="Public base URL (https://hr2bi.example.com) for SCIM meta.location; "
        "taken from the request when unset.",
    )
    scim_max_results: int = Field(default=1000, ge=1, description="Largest SCIM page size.")
    scim_default_count: int = Field(default=100, ge=0)
    scim_bulk_max_operations: int = Field(default=250, ge=1)
    scim_bulk_max_payload_bytes: int = Field(default=1_048_576, ge=1024)
    scim_max_payload_bytes: int = Field(default=1_048_576, ge=1024)
    mappings_dir: Path = Field(default=Path("mappings"), description="The mapping tables.")
    audit_signing_key: Path | None = Field(
        default=None, description="Ed25519 private key PEM for audit checkpoints "
        "(`hr2bi audit keygen`); export and checkpoint refuse to run without it.")
    audit_origin: str = Field(default="hr2bi audit log", description="The log's name in "
                              "its checkpoints: one per deployment, so logs are never confused.")
    # Streaming the audit log to a SIEM (`hr2bi audit ship`, sync/audit/ship.py).
    audit_ship_syslog: str | None = Field(default=None, description="Syslog receiver for "
                                          "`hr2bi audit ship`: tcp://HOST:PORT, or tls://HOST:PORT "
                                          "(RFC 5424 messages, octet-counting framing).")
    audit_ship_syslog_ca_file: Path | None = Field(default=None, description="CA bundle that "
                                                   "signed the tls:// receiver's certificate (default: the system's).")
    audit_ship_hec_url: str | None = Field(default=None, description="Splunk HTTP Event "
                                           "Collector base URL (https://splunk.example.com:8088); events "
                                           "are POSTed to /services/collector/event.")
    audit_ship_hec_token_env: str = Field(default="HR2BI_HEC_TOKEN", description="The name of the "
                                          "environment variable holding the HEC token (never the token itself).")
    audit_ship_hec_ca_file: Path | None = Field(default=None, description="CA bundle for the "
                                                "HEC endpoint's certificate (default: the system's).")
    audit_ship_hostname: str | None = Field(default=None, description="HOSTNAME / host the "
                                            "shipped events name (default: this machine's name).")
    audit_ship_batch: int = Field(default=500, ge=1, le=10_000, description="Events sent per "
                                  "request or write; the cursor moves after each batch.")
    audit_ship_interval: float = Field(default=2.0, gt=0, description="Seconds between looks "
                                       "for newly committed events (and the first retry delay).")
    migrate_on_start: bool = Field(default=True)
    serve_timeout: float = Field(default=60.0, gt=0, description="Seconds `hr2bi serve` "
                                 "and gunicorn wait on a silent client (a request not sent, a body stalled) "
                                 "before it closes the connection.")
    log_level: str = Field(default="INFO")
    # The BI target (sync/targets/build.py); the defaults reach `hr2bi sandbox` as it starts.
    bi_target: Literal["omni", "scim"] = Field(default="omni", description="omni, or any "
                                               "SCIM 2.0 BI platform (scim; no roles).")
    bi_base_url: str = Field(default="http://127.0.0.1:8010", description="Omni: "
                             "https://<instance>.omniapp.co; scim: the SCIM base URL.")
    bi_api_keys: SecretStr = Field(default=SecretStr("sandbox-key-1"), description="One or "
                                   "more API keys, comma-separated (the bearer token for scim).")
    bi_rate_per_key: float = Field(default=60.0, gt=0, description="Requests/minute per key.")
    bi_timeout: float = Field(default=30.0, gt=0, description="Seconds per BI request.")
    bi_models_file: Path | None = Field(default=None, description="Only an override: JSON with "
                                        "a `models` list (id, name, connection); default none, the "
                                        "models are listed from Omni (GET /api/v1/models) each run.")
    manage_unmatched: Literal["report", "deactivate"] = Field(
        default="report", description="BI accounts hr2bi neither created nor matched to a "
        "person (admins, service accounts, another SCIM app's users): report them as unmanaged "
        "and leave them alone, or deactivate them (through the safety guard).")
    protected: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="userName patterns (globs, case-insensitive; "
        "comma-separated in the environment) hr2bi never changes or deactivates, e.g. "
        "admin@example.com, svc-*@example.com.")
    guard_max_share: float = Field(default=0.20, ge=0, le=1, description="Hold a run whose "
                                   "deactivations + role downgrades exceed this share of active accounts...")
    guard_max_count: int = Field(default=500, ge=0, description="...or this many, whichever is less.")
    guard_min_changes: int = Field(default=10, ge=0, description="...but never hold a run "
                                   "for this many or fewer (so one leaver on a tiny account goes through).")
    apply_max_attempts: int = Field(default=5, ge=1, description="Tries before a change is quarantined.")
    apply_backoff_seconds: float = Field(default=60.0, ge=0, description="First retry delay; doubles.")
    # Tasks (sync/jobs/celery_app.py): no broker means the embedded mode, tasks run in-process.
    broker_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("BROKER_URL", "HR2BI_BROKER_URL", "broker_url"),
        description="Celery broker: redis://... or amqp://...; unset runs tasks in-process.")
    rate_limit_url: str | None = Field(default=None, description="Redis that every worker "
                                       "shares the BI's per-key rate limit through (redis://...); "
                                       "default: BROKER_URL when it is a Redis URL; none: each "
                                       "process limits itself (right for the embedded mode only).")
    sync_schedule: str = Field(default="0 2 * * *", description="When celery beat queues the "
                               "sync: a cron line (minute hour day-of-month month day-of-week).")
    sync_timezone: str = Field(default="UTC", description="The time zone of sync_schedule.")
    provision_on_push: bool | None = Field(default=None, description="Provision each SCIM "
                                           "write at once (queued); default: on with a broker, off "
                                           "in the embedded mode (hr2bi sync catches up).")
    push_delay_seconds: float = Field(default=1.0, ge=0, le=300, description="A push for a "
                                      "person idle this long is provisioned at once; one that "
                                      "follows another within it waits this long (a burst coalesces).")
    sync_lock_ttl: float = Field(default=60.0, ge=1, description="Seconds after its holder "
                                 "stops renewing it that a sync lock may be taken over.")
    broker_visibility_timeout: int = Field(default=3600, ge=1, description="Redis: seconds "
                                           "before a task a dead worker took is delivered again.")

    # The admin console and admin API (sync/console/, sync/api/): sign-in and sessions.
    console_oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer "
                                            "URL of the company's IdP (its /.well-known/openid-configuration "
                                            "is read); unset: no IdP sign-in.")
    console_oidc_client_id: str | None = Field(default=None, description="The console's "
                                               "client id at the IdP.")
    console_oidc_client_secret_env: str = Field(default="HR2BI_CONSOLE_OIDC_CLIENT_SECRET",
                                                description="The variable (environment or .env) "
                                                "holding the console's client secret.")
    console_oidc_groups_claim: str = Field(default="groups", description="The ID token or "
                                           "userinfo claim listing the person's IdP groups.")
    console_viewer_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="IdP groups whose members may look (comma-separated "
        "in the environment).")
    console_approver_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="IdP groups whose members may also approve and "
        "reject held runs and provision on demand.")
    console_admin_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="IdP groups whose members may also manage tokens.")
    console_token_signin: bool | None = Field(default=None, description="Sign in to the "
                                              "console with an admin-scope token (the embedded "
                                              "mode); default: on when no OIDC issuer is set.")
    console_secret_key_env: str = Field(default="HR2BI_CONSOLE_SECRET_KEY", description="The "
                                        "variable holding the key that signs console session "
                                        "cookies; unset: a random key per process start "
                                        "(sessions end on restart; set it with several workers).")
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60, description="Minutes "
                                      "without a request after which a console session ends.")
    console_secure_cookies: bool | None = Field(default=None, description="Send the session "
                                                "cookie over HTTPS only; default: when base_url "
                                                "starts with https://.")
    console_four_eyes: bool = Field(default=False, description="A held run must be approved "
                                    "by someone other than whoever caused it.")

    # HR sources: a [sources.NAME] table per source, and import defaults as plain keys of
    # [sources]; sync/sources/config.py checks each table (errors name the source and key).
    sources: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="HR sources for `hr2bi import` and the sync "
        "(see the README's HR sources section).")

    @field_validator("sources", mode="before")
    @classmethod
    def _sources_json(cls, value: Any) -> Any:
        # HR2BI_SOURCES holds the same tables as one JSON object.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError("HR2BI_SOURCES must be a JSON object of source tables "
                                 "(or put [sources.NAME] tables in hr2bi.toml)") from exc
        return value

    @field_validator("protected", "console_viewer_groups", "console_approver_groups",
                     "console_admin_groups", mode="before")
    @classmethod
    def _patterns(cls, value: Any) -> Any:
        if isinstance(value, str):  # HR2BI_PROTECTED="admin@x.com, svc-*@x.com"
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("sync_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Field values are checked by celery's crontab when beat builds the schedule.
        if len(value.split()) != 5:
            raise ValueError("a cron line has five fields: minute hour day-of-month month "
                             "day-of-week (e.g. '0 2 * * *')")
        return value

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        # Heroku-style and plain URLs: pick the psycopg 3 driver we ship.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        if "://" not in value:
            raise ValueError("not a database URL; use " + " or ".join(DATABASES.values()))
        scheme = value.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in DATABASES:
            raise ValueError(f"{scheme!r} databases are not supported; use "
                             + " or ".join(DATABASES.values()))
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("HR2BI_CONFIG", DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        dotenv = env_file()
        if dotenv is not None:
            sources.append(EnvFileSource(settings_cls, dotenv))
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


class EnvFileSource(PydanticBaseSettingsSource):
    """``.env``'s settings (``KEY=value`` lines, as honcho reads them). Other keys (the
    Procfile's ``PORT``, a secret a setting names such as ``HR2BI_HEC_TOKEN``) are left to
    their readers (``env_value``), as the environment's are."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        names: dict[str, str] = {}
        for name, info in self.settings_cls.model_fields.items():
            names["HR2BI_" + name.upper()] = name
            alias = info.validation_alias
            for choice in getattr(alias, "choices", ()):
                if isinstance(choice, str) and choice.isupper():
                    names[choice] = name
        found: dict[str, Any] = {}
        for key, value in dotenv_values(self.path).items():
            if value is not None and key not in os.environ and key in names:
                found[names[key]] = value
        return found


def env_file() -> Path | None:
    """The ``.env`` file in force (``HR2BI_ENV_FILE`` or ``./.env``), if there is one."""
    path = Path(os.environ.get("HR2BI_ENV_FILE", DEFAULT_ENV_FILE))
    return path if path.is_file() else None


def env_value(name: str) -> str | None:
    """A variable a setting names (an HR API's ``password_env``, the HEC token's
    ``audit_ship_hec_token_env``): from the environment, else from ``.env``, as honcho
    would have put it in the environment of the Procfile's processes."""
    value = os.environ.get(name)
    if value is None and (path := env_file()) is not None:
        value = dotenv_values(path).get(name)
    return value


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one readable ``ConfigError``."""
    config_path = os.environ.get("HR2BI_CONFIG")
    if config_path and not Path(config_path).is_file():
        raise ConfigError(f"HR2BI_CONFIG points at {config_path}, which is not a file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed hr2bi.toml
        raise ConfigError(f"cannot read configuration: {exc}") from exc
