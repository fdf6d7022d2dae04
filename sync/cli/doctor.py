"""``hr2bi doctor``: read-only checks of the configured BI organization against the
mapping tables (sync/jobs/doctor.py); a configuration problem is one line (sync/cli/errors.py); one line per problem with its fix, exit 1 when
there is any."""

from __future__ import annotations

import sys

import click
import httpx

from sync.config import load_settings
from sync.rules import load_dir
from sync.targets.build import api_keys, configured_models
from sync.jobs.doctor import diagnose
from sync.targets.omni import OmniTarget


@click.command("doctor", help="Check, with read-only calls, that the BI organization fits the "
                              "mapping tables: every API key works, every mapped user attribute "
                              "is defined with a fitting type, every connection and model of "
                              "roles.csv exists, group names fit. Exit 1 on any problem.")
def doctor() -> None:
    settings = load_settings()
    tables = load_dir(settings.mappings_dir)
    if settings.bi_target != "omni":
        click.echo(f"hr2bi doctor checks Omni organizations; HR2BI_BI_TARGET is {settings.bi_target}")
        return
    keys = api_keys(settings)
    models = configured_models(settings.bi_models_file)
    clients: list[httpx.Client] = []

    def target_on(key: str) -> OmniTarget:
        clients.append(httpx.Client(base_url=settings.bi_base_url, timeout=settings.bi_timeout))
        return OmniTarget(clients[-1], [key], models=models,
                          requests_per_minute=settings.bi_rate_per_key)

    try:
        report = diagnose(tables, keys, target_on, settings.bi_rate_per_key)
    finally:
        for client in clients:
            client.close()
    for note in report.notes:
        click.echo(note)
    for finding in report.findings:
        click.echo(f"problem: {finding}")
    if report.findings:
        click.echo(f"{len(report.findings)} problem(s)")
        sys.exit(1)
    click.echo("no problems found")
