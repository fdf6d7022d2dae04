"""``hr2bi people list [--status S] | show ID``: the identity store as hr2bi sees it."""

from __future__ import annotations

import json
from typing import Any

import click

from sync.db import session_scope
from sync.people.lifecycle import STATES
from sync.people.views import PersonNotFound, list_people, show_person
from sync.sources.cli import store, user_errors

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group(help="People in the identity store: merged from HR and identity providers.")
def people() -> None:
    pass


@people.command("list", help="People by employee id, with their lifecycle state.")
@click.option("--status", type=click.Choice(STATES), default=None, help="Only people in this state.")
@click.option("--dirty", is_flag=True, default=None, help="Only people changed since the planner last looked.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@json_option
@user_errors
def people_list(status: str | None, dirty: bool | None, limit: int, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        found = list_people(session, status, dirty, limit)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("Nobody yet: `hr2bi import csv PATH` imports an HR export.")
        return
    click.echo(f"{'EMPLOYEE ID':<14} {'STATE':<11} {'TYPE':<11} {'NAME':<28} {'EMAIL':<36} LINKED")
    for p in found:
        click.echo(f"{p['employee_id']:<14} {p['lifecycle']:<11} {p['employment_type'] or '-':<11} "
                   f"{(p['name'] or '-')[:28]:<28} {(p['email'] or '-')[:36]:<36} {'yes' if p['linked'] else 'no'}")


@people.command("show", help="One person (employee id or email): merged fields and where each came "
                             "from, lifecycle, HR record, identity-provider link, manager, history.")
@click.argument("key", metavar="ID")
@json_option
@user_errors
def people_show(key: str, as_json: bool) -> None:
    _settings, engine = store()
    with session_scope(engine) as session:
        try:
            person = show_person(session, key)
        except PersonNotFound as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(person, indent=2, default=str))
        return
    _render(person)


def _render(person: dict[str, Any]) -> None:
    click.echo(f"{person['employee_id']} {person['name'] or ''} <{person['email'] or '-'}>")
    click.echo(f"  lifecycle: {person['lifecycle']}"
               + (f" (provisioned from {person['provision_from']})" if person["lifecycle"] == "pre_hire" else "")
               + (f", missing from {person['absences']} full feed(s)" if person["absences"] else ""))
    scim = person["scim_user"]
    click.echo(f"  identity provider: {scim['userName']} ({scim['why']})" if scim else "  identity provider: not linked")
    manager = person["manager"]
    if manager["employee_id"]:
        click.echo(f"  manager: {manager['employee_id']}" + ("" if manager["resolved"] else " (nobody we know)"))
    click.echo(f"  direct reports: {person['direct_reports']}")
    click.echo("  fields:")
    for name, value in person["fields"].items():
        click.echo(f"    {name:<20} {value!s:<40} {person['field_sources'].get(name, '-')}")
    click.echo("  history:")
    for event in person["history"]:
        click.echo(f"    {event['at'][:19].replace('T', ' ')}  run {event['run'] or '-':<5} {event['event']:<10} "
                   f"{json.dumps(event['details'], default=str)}")
