"""The nightly sync (beat's ``hr2bi.sync`` task, ``hr2bi sync``): import every configured
source, plan, apply — under the ``sync`` lock, so one runs at a time whatever the number of
workers, beats or operators. The sources and the mapping tables are read once, here, and
passed to each import and to the plan.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.jobs.imports import import_configured
from sync.jobs.plan_apply import plan_and_apply
from sync.jobs.results import SyncOutcome
from sync.locks import SYNC, held
from sync.rules import load_dir
from sync.sources.config import load_sources
from sync.statuses import RunStatus, SyncStatus

log = logging.getLogger(__name__)


def run_sync(engine: Engine, settings: Settings, *, progress: bool = False) -> SyncOutcome:
    """The nightly sync, or ``skipped`` at once when another one is running."""
    with held(engine, SYNC, settings.sync_lock_ttl, label="sync") as lease:
        if lease is None:
            log.info("another sync is running: this one is skipped")
            return SyncOutcome(SyncStatus.SKIPPED)
        _defaults, sources = load_sources(settings=settings)
        tables = load_dir(settings.mappings_dir)
        # One source after the other; a failing one is recorded and the others still run.
        imports = tuple(import_configured(engine, config, tables.attribute_map) for config in sources.values())
        # A plan carries over changes an interrupted apply left undone; apply signs a
        # checkpoint of the audit log when it ends (so does each import).
        done = plan_and_apply(engine, settings, tables=tables, progress=progress)
    failed = any(o.status == RunStatus.FAILED for o in imports) or bool(done.applied and done.applied.failed)
    return SyncOutcome(SyncStatus.FAILED if failed else SyncStatus.DONE, imports, done.plan, done.applied)
