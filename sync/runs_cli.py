"""``hr2bi runs list | show ID | approve ID --by NAME``."""

from __future__ import annotations

import json

import click

from sync.db import session_scope
from sync.runs import STATUSES, get_run, list_runs, run_to_dict
from sync.sources.cli import attribute_map, report_run, store, user_errors
from sync.sources.config import load_sources
from sync.sources.importer import KIND as IMPORT
from sync.sources.importer import approve_import

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group(help="Imports and plans: list them, inspect one, approve a held one.")
def runs() -> None:
    pass


@runs.command("list", help="The newest runs first.")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--kind", default=None, help="import or plan.")
@click.option("--source", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@user_errors
def runs_list(status: str | None, kind: str | None, source: str | None, limit: int, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        found = [run_to_dict(r) for r in list_runs(session, kind, status, source, limit)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("No runs yet: `hr2bi import csv PATH` makes one.")
        return
    click.echo(f"{'ID':>5} {'KIND':<7} {'SOURCE':<16} {'MODE':<12} {'STATUS':<10} {'STARTED':<20} SUMMARY")
    for run in found:
        click.echo(f"{run['id']:>5} {run['kind']:<7} {run['source'] or '-':<16} {run['mode'] or '-':<12} "
                   f"{run['status']:<10} {run['started_at'][:19].replace('T', ' '):<20} {_summary(run)}")


# A plan's changes by kind (its counts, sync/plan/values.py PlanCounts) and what became of
# them (its outbox rows by status, recorded when it is applied or superseded).
_PLAN_KINDS = (("creates", "create"), ("updates", "update"), ("reactivations", "reactivate"),
               ("deactivations", "deactivate"), ("group_creates", "group create"),
               ("membership_changes", "membership"), ("role_changes", "role"))
_OUTCOMES = (("done", "applied"), ("failed", "failed"), ("pending", "pending"),
             ("quarantined", "quarantined"), ("superseded", "superseded"))


def _summary(run: dict) -> str:
    if run["kind"] == "plan":
        return _plan_summary(run)
    if run["status"] in ("held", "failed"):
        return (run["reason"] or "")[:100]
    counts = run["counts"]
    return ", ".join(f"{k} {counts[k]}" for k in ("added", "changed", "rejected", "missing") if k in counts)


def _plan_summary(run: dict) -> str:
    counts = run["counts"]
    kinds = ", ".join(f"{label} {counts[k]}" for k, label in _PLAN_KINDS if counts.get(k))
    outbox = counts.get("outbox") or {}
    if run["status"] == "held":
        outcome = f"{counts.get('total', 0)} held"
    elif outbox:
        outcome = ", ".join(f"{label} {outbox[k]}" for k, label in _OUTCOMES if outbox.get(k))
    else:
        outcome = "nothing to change" if not counts.get("total") else "not applied yet"
    return f"{kinds or 'no changes'}; {outcome}"


@runs.command("show", help="Everything about one run: counts, reason, rejected rows, problems.")
@click.argument("run_id", type=int)
@json_option
@user_errors
def runs_show(run_id: int, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        run = run_to_dict(get_run(session, run_id))
    if as_json:
        click.echo(json.dumps(run, indent=2))
        return
    click.echo(f"Run {run['id']}: {run['kind']} of {run['source']} ({run['mode']}), {run['status']}")
    click.echo(f"  started {run['started_at']}, finished {run['finished_at'] or '-'}")
    if run["approved_by"]:
        click.echo(f"  approved by {run['approved_by']} at {run['approved_at']}")
    if run["reason"]:
        click.echo(f"  reason: {run['reason']}")
    details = run["details"]
    click.echo(f"  from: {details.get('origin', '-')}")
    click.echo("  counts: " + ", ".join(f"{k} {v}" for k, v in run["counts"].items()))
    unit = details.get("unit", "line")
    for reject in details.get("rejects", []):
        click.echo(f"  rejected {unit} {reject.get(unit)}: {reject['reason']}")
    if details.get("rejects_file"):
        click.echo(f"  all rejected rows: {details['rejects_file']}")
    for problem in details.get("problems", []):
        click.echo(f"  problem: {problem}")


@runs.command("approve", help="Apply a held run as it was held, recording who approved it.")
@click.argument("run_id", type=int)
@click.option("--by", "approver", required=True, help="Who approves (recorded on the run).")
@json_option
@user_errors
def runs_approve(run_id: int, approver: str, as_json: bool) -> None:
    settings, engine = store()
    with session_scope(engine) as session:
        run = get_run(session, run_id)
        kind, source = run.kind, run.source
    if kind == "plan":  # a plan the BI writer's safety guard held (sync/pipeline.py)
        from sync.plan.cli import approve_plan_command
        approve_plan_command(settings, engine, run_id, approver, as_json)
        return
    if kind != IMPORT:
        raise click.ClickException(f"run {run_id} is a {kind} run: only import and plan runs can be approved")
    defaults, sources = load_sources()
    options = sources[source].options if source in sources else defaults
    run = approve_import(engine, run_id, approver, attribute_map(settings), options)
    report_run(run, as_json)
