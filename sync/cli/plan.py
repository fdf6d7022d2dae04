"""``hr2bi plan | apply | reconcile | provision``: the BI writer's commands. Thin: parse, call
:mod:`sync.plan.service`, :mod:`sync.apply.service` or :mod:`sync.jobs`, print. Exit codes: 0 done, 1 error or changes left failing, 2 held (``plan --detailed-exitcode``:
2 for any changes)."""

from __future__ import annotations

import sys
from typing import Any

import click

from sync.apply.service import ApplyResult, apply
from sync.cli.output import json_option, print_json
from sync.cli.store import store
from sync.db import session_scope
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.render import plan_lines
from sync.plan.review import review_lines
from sync.plan.service import EMPTY, PlanResult, plan
from sync.plan.store import plan_rows, row_dict
from sync.statuses import RunStatus


@click.command("plan", help="Plan what apply would change in the BI platform (nothing is sent "
                            "to it) and save the plan as a run for `hr2bi apply --run ID`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there is nothing to change, 2 when there are changes (held or "
                   "not), 1 on an error, as `terraform plan -detailed-exitcode` does.")
@json_option
def plan_command(detailed_exitcode: bool, as_json: bool) -> None:
    settings, engine = store()
    result = plan(engine, settings)
    _report_plan(engine, result, as_json)
    if detailed_exitcode and result.status != EMPTY:
        sys.exit(2)


@click.command("reconcile", help="Read the BI platform's actual users, groups and roles (paged) "
                                 "and plan away any drift, such as a user added by hand.")
@click.option("--apply", "apply_now", is_flag=True, help="Apply the plan at once (unless held).")
@json_option
def reconcile_command(apply_now: bool, as_json: bool) -> None:
    settings, engine = store()
    result = plan(engine, settings, reconcile=True)
    if apply_now and result.status == RunStatus.PLANNED:
        _report_apply(apply(engine, settings, result.run_id, progress=not as_json), as_json)
        return
    _report_plan(engine, result, as_json)


@click.command("apply", help="Apply a saved plan (--run ID), or plan and apply now.")
@click.option("--run", "run_id", type=int, default=None, help="The plan run to apply.")
@click.option("--yes", is_flag=True, help="Do not ask before applying a new plan.")
@json_option
def apply_command(run_id: int | None, yes: bool, as_json: bool) -> None:
    settings, engine = store()
    if run_id is not None:
        _report_apply(apply(engine, settings, run_id, progress=not as_json), as_json)
        return
    if yes or as_json or not sys.stdin.isatty():
        result = plan_and_apply(engine, settings, progress=not as_json).last
    else:
        planned = plan(engine, settings)
        if planned.status != RunStatus.PLANNED:
            result = planned
        else:
            _report_plan(engine, planned, False, exit_on_hold=False)
            click.confirm("Apply these changes?", abort=True)
            result = apply(engine, settings, planned.run_id, progress=True)
    if isinstance(result, PlanResult):
        _report_plan(engine, result, as_json)
    else:
        _report_apply(result, as_json)


def _report_plan(engine: Any, result: PlanResult, as_json: bool, exit_on_hold: bool = True) -> None:
    with session_scope(engine) as session:
        changes = [row_dict(r) for r in plan_rows(session, result.run_id)]
    if as_json:
        print_json({"run": result.run_id, "status": result.status, "counts": dict(result.counts),
                    "reason": result.reason, "problems": list(result.problems), "changes": changes})
    else:
        for line in plan_lines(result.run_id, result.status, result.counts, changes, result.reason):
            click.echo(line)
        for problem in result.problems[:20]:
            click.echo(f"  problem: {problem}", err=True)
        if result.status == RunStatus.PLANNED:
            click.echo(f"Apply it with: hr2bi apply --run {result.run_id}")
    if result.status == RunStatus.HELD and exit_on_hold:
        sys.exit(2)


