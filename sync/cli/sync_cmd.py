"""``hr2bi sync``: the nightly job in this process — what a worker runs for beat.

Exit status: 0 done (or skipped: another sync is running), 1 failed (the runs say why),
2 held (an import or the plan waits for ``hr2bi runs approve`` or ``reject``).
"""

from __future__ import annotations

import sys

import click

from sync.cli.output import json_option, print_json
from sync.config import load_settings
from sync.db import engine_for
from sync.errors import UserError
from sync.jobs.nightly import run_sync
from sync.jobs.results import SyncOutcome
from sync.plan.service import PlanResult
from sync.statuses import RunStatus, SyncStatus

HELD_EXIT = 2


@click.command("sync", help="Import every configured source ([sources] of hr2bi.toml), plan, and apply: "
                            "the nightly job, run here and now. Only one sync runs at a time: "
                            "a second one, here or on a worker, is skipped.")
@json_option
def sync_command(as_json: bool) -> None:
    settings = load_settings()
    engine = engine_for(settings)
    try:
        outcome = run_sync(engine, settings, progress=not as_json)
    except UserError as exc:
        raise click.ClickException(f"sync failed: {exc}") from exc
    if as_json:
        print_json(outcome.as_dict())
    else:
        report(outcome)
    sys.exit(exit_code(outcome))


def exit_code(outcome: SyncOutcome) -> int:
    if outcome.status == SyncStatus.FAILED:
        return 1
    if outcome.held:
        return HELD_EXIT
    return 0


def report(outcome: SyncOutcome) -> None:
    if outcome.status == SyncStatus.SKIPPED:
        click.echo("Another sync is running: skipped (only one runs at a time).")
        return
    for source in outcome.imports:
        run = f" (run {source.run_id})" if source.run_id else ""
        why = f": {source.reason}" if source.reason else ""
        click.echo(f"Import {source.source}: {source.status}{run}{why}")
    if not outcome.imports:
        click.echo("No sources configured: planning from the people already stored.")
    assert outcome.plan is not None  # a sync that was not skipped planned
    click.echo(plan_line(outcome.plan))
    if outcome.apply:
        a = outcome.apply
        click.echo(f"Applied {a.applied}, failed {a.failed}, quarantined {a.quarantined} "
                   f"({a.bi_calls} BI calls)")
    click.echo(f"Sync: {outcome.status}")


def plan_line(plan: PlanResult) -> str:
    shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in plan.counts.items()
                      if isinstance(v, int) and v and not k.startswith("carried"))
    held = f" — {plan.reason}" if plan.status == RunStatus.HELD else ""  # "held as run N: ..."
    return f"Plan (run {plan.run_id}): {plan.status}{': ' + shown if shown else ''}{held}"
