"""The jobs the Celery tasks and ``hr2bi sync`` run: plain functions over an engine and the
settings, so a worker, the command line and the demo run exactly the same code.

- :func:`run_sync` — the nightly job: import every configured source, plan, apply (which
  signs a checkpoint of the audit log); under the ``sync`` lock, so one runs at a time whatever the
  number of workers, beats or operators.
- :func:`import_source` — one configured source (``[sources]`` of hr2bi.toml).
- :func:`provision_scim_user` — plan and apply for the person behind one SCIM user, after an
  identity provider's push.

Plan and apply live in :mod:`sync.pipeline`; each job is get -> plan -> apply -> record.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.locks import SYNC, held
from sync.rules import load_dir
from sync.sources.api import fetch_feed
from sync.sources.config import SourceConfig, load_sources
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.errors import AlreadyImported, FeedError
from sync.sources.feed import Feed
from sync.sources.importer import Progress, import_feed
from sync.statuses import RunStatus, SyncStatus

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"  # a source's export was already imported: nothing new to read, no run


@dataclass(frozen=True)
class SourceOutcome:
    """One source's import within a sync: its run (when one was made) and how it ended."""

    source: str
    status: str  # its run's RunStatus (succeeded | held | failed), or UNCHANGED
    run_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync did: ``status`` says how it ended (``SyncStatus``)."""

    status: SyncStatus
    imports: tuple[SourceOutcome, ...] = ()
    plan: dict[str, Any] = field(default_factory=dict)
    apply: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_sync(engine: Engine, settings: Settings, *, progress: bool = False) -> SyncOutcome:
    """The nightly sync, or ``skipped`` at once when another one is running."""
    with held(engine, SYNC, settings.sync_lock_ttl, label="sync") as lease:
        if lease is None:
            log.info("another sync is running: this one is skipped")
            return SyncOutcome(SyncStatus.SKIPPED)
        imports = tuple(import_all(engine, settings))
        # A plan carries over changes an interrupted apply left undone; apply signs a
        # checkpoint of the audit log when it ends (so does each import).
        plan, applied = plan_and_apply(engine, settings, progress=progress)
    failed = any(o.status == RunStatus.FAILED for o in imports) or bool(applied.get("failed"))
    return SyncOutcome(SyncStatus.FAILED if failed else SyncStatus.DONE, imports, plan, applied)


def import_all(engine: Engine, settings: Settings) -> list[SourceOutcome]:
    """Every configured source (``[sources]`` of hr2bi.toml), one after the other; a failing source is recorded
    (its run says why) and the others still run."""
    _defaults, sources = load_sources(settings=settings)
    return [import_source(engine, settings, name) for name in sources]


def import_source(engine: Engine, settings: Settings, name: str,
                  progress: Progress | None = None) -> SourceOutcome:
    """Import one configured source (the same import ``hr2bi import`` runs)."""
    _defaults, sources = load_sources(settings=settings)
    if name not in sources:
        raise FeedError(f"no source named {name!r} in the configuration (configured: "
                        f"{', '.join(sources) or 'none'})")
    attribute_map = load_dir(settings.mappings_dir).attribute_map
    config = sources[name]
    try:
        feed = read_feed(config, attribute_map)
        run = import_feed(engine, feed, attribute_map, config.options, progress)
    except AlreadyImported as exc:
        return SourceOutcome(name, UNCHANGED, reason=str(exc))
    except FeedError as exc:
        log.error("import of %s failed: %s", name, exc)
        return SourceOutcome(name, RunStatus.FAILED, reason=str(exc))
    return SourceOutcome(name, run.status, run.id, run.reason)


def read_feed(config: SourceConfig, attribute_map: Any) -> Feed:
    """*get*: the source's records, from its folder/file or its HR API."""
    if config.type == "csv":
        if config.path is None:
            raise FeedError(f"the source {config.name!r} has no path configured")
        return csv_feed(config.path, config.name, config.options.mode,
                        config.csv or CsvOptions(), attribute_map)
    assert config.api is not None
    if config.api.auth.problems:
        raise FeedError(f"{config.name}: " + "; ".join(config.api.auth.problems))
    return fetch_feed(config.api, config.options.mode)


def plan_and_apply(engine: Engine, settings: Settings, *, progress: bool = False, **scope: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan (for everyone, or ``scope``: ``scim_users=[...]``) and apply unless the plan is
    held or empty. Returns both results as plain dicts (tasks return JSON)."""
    from sync import pipeline  # the plan/apply core (issue 6)

    planned = pipeline.plan(engine, settings, **scope)
    plan = _plain(planned)
    if plan.get("status") != RunStatus.PLANNED:
        return plan, {}
    result = pipeline.apply(engine, settings, planned.run_id, progress=progress)
    return plan, _plain(result)


def apply_run(engine: Engine, settings: Settings, run_id: int) -> dict[str, Any]:
    """Apply (or resume applying) a planned or approved run; what is done stays done."""
    from sync import pipeline

    return _plain(pipeline.apply(engine, settings, run_id))


def provision_scim_user(engine: Engine, settings: Settings, scim_user_id: str) -> dict[str, Any]:
    """After an identity provider's push: plan and apply for that person only."""
    plan, applied = plan_and_apply(engine, settings, scim_users=[scim_user_id])
    return {"scim_user_id": scim_user_id, "plan": plan, "apply": applied}


def _plain(result: Any) -> dict[str, Any]:
    """A pipeline result as JSON-able primitives (Celery results, ``--json``)."""
    if result is None:
        return {}
    if is_dataclass(result) and not isinstance(result, type):
        return {k: v for k, v in asdict(result).items() if _jsonable(v)}
    return dict(result)


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, dict, tuple))
