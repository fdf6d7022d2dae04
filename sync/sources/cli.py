"""``hr2bi import csv | api``: read an HR export or an HR API into the identity store.

Exit status: 0 imported, 1 error (one line: what, where, what to do), 2 held by the feed
guard (nothing imported; ``hr2bi runs approve ID --by NAME`` releases it, ``hr2bi runs
reject ID --by NAME --reason TEXT`` discards it).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from sync.audit.errors import AuditError
from sync.config import ConfigError, Settings, load_settings
from sync.db import DatabaseUnavailable, engine_for
from sync.models import Run
from sync.rules import AttributeMap, RulesError, TableErrors, load_dir
from sync.runs import RunError, run_to_dict
from sync.sources.api import fetch_feed
from sync.sources.config import SourceConfig, load_sources
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.decoding import check_encoding
from sync.sources.errors import FeedError, SourceConfigError
from sync.sources.feed import FULL, INCREMENTAL, Feed
from sync.sources.importer import ImportOptions, Progress, import_feed
from sync.statuses import RunStatus

F = TypeVar("F", bound=Callable[..., Any])
ERRORS = (ConfigError, DatabaseUnavailable, FeedError, RunError, RulesError, AuditError)
HELD_EXIT = 2


def user_errors(func: F) -> F:
    """Known failures become one clear line and exit 1, never a traceback."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TableErrors as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException("the mapping tables do not load: fix them first "
                                       "(`hr2bi mappings check`)") from exc
        except ERRORS as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def store() -> tuple[Settings, Engine]:
    settings = load_settings()
    return settings, engine_for(settings)


def attribute_map(settings: Settings) -> AttributeMap:
    return load_dir(settings.mappings_dir).attribute_map


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Progress]:
    """A bar on stderr (so --json output stays clean); click shows it only on a terminal."""
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
        yield bar.update


@click.group("import", help="Import people from an HR export (CSV) or an HR API.")
def import_group() -> None:
    pass


mode_option = click.option("--full/--incremental", "full", default=None,
                           help="A full feed lists everyone (absentees count toward leaving); an "
                                "incremental one only changes. Default: the source's mode, else full.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")


@import_group.command("csv", help="Import a CSV export: PATH is a file, or a folder whose newest "
                                  "file matching the source's glob is read.")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--source", "source_name", default=None, help="The source's name (a [sources.NAME] "
              "table in hr2bi.toml, or any name to keep feeds apart). Default: hr.")
@mode_option
@click.option("--force", is_flag=True, help="Import even if this exact file was imported before.")
@click.option("--encoding", default=None, help="The file's encoding when it has no BOM (default utf-8).")
@click.option("--delimiter", default=None, type=click.Choice([",", ";", "tab", "|"]),
              help="Default: sniffed from the header.")
@click.option("--glob", default=None, help="Which files in a folder are exports (default *.csv).")
@json_option
@user_errors
def import_csv(path: Path | None, source_name: str | None, full: bool | None, force: bool,
               encoding: str | None, delimiter: str | None, glob: str | None, as_json: bool) -> None:
    settings, engine = store()
    config = _configured(source_name or "hr", "csv", required=source_name is not None and path is None)
    csv_options = config.csv if config and config.csv else CsvOptions()
    csv_options = CsvOptions(check_encoding(encoding) if encoding else csv_options.encoding,
                             {"tab": "\t"}.get(delimiter or "", delimiter) or csv_options.delimiter,
                             glob or csv_options.glob)
    where = path or (config.path if config else None)
    if where is None:
        raise click.UsageError("give PATH, or --source NAME of a source with a path in hr2bi.toml")
    options = _options(config, source_name or "hr", full, force)
    amap = attribute_map(settings)
    feed = csv_feed(where, options.source, options.mode, csv_options, amap)
    _run(engine, feed, amap, options, as_json)


@import_group.command("api", help="Import from an HR API configured as [sources.SOURCE] in hr2bi.toml.")
@click.argument("source_name", metavar="SOURCE")
@mode_option
@json_option
@user_errors
def import_api(source_name: str, full: bool | None, as_json: bool) -> None:
    settings, engine = store()
    config = _configured(source_name, "api", required=True)
    assert config is not None and config.api is not None
    if config.api.auth.problems:
        raise SourceConfigError("; ".join(config.api.auth.problems))
    options = _options(config, source_name, full, False)
    amap = attribute_map(settings)
    feed = fetch_feed(config.api, options.mode)
    _run(engine, feed, amap, options, as_json)


def _configured(name: str, kind: str, required: bool) -> SourceConfig | None:
    _defaults, sources = load_sources()
    config = sources.get(name)
    if config is None and required:
        known = ", ".join(s for s, c in sources.items() if c.type == kind) or "none yet"
        raise FeedError(f"no {kind} source named {name!r} is configured (configured: {known}): "
                        "add a [sources.NAME] table to hr2bi.toml (see the README's HR sources section)")
    if config is not None and config.type != kind:
        raise FeedError(f"the source {name!r} is a {config.type} source: use `hr2bi import {config.type}`")
    return config


def _options(config: SourceConfig | None, name: str, full: bool | None, force: bool) -> ImportOptions:
    defaults, _sources = load_sources()
    options = config.options if config else replace(defaults, source=name)
    mode = options.mode if full is None else (FULL if full else INCREMENTAL)
    return replace(options, mode=mode, force=force)


def _run(engine: Engine, feed: Feed, amap: AttributeMap, options: ImportOptions, as_json: bool) -> None:
    with progress_bar(len(feed.records), f"Importing {len(feed.records)} {feed.unit}s") as progress:
        run = import_feed(engine, feed, amap, options, progress)
    report_run(run, as_json)
    if run.status == RunStatus.HELD:
        sys.exit(HELD_EXIT)


def report_run(run: Run, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(run_to_dict(run), indent=2))
        return
    counts = run.counts
    click.echo(f"Run {run.id} ({run.kind}, {run.source}, {run.mode}): {run.status}")
    shown = ("records", "added", "changed", "unchanged", "rejected", "missing", "left", "rehired", "converted",
             "linked", "dangling_managers")
    click.echo("  " + ", ".join(f"{k.replace('_', ' ')} {counts[k]}" for k in shown if k in counts))
    if run.details.get("rejects_file"):
        click.echo(f"  rejected rows: {run.details['rejects_file']}")
    if run.status == RunStatus.HELD:
        click.echo(f"HELD: {run.reason}", err=True)
