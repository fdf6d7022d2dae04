"""``hr2bi runs list | show ID | approve ID --by NAME | reject ID --by NAME --reason TEXT``."""

from __future__ import annotations

import click
from sqlmodel import Session

from sync.cli.imports import report_run
from sync.cli.output import Column, json_option, print_json, print_table
from sync.cli.plan import report_approved_plan
from sync.cli.store import store
from sync.db import session_scope
from sync.jobs.approve import approve
from sync.models import Run
from sync.plan.review import UnknownKind, parse_kinds, review_lines
from sync.plan.store import plan_review, reject_plan
from sync.runs import RunError, get_run, list_runs, reject_run, run_to_dict
from sync.sources.importer import KIND as IMPORT
from sync.sources.importer import discard_held
from sync.statuses import ChangeStatus, RunStatus

COLUMNS = (Column("ID", 5, ">"), Column("KIND", 7), Column("SOURCE", 16), Column("MODE", 12), Column("STATUS", 10),
           Column("STARTED", 20), Column("SUMMARY"))


@click.group(help="Imports and plans: list them, inspect one, approve or reject a held one.")
def runs() -> None:
    pass


@runs.command("list", help="The newest runs first.")
@click.option("--status", type=click.Choice([s.value for s in RunStatus]), default=None)
@click.option("--kind", default=None, help="import or plan.")
@click.option("--source", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
def runs_list(status: str | None, kind: str | None, source: str | None, limit: int, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        found = [run_to_dict(r) for r in list_runs(session, kind, status, source, limit)]
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("No runs yet: `hr2bi import csv PATH` makes one.")
        return
    print_table(COLUMNS, ((run["id"], run["kind"], run["source"] or "-", run["mode"] or "-", run["status"],
                           run["started_at"][:19].replace("T", " "), _summary(run)) for run in found))


# A plan's changes by kind (its counts, sync/plan/values.py PlanCounts) and what became of
# them (its outbox rows by status, recorded when it is applied or superseded).
_PLAN_KINDS = (("creates", "create"), ("updates", "update"), ("reactivations", "reactivate"),
               ("deactivations", "deactivate"), ("group_creates", "group create"),
               ("membership_changes", "membership"), ("role_changes", "role"))
_OUTCOMES = ((ChangeStatus.DONE, "applied"), (ChangeStatus.FAILED, "failed"), (ChangeStatus.PENDING, "pending"),
             (ChangeStatus.QUARANTINED, "quarantined"), (ChangeStatus.SUPERSEDED, "superseded"),
             (ChangeStatus.REJECTED, "rejected"))


def _summary(run: dict) -> str:
    if run["kind"] == "plan":
        return _plan_summary(run)
    if run["status"] in (RunStatus.HELD, RunStatus.FAILED, RunStatus.REJECTED):
        return (run["reason"] or "")[:100]
    counts = run["counts"]
    return ", ".join(f"{k} {counts[k]}" for k in ("added", "changed", "rejected", "missing") if k in counts)


def _plan_summary(run: dict) -> str:
    counts = run["counts"]
    kinds = ", ".join(f"{label} {counts[k]}" for k, label in _PLAN_KINDS if counts.get(k))
    outbox = counts.get("outbox") or {}
    if run["status"] == RunStatus.HELD:
        outcome = f"{counts.get('total', 0)} held"
    elif outbox:
        outcome = ", ".join(f"{label} {outbox[k]}" for k, label in _OUTCOMES if outbox.get(k))
    else:
        outcome = "nothing to change" if not counts.get("total") else "not applied yet"
    return f"{kinds or 'no changes'}; {outcome}"


SHOWN_CHANGES = 50  # a plan's changes `runs show` lists unless told otherwise


@runs.command("show", help="Everything about one run: counts, reason, rejected rows, problems, and a "
                           "plan's changes one per line (kind, subject, what changes, the mapping rows why).")
@click.argument("run_id", type=int)
@click.option("--kind", "kinds", multiple=True, help="Only these change kinds: user.deactivate, "
              "group.members... (repeat it or separate with commas; a prefix such as user stands for all its kinds).")
@click.option("--limit", type=click.IntRange(0), default=None,
              help=f"List at most N changes (default {SHOWN_CHANGES}, with --json all; 0: all).")
@json_option
def runs_show(run_id: int, kinds: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    try:
        wanted = parse_kinds(kinds)
    except UnknownKind as exc:
        raise click.BadParameter(str(exc), param_hint="'--kind'") from exc
    _settings, engine = store()
    with session_scope(engine) as session:
        found = get_run(session, run_id)
        changes = plan_review(session, found.id, wanted) if found.kind == "plan" else None
        run = run_to_dict(found)
    limit = (None if as_json else SHOWN_CHANGES) if limit is None else limit or None
    if as_json:
        shown = {} if changes is None else {"changes": changes[1][:limit] if limit else changes[1]}
        print_json({**run, **shown})
        return
    _show_run(run)
    if changes is not None:
        _show_changes(run["counts"], *changes, wanted, limit)


def _show_run(run: dict) -> None:
    click.echo(f"Run {run['id']}: {run['kind']} of {run['source']} ({run['mode']}), {run['status']}")
    click.echo(f"  started {run['started_at']}, finished {run['finished_at'] or '-'}")
    if run["approved_by"]:
        click.echo(f"  approved by {run['approved_by']} at {run['approved_at']}")
    details = run["details"]
    rejected = details.get("rejected")
    if rejected:
        click.echo(f"  rejected by {rejected['by']} at {rejected['at']}: {rejected['reason']}")
        click.echo(f"  held because: {rejected['held_because']}")
    elif run["reason"]:
        click.echo(f"  reason: {run['reason']}")
    if details.get("origin"):
        click.echo(f"  from: {details['origin']}")
    click.echo("  counts: " + ", ".join(f"{k} {v}" for k, v in run["counts"].items()))
    unit = details.get("unit", "line")
    for reject in details.get("rejects", []):
        click.echo(f"  rejected {unit} {reject.get(unit)}: {reject['reason']}")
    if details.get("rejects_file"):
        click.echo(f"  all rejected rows: {details['rejects_file']}")
    for problem in details.get("problems", []):
        click.echo(f"  problem: {problem}")


def _show_changes(counts: dict, kinds: dict[str, int], entries: list[dict], wanted: tuple[str, ...],
                  limit: int | None) -> None:
    total = sum(kinds.values())
    if not total:
        click.echo("  changes: none")
        return
    if wanted:
        click.echo(f"  changes: {len(entries)} of {total} are {', '.join(wanted)}")
    else:
        click.echo(f"  changes: {total} (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")")
    for line in review_lines(entries, limit):
        click.echo(line)


@runs.command("approve", help="Apply a held run as it was held, recording who approved it.")
@click.argument("run_id", type=int)
@click.option("--by", "approver", required=True, help="Who approves (recorded on the run).")
@json_option
def runs_approve(run_id: int, approver: str, as_json: bool) -> None:
    settings, engine = store()
    result = approve(engine, settings, run_id, approver, progress=not as_json)
    if isinstance(result, Run):  # an import
        report_run(result, as_json)
    else:  # a plan the BI writer's safety guard held (sync/plan/guard.py)
        report_approved_plan(run_id, approver, result, as_json)


@runs.command("reject", help="End a held run without applying it: its changes (or, for an import, its "
                             "records) are discarded, and who rejected it and why is audited.")
@click.argument("run_id", type=int)
@click.option("--by", "rejecter", required=True, help="Who rejects (recorded on the run and audited).")
@click.option("--reason", required=True, help="Why (recorded on the run and audited).")
@json_option
def runs_reject(run_id: int, rejecter: str, reason: str, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        run = run_to_dict(reject_run(session, run_id, rejecter, reason, _discard))
    if as_json:
        print_json(run)
        return
    what = "changes" if run["kind"] == "plan" else "held records"
    click.echo(f"Run {run_id} rejected by {rejecter.strip()}: nothing of it will be applied "
               f"({run['details']['rejected']['discarded']} {what} discarded).")


def _discard(session: Session, run: Run) -> int:
    """What a rejection drops: a plan's queued changes, an import's held records."""
    if run.kind == "plan":
        return reject_plan(session, run)
    if run.kind == IMPORT:
        return discard_held(session, run)
    raise RunError(f"run {run.id} is a {run.kind} run: only import and plan runs can be rejected")
