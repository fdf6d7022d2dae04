"""``hr2bi import csv | api``: read an HR export or an HR API into the identity store.

Exit status: 0 imported, 1 error (one line: what, where, what to do), 2 held by the feed
guard (nothing imported; ``hr2bi runs approve ID --by NAME`` releases it, ``hr2bi runs
reject ID --by NAME --reason TEXT`` discards it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from sync.cli.output import json_option, print_json
from sync.cli.store import attribute_map, store
from sync.models import Run
from sync.rules import AttributeMap
from sync.runs import run_to_dict
from sync.sources.api import fetch_feed
from sync.sources.config import SourceConfig, configured_source, import_options
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.decoding import check_encoding
from sync.sources.errors import SourceConfigError
from sync.sources.feed import FULL, INCREMENTAL, Feed
from sync.sources.importer import ImportOptions, Progress, import_feed
from sync.statuses import RunStatus

HELD_EXIT = 2


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
def import_csv(path: Path | None, source_name: str | None, full: bool | None, force: bool,
               encoding: str | None, delimiter: str | None, glob: str | None, as_json: bool) -> None:
    settings, engine = store()
    config = configured_source(source_name or "hr", "csv", required=source_name is not None and path is None)
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
def import_api(source_name: str, full: bool | None, as_json: bool) -> None:
    settings, engine = store()
    config = configured_source(source_name, "api", required=True)
    assert config is not None and config.api is not None
    if config.api.auth.problems:
        raise SourceConfigError("; ".join(config.api.auth.problems))
    options = _options(config, source_name, full, False)
    amap = attribute_map(settings)
    feed = fetch_feed(config.api, options.mode)
    _run(engine, feed, amap, options, as_json)


def _options(config: SourceConfig | None, name: str, full: bool | None, force: bool) -> ImportOptions:
    return import_options(config, name, None if full is None else FULL if full else INCREMENTAL, force)


def _run(engine: Engine, feed: Feed, amap: AttributeMap, options: ImportOptions, as_json: bool) -> None:
    with progress_bar(len(feed.records), f"Importing {len(feed.records)} {feed.unit}s") as progress:
        run = import_feed(engine, feed, amap, options, progress)
    report_run(run, as_json)
    if run.status == RunStatus.HELD:
        sys.exit(HELD_EXIT)


def report_run(run: Run, as_json: bool) -> None:
    if as_json:
        print_json(run_to_dict(run))
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