def _report_apply(result: ApplyResult, as_json: bool) -> None:
    if as_json:
        print_json(result.__dict__)
    elif result.superseded or result.rejected:
        click.echo(f"Run {result.run_id}: nothing applied, {result.superseded or result.rejected}")
    elif result.held:
        click.echo(f"Run {result.run_id} is held by the safety guard: nothing applied. "
                   f"`hr2bi runs show {result.run_id}` lists its changes; "
                   f"`hr2bi runs approve {result.run_id} --by NAME` applies them, "
                   f"`hr2bi runs reject {result.run_id} --by NAME --reason TEXT` discards them.")
    else:
        click.echo(f"Run {result.run_id}: {result.applied} applied, {result.failed} failed (retried on "
                   f"the next apply), {result.quarantined} quarantined; {result.bi_calls} BI calls")
    if result.error:
        click.echo(f"Stopped: the BI platform is unreachable ({result.error}). Check "
                   "HR2BI_BI_BASE_URL (the default is the local sandbox: `hr2bi sandbox`), then "
                   f"`hr2bi apply --run {result.run_id}` again.", err=True)
    if result.held:
        sys.exit(2)
    if result.failed or result.quarantined or result.superseded or result.rejected:
        sys.exit(1)


def report_approved_plan(run_id: int, approver: str, result: ApplyResult, as_json: bool) -> None:
    """``hr2bi runs approve ID --by NAME`` for a held plan: what its apply did."""
    if not as_json:
        click.echo(f"Run {run_id} approved by {approver}.")
    _report_apply(result, as_json)


@click.command("provision", help="Provision one person now (employee id, email, userName or SCIM id), "
                                 "as a push would, and show each step: the sources read, the merged "
                                 "person and where each field came from, the mapping rows that fired, "
                                 "the changes, and each BI call with its result.")
@click.argument("person", metavar="PERSON")
@click.option("--dry-run", is_flag=True, help="Plan only: nothing is written or sent to the BI platform.")
@json_option
def provision_command(person: str, dry_run: bool, as_json: bool) -> None:
    # Only this command needs sync.jobs.on_demand: `hr2bi --help` does not load it.
    from sync.jobs.on_demand import provision

    settings, engine = store()
    report = provision(engine, settings, person, dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
    else:
        _render_provision(report)
    if report.outcome in ("held", "failed"):
        sys.exit(2 if report.outcome == "held" else 1)


def _render_provision(report: Any) -> None:
    click.echo(f"provisioning {report.key}" + (" (dry run: nothing is written or sent)" if report.dry_run else ""))
    click.echo("1. sources read")
    for s in report.sources:
        if s["from"] == "hr":
            link = f", linked to SCIM user {s['scim_user_id']} ({s['link']})" if s["scim_user_id"] else ", not linked"
            click.echo(f"   hr   {s['employee_id']} from {s['source'] or '-'}: {s['lifecycle']}, "
                       f"changed {(s['changed_at'] or '-')[:19]}{link}")
        else:
            click.echo(f"   idp  {s['userName']} (SCIM id {s['id']}): {'active' if s['active'] else 'inactive'}, "
                       f"employee number {s['employee_number'] or '-'}, last written by {s['written_by'] or '-'} "
                       f"at {(s['updated_at'] or '-')[:19]}")
    click.echo("2. the merged person and the mapping rows that fired")
    for text in report.explained:
        click.echo("\n".join(f"   {line}" for line in text.splitlines()))
    for problem in report.problems:
        click.echo(f"   problem: {problem}")
    click.echo(f"3. changes ({len(report.changes)})")
    for line in review_lines(report.changes, None):
        click.echo(f"  {line}")
    if not report.dry_run:
        click.echo(f"4. BI calls ({len(report.calls)})")
        for call in report.calls:
            click.echo(f"     {call['method']:<6} {call['path']}  -> {call['status']}")
    run = report.run or {}
    where = f" (run {run['id']})" if run.get("id") else ""
    click.echo(f"result: {report.outcome}{where}" + (f": {run['reason']}" if run.get("reason") else ""))
