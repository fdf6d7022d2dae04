"""One configured source's import (``[sources]`` of hr2bi.toml): *get* its records (its
folder/file or its HR API), then the importer merges, holds or rejects them
(:mod:`sync.sources.importer`). A failing source is recorded (its run says why), so the
nightly sync goes on with the others.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.jobs.results import UNCHANGED, SourceOutcome
from sync.rules import AttributeMap, load_dir
from sync.sources.api import fetch_feed
from sync.sources.config import SourceConfig, load_sources
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.errors import AlreadyImported, FeedError
from sync.sources.feed import Feed
from sync.sources.importer import Progress, import_feed
from sync.statuses import RunStatus

log = logging.getLogger(__name__)


def import_source(engine: Engine, settings: Settings, name: str,
                  progress: Progress | None = None) -> SourceOutcome:
    """Import one configured source (the same import ``hr2bi import`` runs)."""
    _defaults, sources = load_sources(settings=settings)
    if name not in sources:
        raise FeedError(f"no source named {name!r} in the configuration (configured: "
                        f"{', '.join(sources) or 'none'})")
    return import_configured(engine, sources[name], load_dir(settings.mappings_dir).attribute_map, progress)


def import_configured(engine: Engine, config: SourceConfig, attribute_map: AttributeMap,
                      progress: Progress | None = None) -> SourceOutcome:
    """Import a source whose configuration and mapping tables the job already loaded."""
    try:
        feed = read_feed(config, attribute_map)
        run = import_feed(engine, feed, attribute_map, config.options, progress)
    except AlreadyImported as exc:
        return SourceOutcome(config.name, UNCHANGED, reason=str(exc))
    except FeedError as exc:
        log.error("import of %s failed: %s", config.name, exc)
        return SourceOutcome(config.name, RunStatus.FAILED, reason=str(exc))
    return SourceOutcome(config.name, run.status, run.id, run.reason)


def read_feed(config: SourceConfig, attribute_map: AttributeMap) -> Feed:
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
